"""The store-order events on Kafka, shared by the three services and the driver.

Topics are the AsyncAPI channels of this folder with `/` replaced by `.`.
Events are CloudEvents 1.0, read and written with the official CloudEvents
SDK (its Kafka binding, `cloudevents.core.bindings.kafka`) over
confluent-kafka: written in binary mode (`ce_` headers, `content-type:
application/json`, the data as the record value), read in binary or
structured mode.

A service answers a trigger from the workflow by copying the trigger's
`workflowinstanceid` attribute into its reply and keying the reply record by
it; that is how meshflow hands the reply to the right instance.
"""
import signal
import sys
import threading
import uuid

try:
    from cloudevents.core.bindings import kafka as ce_kafka
    from cloudevents.core.formats.json import JSONFormat
    from cloudevents.core.v1.event import CloudEvent
    from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic
except ImportError as e:
    sys.exit(f"store-order: {e.name} is not installed for {sys.executable}; run scripts/bootstrap "
             "and use ${XDG_CACHE_HOME:-$HOME/.cache}/meshflow/venv/bin/python")

# The channels of onlineStoreApp.yaml, orderService.yaml, paymentService.yaml
# and shipmentService.yaml, as topics.
STORE_ORDER = "store.order"            # new orders (the driver -> the workflow)
ORDER_INBOUND = "order.inbound"        # the workflow -> the order service
ORDER_OUTBOUND = "order.outbound"      # the order service -> the workflow
PAYMENT_INBOUND = "payment.inbound"    # the workflow -> the payment service
PAYMENT_OUTBOUND = "payment.outbound"  # the payment service -> the workflow
SHIPMENT_INBOUND = "shipment.inbound"  # the workflow -> the shipment service (no reply)

# The event types and sources these programs produce. Services accept any
# type on their inbound topic: the topic says what an event is for.
NEW_ORDER = ("com.example.store.order.new", "/online-store")
ORDER_PROCESSED = ("com.example.store.order.processed", "/order-service")
PAYMENT_RECEIPT = ("com.example.store.payment.receipt", "/payment-service")

INSTANCE = "workflowinstanceid"
JSON = "application/json"


def new_event(kind, data, **attributes):
    """A CloudEvent of `kind` (a (type, source) pair) with JSON `data`."""
    type_, source = kind
    return CloudEvent({"type": type_, "source": source, "id": str(uuid.uuid4()),
                       "datacontenttype": JSON, **attributes}, data)


def reply_to(trigger, kind, data, subject=None):
    """The reply to `trigger`: its `workflowinstanceid` copied; `subject`, else
    the trigger's, as subject."""
    attributes = {INSTANCE: trigger.get_extension(INSTANCE)}
    if subject or trigger.get_subject():
        attributes["subject"] = str(subject or trigger.get_subject())
    return new_event(kind, data, **attributes)


def record(event, key):
    """`event` as keyword arguments of Producer.produce, in binary mode."""
    message = ce_kafka.to_binary(event, JSONFormat(), key_mapper=lambda _: key)
    return {"key": message.key, "value": message.value,
            "headers": list(message.headers.items())}


def event_from(msg):
    """The CloudEvent in a consumed record, binary or structured mode.

    Raises ValueError saying what is wrong with the record.
    """
    headers = {k: v for k, v in (msg.headers() or []) if v is not None}
    message = ce_kafka.KafkaMessage(headers=headers, key=msg.key(), value=msg.value() or b"")
    try:
        event = ce_kafka.from_kafka(message, JSONFormat())
    except Exception as e:  # the SDK raises several kinds; all mean "not a CloudEvent"
        raise ValueError(f"not a CloudEvent ({type(e).__name__}: {e})") from None
    return event


def where(msg):
    return f"{msg.topic()}[{msg.partition()}]@{msg.offset()}"


def order_of(event):
    """The `order` object of an event's data, or {} when there is none."""
    data = event.get_data()
    order = data.get("order") if isinstance(data, dict) else None
    return order if isinstance(order, dict) else {}


