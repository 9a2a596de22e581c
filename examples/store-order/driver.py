#!/usr/bin/env python3
"""The online store of the store-order example (onlineStoreApp.yaml): the driver.

Publishes N new orders to `store.order` (CloudEvents of type
`com.example.store.order.new`, source `/online-store`, subject and record key
the order id, data `{"order": {"id", "customer", "items", "amount",
"currency"}}`); every fourth order costs more than `--limit`, so that the
payment service denies it. Then follows each order to its end by reading,
read_committed, from where they ended before the orders went out:

- `shipment.inbound`: a shipment event for the order (data `.order.id`)
  means "paid, shipped";
- `payment.outbound`: a receipt with status `denied` (data
  `.payment.orderId`) means "denied";
- neither within `--timeout` seconds of the last publish: "lost".

Prints `ready` once its readers are assigned, a line per order as it ends
(`order o-0042: paid, shipped`, `order o-0043: denied`, at the deadline
`order o-0044: lost (...)`), and last exactly one line
`orders: N, shipped: S, denied: D, lost: L`. With `--meshflow PATH --node
HOST:PORT` it also checks, with `meshflow ls`, that the node holds exactly N
instances of storeorderworkflow, the instances of these orders, all
COMPLETED. Exit 0 when every order ended (L = 0) and the check, if any,
held; else 1.

    python driver.py --brokers HOST:PORT [--orders 100] [--limit 500] [--timeout 60]
                     [--seed 1] [--meshflow PATH --node HOST:PORT]
"""
import argparse
import json
import random
import subprocess
import sys
import time

import store_events as se

WORKFLOW = "storeorderworkflow"
# sku -> unit price; every order buys one to three of these, one to three each
CATALOG = {"tea": 4.5, "coffee": 9.9, "mug": 12.0, "teapot": 29.0, "kettle": 39.0}
EXPENSIVE = ("espresso-machine", 649.0)


