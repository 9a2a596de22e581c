#!/usr/bin/env python3
"""The seed's store-order example, end to end, on a real Kafka broker.

A `meshflow node --brokers` with a cluster of its own, the four AsyncAPI
documents registered in its catalog, the workflow deployed, the three
services and the driver of examples/store-order (Python, the CloudEvents
SDK and confluent-kafka) run as `make demo` runs them. Then it reads what
landed on each business topic for this node's instances:

- the driver's summary: every order ended, shipped + denied = orders;
- every trigger the node produced (order.inbound, payment.inbound,
  shipment.inbound) is a binary-mode CloudEvent of the operation's type,
  carries `workflowinstanceid` and is keyed by it;
- one order trigger and one payment trigger per instance;
- a shipment exists exactly for each paid order (a `success` receipt on
  payment.outbound), once each; none for a denied one.

    tests/examples/store_order_flow.py --meshflow PATH [--brokers HOST:PORT] [unittest options]

Without --brokers it reads the address of the ctest fixture's broker from
$MESHFLOW_KAFKA_BOOTSTRAP_FILE. Business topics are shared by every run on
a broker (their names come from the AsyncAPI documents): records are told
apart by this node's instance ids. It runs under the venv of
scripts/bootstrap, re-executing itself there when started by another
interpreter.
"""
import argparse
import collections
import json
import os
import pathlib
import re
import subprocess
import sys
import time
import unittest
import uuid

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "store-order"
sys.path.insert(0, str(ROOT / "tests" / "support"))
from bootstrap_venv import under_venv  # noqa: E402

under_venv("store_order_flow", "confluent_kafka")
import confluent_kafka  # noqa: E402

ARGS = None
ORDERS = 40
TRIGGERS = {"order.inbound": "sendOrder", "payment.inbound": "sendPayment",
            "shipment.inbound": "sendShipment"}
DOCUMENTS = ["onlineStoreApp.yaml", "orderService.yaml", "paymentService.yaml",
             "shipmentService.yaml"]


def header(msg, name):
    for k, v in msg.headers() or []:
        if k == name:
            return v.decode() if v is not None else None
    return None


def read_all(topics, done, timeout=60):
    """Every record of `topics` from their beginning, until `done(records)`."""
    consumer = confluent_kafka.Consumer({
        "bootstrap.servers": ARGS.brokers, "group.id": f"store-order-flow-{uuid.uuid4()}",
        "auto.offset.reset": "earliest", "enable.auto.commit": False,
        "isolation.level": "read_committed"})
    consumer.subscribe(topics)
    records = []
    deadline = time.monotonic() + timeout
    try:
        while not done(records):
            if time.monotonic() >= deadline:
                raise AssertionError(f"timed out reading {topics}: {len(records)} records")
            for msg in consumer.consume(num_messages=1000, timeout=0.5):
                if not msg.error():
                    records.append(msg)
    finally:
        consumer.close()
    return records


class StoreOrderFlow(unittest.TestCase):
    def test_every_order_ends_and_a_shipment_exists_exactly_for_each_paid_order(self):
        cluster = f"store-order-{uuid.uuid4().hex[:10]}"
        node = subprocess.Popen([ARGS.meshflow, "node", "--brokers", ARGS.brokers,
                                 "--cluster", cluster, "--listen", "127.0.0.1:0", "--quiet"],
                                stderr=subprocess.PIPE, text=True)
        try:
            address = None
            for line in node.stderr:
                match = re.search(r"listening on (127\.0\.0\.1:\d+)", line)
                if match:
                    address = match.group(1)
                    break
            self.assertIsNotNone(address, "the node did not start")

            def meshflow(*args):
                r = subprocess.run([ARGS.meshflow, *args, "--node", address],
                                   capture_output=True, text=True, timeout=120)
                self.assertEqual(r.returncode, 0, r.stderr)
                return r.stdout

            meshflow("catalog", "register", *[str(EXAMPLE / d) for d in DOCUMENTS])
            meshflow("deploy", str(EXAMPLE / "storeorderworkflow.sw.yaml"))
            python = sys.executable
            run = subprocess.run(
                [python, str(EXAMPLE / "run_services.py"), "--brokers", ARGS.brokers, "--",
                 python, str(EXAMPLE / "driver.py"), "--brokers", ARGS.brokers,
                 "--orders", str(ORDERS), "--meshflow", ARGS.meshflow, "--node", address],
                capture_output=True, text=True, timeout=600)
            self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
            summary = run.stdout.strip().splitlines()[-1]
            counts = dict(re.findall(r"(\w+): (\d+)", summary))
            self.assertEqual(counts["orders"], str(ORDERS), summary)
            self.assertEqual(counts["lost"], "0", summary)
            shipped, denied = int(counts["shipped"]), int(counts["denied"])
            self.assertEqual(shipped + denied, ORDERS, summary)
            self.assertGreater(shipped, 0, summary)
            self.assertGreater(denied, 0, summary)
            instances = {json.loads(line)["id"]
                         for line in meshflow("ls", "--workflow", "storeorderworkflow").splitlines()}
            self.assertEqual(len(instances), ORDERS)
        finally:
            node.terminate()
            node.communicate(timeout=60)
        self.assertEqual(node.returncode, 0)

        def ours(records, topic):
            return [m for m in records if m.topic() == topic and
                    header(m, "ce_workflowinstanceid") in instances]

        topics = [*TRIGGERS, "payment.outbound"]
        records = read_all(topics, lambda r: len(ours(r, "order.inbound")) >= ORDERS and
                           len(ours(r, "payment.inbound")) >= ORDERS and
                           len(ours(r, "payment.outbound")) >= ORDERS and
                           len(ours(r, "shipment.inbound")) >= shipped)
        for topic, operation in TRIGGERS.items():
            triggers = ours(records, topic)
            for m in triggers:
                iid = header(m, "ce_workflowinstanceid")
                self.assertEqual(m.key().decode(), iid, f"{topic}: keyed by its instance")
                self.assertEqual(header(m, "ce_type"), operation, topic)
                self.assertEqual(header(m, "ce_source"), "/meshflow/storeorderworkflow", topic)
                self.assertEqual(header(m, "content-type"), "application/json", topic)
            per_instance = collections.Counter(header(m, "ce_workflowinstanceid")
                                               for m in triggers)
            if topic != "shipment.inbound":
                self.assertEqual(set(per_instance), instances, topic)
            self.assertEqual(set(per_instance.values()), {1}, f"{topic}: one per instance")
        paid = {header(m, "ce_workflowinstanceid") for m in ours(records, "payment.outbound")
                if json.loads(m.value())["payment"]["status"] == "success"}
        shipments = {header(m, "ce_workflowinstanceid") for m in ours(records, "shipment.inbound")}
        self.assertEqual(len(paid), shipped)
        self.assertEqual(shipments, paid)


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meshflow", required=True)
    parser.add_argument("--brokers")
    ARGS, rest = parser.parse_known_args()
    if not ARGS.brokers:
        path = os.environ.get("MESHFLOW_KAFKA_BOOTSTRAP_FILE")
        if not path or not pathlib.Path(path).exists():
            sys.exit("store_order_flow: no --brokers and no $MESHFLOW_KAFKA_BOOTSTRAP_FILE")
        ARGS.brokers = pathlib.Path(path).read_text().strip()
    unittest.main(argv=[sys.argv[0], *rest])


if __name__ == "__main__":
    main()
