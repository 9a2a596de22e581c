#!/usr/bin/env python3
"""The store-order example's services and driver, on a real Kafka broker.

The test plays the workflow's part, since the services must work with any
engine that keeps the contract: it sends triggers in binary mode with a
`workflowinstanceid` and checks each reply (attribute copied, record keyed
by it, binary mode, the data the workflow merges); then it runs the driver
against a stand-in engine (a thread that drives each new order through the
three steps as storeorderworkflow does, producing in transactions) and a
stand-in `meshflow ls`, and checks the summary line.

    python3 tests/examples/store_order_services.py [--brokers HOST:PORT] [unittest options]

Without --brokers it uses the ctest fixture's broker
($MESHFLOW_KAFKA_BOOTSTRAP_FILE), else starts a broker of its own with
scripts/kafka-local (and stops it). It runs under the venv of scripts/bootstrap, re-executing
itself there when started by another interpreter.
"""
import argparse
import json
import os
import pathlib
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "store-order"
sys.path.insert(0, str(ROOT / "tests" / "support"))
from bootstrap_venv import under_venv  # noqa: E402

under_venv("store_order_services", "cloudevents", "confluent_kafka")
import cloudevents  # noqa: E402, F401
import confluent_kafka  # noqa: E402, F401

sys.path.insert(0, str(EXAMPLE))
import store_events as se  # noqa: E402
from cloudevents.core.bindings import kafka as ce_kafka  # noqa: E402
from cloudevents.core.formats.json import JSONFormat  # noqa: E402

BROKERS = None
TRIGGER_SOURCE = "/meshflow/storeorderworkflow"


def trigger(event_name, data, instance, subject=None):
    """A trigger as meshflow sends it: binary mode, `workflowinstanceid`."""
    extra = {"subject": subject} if subject else {}
    return se.new_event((f"storeorderworkflow.{event_name}", TRIGGER_SOURCE), data,
                        **{se.INSTANCE: instance}, **extra)


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


class Replies:
    """Reads the given topics from their current end; finds events by instance id."""

    def __init__(self, topics):
        self.consumer = se.consumer(BROKERS, f"store-order-test-{uuid.uuid4()}")
        se.assign_at_end(self.consumer, topics)
        self.seen = []

    def find(self, topic, instance, timeout=30):
        """(record, event) of the first event on `topic` for `instance`."""
        deadline = time.monotonic() + timeout
        while True:
            for msg, event in self.seen:
                if msg.topic() == topic and event.get_extension(se.INSTANCE) == instance:
                    return msg, event
            if time.monotonic() >= deadline:
                raise AssertionError(f"no reply on {topic} for instance {instance} within {timeout}s")
            for msg in self.consumer.consume(num_messages=100, timeout=0.2):
                if not msg.error():
                    self.seen.append((msg, se.event_from(msg)))

    def close(self):
        self.consumer.close()


_writer = None


def writer():
    """One producer for the whole test: a new one costs a round of metadata."""
    global _writer
    if _writer is None:
        _writer = se.producer(BROKERS)
    return _writer


def publish(topic, event, key, structured=False):
    if structured:
        message = ce_kafka.to_structured(event, JSONFormat(), key_mapper=lambda _: key)
        writer().produce(topic, key=message.key, value=message.value,
                         headers=list(message.headers.items()))
    else:
        writer().produce(topic, **se.record(event, key))
    assert writer().flush(30) == 0, f"could not publish to {topic}"


def publish_raw(topic, value, headers=None):
    writer().produce(topic, value=value, headers=headers or [])
    assert writer().flush(30) == 0, f"could not publish to {topic}"