def make_order(n, rng, limit):
    """Order number `n`: every fourth one costs more than `limit`."""
    items = []
    for sku in rng.sample(sorted(CATALOG), rng.randint(1, 3)):
        items.append({"sku": sku, "quantity": rng.randint(1, 3), "price": CATALOG[sku]})
    while len(items) > 1 and total(items) > limit:  # a cheap order stays under the limit
        items.pop()
    if n % 4 == 0:
        sku, price = EXPENSIVE
        items.append({"sku": sku, "quantity": int(limit // price) + 1, "price": price})
    return {"id": f"o-{n:04d}", "customer": f"c-{rng.randint(1, 40):03d}", "items": items,
            "amount": total(items), "currency": "EUR"}


def total(items):
    return round(sum(i["quantity"] * i["price"] for i in items), 2)


class Follower:
    """What has been seen of each order, from the events on the two topics."""

    def __init__(self, order_ids):
        self.orders = set(order_ids)
        self.pending = set(self.orders)
        self.paid = set()
        self.shipped = set()
        self.denied = set()
        self.instances = {}  # order id -> set of workflowinstanceid seen for it
        self.conflicts = []

    def see(self, msg):
        """Takes one record in; returns the line to print if an order just ended."""
        try:
            event = se.event_from(msg)
        except ValueError as e:
            se.warn("driver", f"{se.where(msg)}: ignored: {e}")
            return None
        data = event.get_data() if isinstance(event.get_data(), dict) else {}
        if msg.topic() == se.SHIPMENT_INBOUND:
            order_id, outcome = se.order_of(event).get("id"), "shipped"
        else:
            payment = data.get("payment") if isinstance(data.get("payment"), dict) else {}
            order_id, outcome = payment.get("orderId"), payment.get("status")
        if order_id not in self.orders:
            return None  # another run's order, or someone else's event
        instance = event.get_extension(se.INSTANCE)
        if instance:
            self.instances.setdefault(order_id, set()).add(instance)
        if outcome == "success":
            self.paid.add(order_id)
            return None
        if outcome not in ("shipped", "denied"):
            return None
        if (outcome == "shipped" and order_id in self.denied) or \
           (outcome == "denied" and order_id in self.shipped):
            self.conflicts.append(order_id)
            return f"order {order_id}: denied and shipped (wrong: a denied order must not ship)"
        (self.shipped if outcome == "shipped" else self.denied).add(order_id)
        if order_id not in self.pending:
            return None  # seen again: Kafka delivers at least once
        self.pending.discard(order_id)
        return f"order {order_id}: " + ("paid, shipped" if outcome == "shipped" else "denied")

    def lost_line(self, order_id):
        seen = "paid, never shipped" if order_id in self.paid else "no shipment, no denial"
        return f"order {order_id}: lost ({seen})"


def meshflow_instances(meshflow, node):
    """{instance id: status} from `meshflow ls`, or the reason there is none."""
    try:
        proc = subprocess.run([meshflow, "ls", "--workflow", WORKFLOW, "--node", node],
                              capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"could not run `{meshflow} ls`: {e}"
    if proc.returncode != 0:
        return f"`meshflow ls` exited {proc.returncode}: {proc.stderr.strip()}"
    try:
        entries = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
        return {e["id"]: e.get("status") for e in entries}
    except (ValueError, KeyError, TypeError) as e:
        return f"`meshflow ls` printed what is not an instance per line ({e}): {proc.stdout[:200]}"


def meshflow_check(meshflow, node, follower, count, deadline):
    """Problems found by `meshflow ls` ([] when all is well); polls until `deadline`.

    The node must list exactly `count` instances, all COMPLETED, among them
    every instance seen on Kafka for these orders, one per order. An instance
    ends a moment after its last event goes out, so the check asks again
    until it holds or the deadline passes.
    """
    ours = set().union(*follower.instances.values()) if follower.instances else set()
    doubled = sorted(o for o, ids in follower.instances.items() if len(ids) > 1)
    while True:
        listed = meshflow_instances(meshflow, node)
        problems = []
        if isinstance(listed, str):
            problems.append(listed)
        else:
            if len(listed) != count:
                problems.append(f"the node lists {len(listed)} instances of {WORKFLOW}, "
                                f"{count} orders were placed (is the node fresh?)")
            missing = sorted(ours - listed.keys())
            if missing:
                problems.append(f"{len(missing)} instances seen on Kafka are not listed, "
                                f"e.g. {missing[0]}")
            open_ = sorted(i for i, status in listed.items() if status != "COMPLETED")
            if open_:
                problems.append(f"{len(open_)} instances are not COMPLETED, e.g. {open_[0]} "
                                f"is {listed[open_[0]]}")
        if doubled:
            problems.append(f"{len(doubled)} orders ran in more than one instance, "
                            f"e.g. {doubled[0]}")
        if not problems:
            print(f"meshflow: {len(listed)} instances of {WORKFLOW}, all COMPLETED", flush=True)
            return []
        if time.monotonic() >= deadline:
            return problems
        time.sleep(0.5)  # between two `ls`: an instance completes a moment after its last event


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brokers", required=True, help="Kafka bootstrap servers, HOST:PORT[,...]")
    parser.add_argument("--orders", type=int, default=100, help="how many orders (default 100)")
    parser.add_argument("--limit", type=float, default=500.0,
                        help="the payment service's limit: every fourth order costs more "
                        "(default 500)")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds after the last publish before an open order is lost "
                        "(default 60)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the orders' items (default 1)")
    parser.add_argument("--meshflow", help="the meshflow binary, to check the instances with `ls`")
    parser.add_argument("--node", help="HOST:PORT of the meshflow node (with --meshflow)")
    args = parser.parse_args()
    if bool(args.meshflow) != bool(args.node):
        parser.error("--meshflow and --node go together")
    if args.orders < 1:
        parser.error("--orders must be at least 1")

    stop = se.stop_on_signals()
    se.ensure_topics(args.brokers, [se.STORE_ORDER, se.PAYMENT_OUTBOUND, se.SHIPMENT_INBOUND])
    reader = se.consumer(args.brokers, "store-order-driver")
    se.assign_at_end(reader, [se.PAYMENT_OUTBOUND, se.SHIPMENT_INBOUND])
    print("ready", flush=True)

    rng = random.Random(args.seed)
    orders = [make_order(n, rng, args.limit) for n in range(1, args.orders + 1)]
    writer = se.producer(args.brokers)
    failures = []

    def delivered(err, _):
        if err is not None:
            failures.append(str(err))

    for order in orders:
        event = se.new_event(se.NEW_ORDER, {"order": order}, subject=order["id"])
        writer.produce(se.STORE_ORDER, **se.record(event, order["id"]), on_delivery=delivered)
        writer.poll(0)
    if writer.flush(30) > 0 or failures:
        reason = failures[0] if failures else "flush timed out"
        se.warn("driver", f"the orders could not be published to {se.STORE_ORDER}: {reason}; "
                f"is the broker at {args.brokers} up?")
        return 1
    deadline = time.monotonic() + args.timeout

    follower = Follower(o["id"] for o in orders)
    while follower.pending and time.monotonic() < deadline and not stop.is_set():
        for msg in reader.consume(num_messages=500, timeout=0.2):
            if msg.error():
                se.warn("driver", f"{msg.topic()}: {msg.error()}")
                continue
            line = follower.see(msg)
            if line:
                print(line, flush=True)
    reader.close()
    for order_id in sorted(follower.pending):
        print(follower.lost_line(order_id), flush=True)

    problems = []
    if args.meshflow and follower.pending:
        print(f"meshflow: not checked, {len(follower.pending)} orders are lost", flush=True)
    elif args.meshflow:
        problems = meshflow_check(args.meshflow, args.node, follower, len(orders),
                                  max(deadline, time.monotonic() + 10))
        for p in problems:
            print(f"meshflow: {p}", flush=True)
    print(f"orders: {len(orders)}, shipped: {len(follower.shipped)}, "
          f"denied: {len(follower.denied)}, lost: {len(follower.pending)}", flush=True)
    return 0 if not follower.pending and not follower.conflicts and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