def ensure_topics(brokers, topics, timeout=30):
    """Creates those of `topics` that do not exist yet, with the broker's defaults.

    Consumers do not create topics, and a subscription to a missing topic is
    assigned nothing until the next metadata refresh (minutes): so every
    program creates the topics it reads before it subscribes. Exits the
    program with a message when the broker cannot be reached.
    """
    admin = AdminClient({"bootstrap.servers": brokers})
    try:
        existing = admin.list_topics(timeout=timeout).topics
    except KafkaException:
        raise SystemExit(f"store-order: no answer from the broker at {brokers} within "
                         f"{timeout}s; is it up (scripts/kafka-local start)?") from None
    # Only what is missing: a broker without CreateTopics (meshflow's
    # embedded mock, where the node makes its topics) is then never asked.
    missing = [t for t in topics if t not in existing]
    if not missing:
        return
    futures = admin.create_topics([NewTopic(t, num_partitions=-1, replication_factor=-1)
                                   for t in missing], request_timeout=timeout)
    for topic, future in futures.items():
        try:
            future.result(timeout)
        except KafkaException as e:
            if e.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise SystemExit(f"store-order: could not create topic {topic} on {brokers}: "
                                 f"{e.args[0].str()}") from None
        except TimeoutError:
            raise SystemExit(f"store-order: no answer from the broker at {brokers} within "
                             f"{timeout}s; is it up (scripts/kafka-local start)?") from None


def consumer(brokers, group, **settings):
    """A consumer that reads committed records only and commits by hand."""
    return Consumer({"bootstrap.servers": brokers, "group.id": group,
                     "enable.auto.commit": False, "auto.offset.reset": "earliest",
                     "isolation.level": "read_committed", **settings})


def producer(brokers, **settings):
    return Producer({"bootstrap.servers": brokers, "enable.idempotence": True,
                     "linger.ms": 5, **settings})


def assign_at_end(reader, topics, timeout=30):
    """Assigns every partition of `topics` to `reader` at its current end.

    For readers that want what is published from now on: an explicit offset,
    not OFFSET_END, which would be resolved only when fetching starts and so
    could skip a record published in between.
    """
    partitions = []
    for topic in topics:
        meta = reader.list_topics(topic, timeout=timeout).topics[topic]
        if meta.error is not None:
            raise KafkaException(meta.error)
        for p in sorted(meta.partitions):
            _, high = reader.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)
            partitions.append(TopicPartition(topic, p, high))
    reader.assign(partitions)


def stop_on_signals():
    """An Event set by SIGTERM or SIGINT, for loops that end cleanly."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def warn(program, text):
    print(f"{program}: {text}", file=sys.stderr, flush=True)


def serve(program, brokers, topic, handle, reply_topics=()):
    """Runs a service: consumes `topic` in group `store-order-<program>`.

    `handle(event)` returns the replies to produce, as (topic, event) pairs.
    A service that replies (`reply_topics`) skips, with a warning, an event
    without `workflowinstanceid`: no instance could take its reply.
    After each batch the replies are flushed, then the batch's offsets are
    committed: at-least-once, so a service that dies between the two sees
    the batch again. Prints `ready` once the group has assigned partitions,
    runs until SIGTERM or SIGINT, then leaves the group. Returns the exit code.
    """
    stop = stop_on_signals()
    ensure_topics(brokers, [topic, *reply_topics])
    reader = consumer(brokers, f"store-order-{program}")
    writer = producer(brokers)
    failures = []

    def delivered(err, msg):
        if err is not None:
            failures.append(f"{msg.topic()}: {err}")

    assigned = threading.Event()

    def on_assign(_, partitions):
        if not assigned.is_set():
            assigned.set()
            print("ready", flush=True)

    reader.subscribe([topic], on_assign=on_assign)
    code = 0
    try:
        while not stop.is_set():
            batch = reader.consume(num_messages=500, timeout=0.2)
            if not batch:
                continue
            for msg in batch:
                if msg.error():
                    if msg.error().fatal():
                        raise KafkaException(msg.error())
                    warn(program, f"{topic}: {msg.error()}")
                    continue
                try:
                    event = event_from(msg)
                except ValueError as e:
                    warn(program, f"{where(msg)}: skipped: {e}")
                    continue
                if reply_topics and event.get_extension(INSTANCE) is None:
                    warn(program, f"{where(msg)}: skipped event {event.get_id()}: it has no "
                         f"'{INSTANCE}' attribute, so no workflow instance waits for a reply")
                    continue
                for reply_topic, reply in handle(event):
                    writer.produce(reply_topic, **record(reply, reply.get_extension(INSTANCE)),
                                   on_delivery=delivered)
            if writer.flush(30) > 0 or failures:
                reason = "; ".join(failures) or "flush timed out"
                warn(program, f"replies not delivered ({reason}); stopping without committing, "
                     "so that the batch is consumed again")
                code = 1
                break
            try:
                reader.commit(asynchronous=False)
            except KafkaException as e:
                if e.args[0].code() != KafkaError._NO_OFFSET:
                    # A rebalance took the partitions: their new owner redoes the batch.
                    warn(program, f"commit failed ({e.args[0]}); the batch will be redelivered")
    finally:
        reader.close()
        writer.flush(10)
    return code