class StandInEngine(threading.Thread):
    """storeorderworkflow as a loop: new order -> order service -> payment
    service -> shipment if paid; a random instance id per order; state data
    merged with each reply; every step produced in a Kafka transaction.
    Writes `ls_path` in the format of `meshflow ls` (one JSON object a line).
    """

    def __init__(self, ls_path):
        super().__init__(daemon=True)
        self.ls_path = ls_path
        self.instances = {}  # id -> {"data": ..., "status": ...}
        self.problems = []
        self.stop = threading.Event()
        self.reader = se.consumer(BROKERS, f"store-order-stand-in-{uuid.uuid4()}")
        se.assign_at_end(self.reader, [se.STORE_ORDER, se.ORDER_OUTBOUND, se.PAYMENT_OUTBOUND])
        self.writer = se.producer(BROKERS, **{"transactional.id": f"stand-in-{uuid.uuid4()}"})
        self.writer.init_transactions(30)
        self.write_ls()

    def write_ls(self):
        lines = [json.dumps({"id": i, "workflowId": "storeorderworkflow", "version": "1.0",
                             "status": s["status"]}) for i, s in self.instances.items()]
        tmp = self.ls_path.with_suffix(".tmp")
        tmp.write_text("".join(line + "\n" for line in lines))
        tmp.replace(self.ls_path)

    def check_reply(self, msg, event):
        instance = event.get_extension(se.INSTANCE)
        headers = dict(msg.headers() or [])
        if msg.key() != instance.encode():
            self.problems.append(f"{se.where(msg)}: key {msg.key()!r}, instance {instance}")
        binary = headers.get("ce_specversion") == b"1.0"
        if not binary or headers.get("content-type") != b"application/json":
            self.problems.append(f"{se.where(msg)}: not binary mode with JSON data: {headers}")
        if instance not in self.instances:
            self.problems.append(f"{se.where(msg)}: a reply for unknown instance {instance}")
            return None
        return self.instances[instance]

    def step(self, msg, event):
        """The triggers to produce for one consumed event."""
        if msg.topic() == se.STORE_ORDER:
            instance = uuid.uuid4().hex
            self.instances[instance] = state = {"data": event.get_data(), "status": "RUNNING"}
            return [(se.ORDER_INBOUND, "OrderServiceSendEvent", instance, state["data"])]
        state = self.check_reply(msg, event)
        if state is None:
            return []
        instance = event.get_extension(se.INSTANCE)
        state["data"] = {**state["data"], **event.get_data()}
        if msg.topic() == se.ORDER_OUTBOUND:
            return [(se.PAYMENT_INBOUND, "PaymentServiceSendEvent", instance, state["data"])]
        state["status"] = "COMPLETED"
        if state["data"].get("payment", {}).get("status") == "success":
            return [(se.SHIPMENT_INBOUND, "ShipmentServiceSendEvent", instance, state["data"])]
        return []

    def run(self):
        while not self.stop.is_set():
            produced = []
            for msg in self.reader.consume(num_messages=500, timeout=0.2):
                if msg.error():
                    continue
                produced += self.step(msg, se.event_from(msg))
            if produced:
                self.writer.begin_transaction()
                for topic, name, instance, data in produced:
                    subject = (data.get("order") or {}).get("id")
                    self.writer.produce(topic, **se.record(trigger(name, data, instance, subject),
                                                           instance))
                self.writer.commit_transaction(30)
                self.write_ls()
        self.reader.close()
        self.writer.close()


class Services:
    """examples/store-order/run_services.py, with its services' logs in a folder."""

    def __init__(self, log_dir):
        self.log_dir = pathlib.Path(log_dir)
        self.proc = subprocess.Popen([sys.executable, str(EXAMPLE / "run_services.py"),
                                      "--brokers", BROKERS, "--log-dir", str(log_dir)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lines = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in self.proc.stdout],
                         daemon=True).start()
        try:
            first = lines.get(timeout=90)
        except queue.Empty:
            first = ""
        if first.strip() != "ready":
            self.proc.kill()
            raise AssertionError(f"run_services.py did not print ready: {first!r} "
                                 f"{self.proc.stderr.read()}")

    def log(self, name):
        return (self.log_dir / f"{name}.log").read_text()

    def wait_log(self, name, pattern, count=1, timeout=30):
        wait_until(lambda: len(re.findall(pattern, self.log(name), re.M)) >= count, timeout,
                   f"{count} x /{pattern}/ in {name}.log:\n{self.log(name)}")

    def stop(self):
        self.proc.terminate()
        stderr = self.proc.stderr.read()
        return self.proc.wait(timeout=60), stderr


class StoreOrderServices(unittest.TestCase):
    # What the tests did to the shipment service, checked when it stops.
    shipments = 0
    duplicates = 0

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="store-order-test-")
        se.ensure_topics(BROKERS, [se.STORE_ORDER, se.ORDER_INBOUND, se.ORDER_OUTBOUND,
                                   se.PAYMENT_INBOUND, se.PAYMENT_OUTBOUND, se.SHIPMENT_INBOUND])
        cls.services = Services(pathlib.Path(cls.tmp.name) / "logs")
        cls.replies = Replies([se.ORDER_OUTBOUND, se.PAYMENT_OUTBOUND])

    @classmethod
    def tearDownClass(cls):
        global _writer
        if _writer is not None:
            _writer.close()
            _writer = None
        cls.replies.close()
        code, stderr = cls.services.stop()
        cls.tmp.cleanup()
        assert code == 0, f"run_services.py exited {code}: {stderr}"
        expected = (f"shipment service: shipments: {cls.shipments} "
                    f"(duplicates ignored: {cls.duplicates})")
        assert expected in stderr.splitlines(), f"expected {expected!r} in:\n{stderr}"

    def ask(self, topic, reply_topic, name, order, structured=False):
        instance = uuid.uuid4().hex
        publish(topic, trigger(name, {"order": order}, instance, order.get("id")), instance,
                structured)
        msg, reply = self.replies.find(reply_topic, instance)
        self.assertEqual(msg.key(), instance.encode(), "the reply is keyed by the instance id")
        headers = dict(msg.headers())
        self.assertEqual(headers["ce_specversion"], b"1.0", "binary mode")
        self.assertEqual(headers["content-type"], b"application/json")
        self.assertEqual(headers["ce_workflowinstanceid"], instance.encode())
        return reply

    def test_order_service_accepts_the_order_and_copies_the_instance_id(self):
        order = {"id": "o-t1", "amount": 42.5, "items": [{"sku": "tea", "quantity": 1}]}
        reply = self.ask(se.ORDER_INBOUND, se.ORDER_OUTBOUND, "OrderServiceSendEvent", order)
        self.assertEqual(reply.get_data(), {"order": {**order, "status": "accepted"}})
        self.assertEqual((reply.get_type(), reply.get_source()), se.ORDER_PROCESSED)
        self.assertEqual(reply.get_subject(), "o-t1")

    def test_order_service_reads_structured_mode_and_answers_in_binary_mode(self):
        order = {"id": "o-t2", "amount": 10}
        reply = self.ask(se.ORDER_INBOUND, se.ORDER_OUTBOUND, "OrderServiceSendEvent", order,
                         structured=True)
        self.assertEqual(reply.get_data(), {"order": {**order, "status": "accepted"}})

    def test_order_service_skips_what_is_no_trigger_and_goes_on(self):
        publish_raw(se.ORDER_INBOUND, b"not json at all")
        publish_raw(se.ORDER_INBOUND, b"{}", [("ce_specversion", b"1.0"), ("ce_id", b"x")])
        orphan = se.new_event(("t", "/test"), {"order": {"id": "o-orphan"}})
        publish(se.ORDER_INBOUND, orphan, "no-instance")
        self.services.wait_log("order", r"skipped: not a CloudEvent", count=2)
        self.services.wait_log("order",
                               rf"skipped event {orphan.get_id()}: it has no 'workflowinstanceid'")
        reply = self.ask(se.ORDER_INBOUND, se.ORDER_OUTBOUND, "OrderServiceSendEvent", {"id": "o-t3"})
        self.assertEqual(reply.get_data()["order"]["status"], "accepted")

    def test_order_service_rejects_a_trigger_without_an_order(self):
        instance = uuid.uuid4().hex
        publish(se.ORDER_INBOUND, trigger("OrderServiceSendEvent", {"cart": []}, instance), instance)
        _, reply = self.replies.find(se.ORDER_OUTBOUND, instance)
        self.assertEqual(reply.get_data()["order"]["status"], "rejected")

    def test_payment_service_denies_an_order_over_the_limit(self):
        def pay(order_id, amount):
            order = {"id": order_id, "amount": amount}
            reply = self.ask(se.PAYMENT_INBOUND, se.PAYMENT_OUTBOUND, "PaymentServiceSendEvent",
                             order)
            self.assertEqual((reply.get_type(), reply.get_source()), se.PAYMENT_RECEIPT)
            payment = reply.get_data()["payment"]
            self.assertEqual(payment["orderId"], order_id)
            self.assertEqual(reply.get_data().keys(), {"payment"}, "the order is left to the workflow")
            return payment
        self.assertEqual(pay("o-cheap", 120.0)["status"], "success")
        self.assertEqual(pay("o-at-limit", 500)["status"], "success")
        denied = pay("o-dear", 750.0)
        self.assertEqual(denied["status"], "denied")
        self.assertIn("over the limit 500.00", denied["reason"])
        self.assertEqual(pay("o-no-amount", None)["status"], "denied")

    def test_shipment_service_ships_an_order_once(self):
        order = {"id": "o-ship-once", "amount": 10, "items": [{"sku": "mug", "quantity": 2}],
                 "status": "accepted"}
        data = {"order": order, "payment": {"status": "success"}}
        instance = uuid.uuid4().hex
        event = trigger("ShipmentServiceSendEvent", data, instance, order["id"])
        publish(se.SHIPMENT_INBOUND, event, instance)
        publish(se.SHIPMENT_INBOUND, event, instance)  # redelivered
        type(self).shipments += 1
        type(self).duplicates += 1
        self.services.wait_log("shipment", r"^shipment o-ship-once: duplicate, ignored")
        self.assertEqual(len(re.findall(r"^shipment o-ship-once: shipped, 1 items",
                                        self.services.log("shipment"), re.M)), 1)

    def test_driver_follows_each_order_through_a_stand_in_engine(self):
        ls_path = pathlib.Path(self.tmp.name) / "ls.jsonl"
        engine = StandInEngine(ls_path)
        meshflow = pathlib.Path(self.tmp.name) / "meshflow"
        meshflow.write_text(
            "#!/usr/bin/python3\nimport sys\n"
            "assert sys.argv[1:] == ['ls', '--workflow', 'storeorderworkflow', '--node', "
            "'127.0.0.1:4800'], sys.argv\n"
            f"print(open({str(ls_path)!r}).read(), end='')\n")
        meshflow.chmod(0o755)
        engine.start()
        try:
            started = time.monotonic()
            run = subprocess.run([sys.executable, str(EXAMPLE / "driver.py"), "--brokers", BROKERS,
                                  "--orders", "40", "--timeout", "60", "--meshflow", str(meshflow),
                                  "--node", "127.0.0.1:4800"],
                                 capture_output=True, text=True, timeout=180)
            took = time.monotonic() - started
        finally:
            engine.stop.set()
            engine.join(timeout=30)
        lines = run.stdout.splitlines()
        type(self).shipments += sum(line.endswith(": paid, shipped") for line in lines)
        self.assertEqual(run.returncode, 0, f"{run.stdout}\n{run.stderr}")
        self.assertEqual(lines[0], "ready")
        self.assertEqual(lines[-1], "orders: 40, shipped: 30, denied: 10, lost: 0")
        self.assertIn("meshflow: 40 instances of storeorderworkflow, all COMPLETED", lines)
        outcomes = {m.group(1): m.group(2) for m in
                    (re.fullmatch(r"order (o-\d{4}): (.*)", line) for line in lines) if m}
        self.assertEqual(len(outcomes), 40, run.stdout)
        self.assertEqual(outcomes["o-0004"], "denied", "every fourth order is over the limit")
        self.assertEqual(outcomes["o-0005"], "paid, shipped")
        self.assertEqual(engine.problems, [])
        self.services.wait_log("shipment", r"^shipment o-00\d\d: shipped", count=30)
        print(f"\n  (40 orders through the stand-in engine: {took:.1f}s)", file=sys.stderr)

    def test_driver_reports_orders_that_go_nowhere_as_lost(self):
        run = subprocess.run([sys.executable, str(EXAMPLE / "driver.py"), "--brokers", BROKERS,
                              "--orders", "3", "--timeout", "2"],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(run.returncode, 1, run.stdout + run.stderr)
        lines = run.stdout.splitlines()
        self.assertIn("order o-0002: lost (no shipment, no denial)", lines)
        self.assertEqual(lines[-1], "orders: 3, shipped: 0, denied: 0, lost: 3")


def main():
    global BROKERS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brokers", help="a running broker (default: start one with kafka-local)")
    args, rest = parser.parse_known_args()
    state = None
    fixture = os.environ.get("MESHFLOW_KAFKA_BOOTSTRAP_FILE")
    if not args.brokers and fixture and pathlib.Path(fixture).exists():
        args.brokers = pathlib.Path(fixture).read_text().strip()  # ctest's broker
    if args.brokers:
        BROKERS = args.brokers
    else:
        state = tempfile.TemporaryDirectory(prefix="store-order-kafka-")
        env = {**os.environ, "KAFKA_LOCAL_DIR": state.name}
        start = subprocess.run([str(ROOT / "scripts" / "kafka-local"), "start"], env=env,
                               capture_output=True, text=True, timeout=600)
        if start.returncode != 0:
            sys.exit(f"store_order_services: kafka-local did not start:\n{start.stderr}")
        BROKERS = start.stdout.strip().splitlines()[-1].split("=", 1)[1]
    try:
        program = unittest.main(argv=[sys.argv[0], *rest], exit=False)
        return 0 if program.result.wasSuccessful() else 1
    finally:
        if state:
            subprocess.run([str(ROOT / "scripts" / "kafka-local"), "stop"], env=env,
                           capture_output=True, timeout=120)
            state.cleanup()


if __name__ == "__main__":
    sys.exit(main())
