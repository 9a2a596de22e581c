#!/usr/bin/env python3
"""`meshflow node --brokers` on a real Kafka broker: what lands on the topics.

- CloudEvents in both content modes start instances; what instances produce
  is in binary mode, keyed by the instance id;
- pause and resume are records of `<cluster>.commands`, keyed by the
  instance id, after its start; the instance's history entries are records
  of `<cluster>.history`;
- records that are not CloudEvents, or not commands, and events that the
  payload schema of their channel's operation refuses go to
  `<cluster>.dlq` with the reason, and the node serves on;
- so do commands that cannot be applied: for an unknown instance, a start
  of a workflow not deployed, a start whose input is over the limit;
- a node that restarts on the same cluster has the definitions deployed
  before.

Each test has a cluster name of its own, so its topics are fresh.

    tests/cli/engine_on_kafka.py --meshflow PATH [--brokers HOST:PORT] [unittest options]

Without --brokers it reads the address of the ctest fixture's broker from
$MESHFLOW_KAFKA_BOOTSTRAP_FILE. It runs under the venv of scripts/bootstrap
(confluent-kafka), re-executing itself there when started by another
interpreter.
"""
import argparse
import json
import pathlib
import subprocess
import sys
import time
import unittest
import uuid

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "support"))
from bootstrap_venv import under_venv  # noqa: E402

under_venv("engine_on_kafka", "confluent_kafka")
import confluent_kafka  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from run_support import Node, Reply, fixture_brokers, workdir, write  # noqa: E402

ARGS = None

PINGPONG = """
id: pingpong
version: '1.0'
specVersion: '0.8'
start: Wait
events:
  - name: Ping
    type: com.example.ping
    source: /tests
    kind: consumed
  - name: Pong
    type: com.example.pong
    source: /meshflow/pingpong
    kind: produced
states:
  - name: Wait
    type: event
    onEvents:
      - eventRefs: [Ping]
    end:
      produceEvents:
        - eventRef: Pong
          data: "${ {pong: .ping} }"
"""

PARKED = """
id: parked
version: '1.0'
specVersion: '0.8'
start: Wait
events:
  - name: Go
    type: com.example.go
    source: /tests
    kind: consumed
states:
  - name: Wait
    type: callback
    action:
      functionRef: noop
    eventRef: Go
    end: true
functions:
  - name: noop
    type: expression
    operation: "{}"
"""


CHECKED_API = """
asyncapi: 2.2.0
info:
  title: Checked {channel}
  version: 1.0.0
channels:
  {channel}:
    subscribe:
      operationId: orderPlaced
      message:
        payload:
          type: object
          required: [order]
          properties:
            order: {{type: integer}}
"""

CHECKED = """
id: checked
version: '1.0'
specVersion: '0.8'
start: Placed
events:
  - name: Placed
    type: asyncapi
    source: file://checked.yaml#orderPlaced
    kind: consumed
states:
  - name: Placed
    type: event
    onEvents:
      - eventRefs: [Placed]
    end: true
"""


def ping(subject, n):
    return {"specversion": "1.0", "id": str(uuid.uuid4()), "type": "com.example.ping",
            "source": "/tests", "subject": subject, "datacontenttype": "application/json",
            "data": {"ping": n}}


def binary(event):
    headers = [(f"ce_{k}", str(v).encode()) for k, v in event.items()
               if k not in ("data", "datacontenttype")]
    headers.append(("content-type", event["datacontenttype"].encode()))
    return json.dumps(event["data"]).encode(), headers


def structured(event):
    return json.dumps(event).encode(), [("content-type",
                                         b"application/cloudevents+json; charset=UTF-8")]


def start_record(instance_id, workflow, input_json):
    """A `meshflow.command.Command` holding a Start, encoded by hand
    (transport/proto/command.proto: Command.instance_id = 1, .start = 10;
    Start.workflow_id = 1, .input = 3)."""
    def varint(n):
        out = bytearray()
        while True:
            out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
            n >>= 7
            if not n:
                return bytes(out)

    def field(number, payload):
        return varint(number << 3 | 2) + varint(len(payload)) + payload

    start = field(1, workflow.encode()) + field(3, input_json.encode())
    return field(1, instance_id.encode()) + field(10, start)


def header(msg, name):
    for k, v in msg.headers() or []:
        if k == name:
            return v.decode() if v is not None else None
    return None


class Topics:
    """Reads topics of the broker from their beginning."""

    def __init__(self, *topics):
        self.consumer = confluent_kafka.Consumer({
            "bootstrap.servers": ARGS.brokers, "group.id": f"test-{uuid.uuid4()}",
            "auto.offset.reset": "earliest", "enable.auto.commit": False,
            "isolation.level": "read_committed"})
        self.consumer.subscribe(list(topics))
        self.seen = []

    def until(self, predicate, what, timeout=30):
        """The records seen once `predicate(records)` holds."""
        deadline = time.monotonic() + timeout
        while not predicate(self.seen):
            if time.monotonic() >= deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}; saw "
                                     f"{[(m.topic(), m.key(), m.headers()) for m in self.seen]}")
            for msg in self.consumer.consume(num_messages=500, timeout=0.2):
                if not msg.error():
                    self.seen.append(msg)
        return self.seen

    def close(self):
        self.consumer.close()


class EngineOnKafka(unittest.TestCase):
    def setUp(self):
        self.cluster = f"test-{uuid.uuid4().hex[:12]}"
        self.producer = confluent_kafka.Producer({"bootstrap.servers": ARGS.brokers})
        self.nodes = []

    def tearDown(self):
        for node in self.nodes:
            if node.proc.poll() is None:
                node.stop()

    def node(self, *extra):
        node = Node(ARGS.meshflow, "--brokers", ARGS.brokers, "--cluster", self.cluster,
                    "--partitions", "4", "--quiet", *extra)
        self.nodes.append(node)
        return node

    def client(self, node, *args):
        proc = subprocess.run([ARGS.meshflow, *map(str, args), "--node", node.address],
                              capture_output=True, text=True, timeout=120)
        self.assertIn(proc.returncode, (0, 1, 2), proc.stderr)
        return Reply(proc)

    def topic(self, role):
        return f"{self.cluster}.{role}"

    def publish(self, topic, value, headers=(), key=None):
        self.producer.produce(topic, value=value, headers=list(headers), key=key)
        self.assertEqual(self.producer.flush(30), 0, f"could not publish to {topic}")

    def eventually(self, node, predicate, what, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            got = self.client(node, "ls", "--workflow", "pingpong").lines
            if predicate(got):
                return got
            if time.monotonic() >= deadline:
                raise AssertionError(f"timed out waiting for {what}: {got}")
            time.sleep(0.1)

    def test_cloudevents_in_both_modes_start_instances_and_what_they_produce_is_binary(self):
        node = self.node()
        with workdir() as d:
            deployed = self.client(node, "deploy", write(d, "pingpong.sw.yaml", PINGPONG))
            self.assertEqual(deployed.code, 0, deployed)
        self.publish(self.topic("events"), *binary(ping("s1", 1)))
        self.publish(self.topic("events"), *structured(ping("s2", 2)))
        listed = self.eventually(node, lambda l: len(l) == 2 and
                                 all(i["status"] == "COMPLETED" for i in l),
                                 "two completed instances")
        ids = sorted(i["id"] for i in listed)
        topics = Topics(self.topic("events"))
        try:
            seen = topics.until(lambda s: len([m for m in s if header(m, "ce_type") ==
                                               "com.example.pong"]) == 2, "two pongs")
        finally:
            topics.close()
        pongs = [m for m in seen if header(m, "ce_type") == "com.example.pong"]
        self.assertEqual(sorted(m.key().decode() for m in pongs), ids)
        self.assertEqual(sorted(json.loads(m.value())["pong"] for m in pongs), [1, 2])
        for m in pongs:
            self.assertEqual(header(m, "ce_specversion"), "1.0")
            self.assertEqual(header(m, "ce_source"), "/meshflow/pingpong")
            self.assertEqual(header(m, "content-type"), "application/json")

    def test_pause_and_resume_are_records_on_the_commands_topic(self):
        node = self.node()
        with workdir() as d:
            self.assertEqual(self.client(node, "deploy", write(d, "parked.sw.yaml", PARKED)).code, 0)
        iid = self.client(node, "start", "parked").one
        self.assertEqual(self.client(node, "pause", iid).one["status"], "PAUSED")
        self.assertEqual(self.client(node, "resume", iid).one["status"], "RUNNING")
        topics = Topics(self.topic("commands"))
        try:
            seen = topics.until(lambda s: len([m for m in s if m.key() == iid.encode()]) >= 3,
                                "start, pause and resume of the instance")
        finally:
            topics.close()
        kinds = [header(m, "meshflow-command") for m in seen if m.key() == iid.encode()]
        self.assertEqual(kinds, ["start", "pause", "resume"])
        # All on the instance's partition, in that order.
        self.assertEqual(len({m.partition() for m in seen if m.key() == iid.encode()}), 1)
        # Its history entries are records of <cluster>.history, keyed by it.
        history = Topics(self.topic("history"))
        try:
            def statuses(records):
                return [e["detail"] for m in records if m.key() == iid.encode()
                        for e in json.loads(m.value()) if e["kind"] == "status"]
            seen = history.until(lambda s: "PAUSED" in statuses(s) and
                                 statuses(s)[-1] == "RUNNING", "PAUSED, then RUNNING")
        finally:
            history.close()
        self.assertEqual(statuses(seen)[:1], ["RUNNING"])

    def test_poison_records_go_to_the_dead_letter_topic_and_the_node_serves_on(self):
        node = self.node()
        with workdir() as d:
            self.assertEqual(self.client(node, "deploy", write(d, "pingpong.sw.yaml",
                                                               PINGPONG)).code, 0)
        self.publish(self.topic("events"), b"not a cloud event", [("content-type",
                                                                   b"application/json")])
        self.publish(self.topic("events"), b"{", [("content-type",
                                                   b"application/cloudevents+json")])
        self.publish(self.topic("commands"), b"\xff\xfe garbage", key=b"no-such-instance")
        dlq = Topics(self.topic("dlq"))
        try:
            letters = dlq.until(lambda s: len(s) >= 3, "three dead letters")
        finally:
            dlq.close()
        by_topic = sorted((header(m, "meshflow-topic"), m.value()) for m in letters)
        self.assertEqual([t for t, _ in by_topic],
                         [self.topic("commands"), self.topic("events"), self.topic("events")])
        for m in letters:
            self.assertTrue(header(m, "meshflow-reason"), m.headers())
            self.assertIsNotNone(header(m, "meshflow-offset"))
        # It serves on: a good event still starts an instance.
        self.publish(self.topic("events"), *binary(ping("after", 3)))
        self.eventually(node, lambda l: len(l) == 1 and l[0]["status"] == "COMPLETED",
                        "the instance started after the poison")

    def test_commands_that_cannot_be_applied_go_to_the_dead_letter_topic(self):
        node = self.node("--json-max-bytes", "4096")
        with workdir() as d:
            self.assertEqual(self.client(node, "deploy", write(d, "parked.sw.yaml", PARKED)).code, 0)
        # An operator's command for an instance that does not exist.
        refused = self.client(node, "pause", "no-such-instance")
        self.assertNotEqual(refused.code, 0, refused)
        self.assertIn("no instance 'no-such-instance'", refused.stderr)
        # Commands written by something else than a node: a start of a
        # workflow that is not deployed, and one whose input is over the
        # node's --json-max-bytes.
        self.publish(self.topic("commands"), start_record("x-undeployed", "nope", "{}"),
                     key=b"x-undeployed")
        big = json.dumps({"pad": "x" * 10_000})
        self.publish(self.topic("commands"), start_record("x-big", "parked", big), key=b"x-big")
        dlq = Topics(self.topic("dlq"))
        try:
            letters = dlq.until(lambda s: len(s) >= 3, "three dead commands")
        finally:
            dlq.close()
        by_key = {m.key().decode(): m for m in letters}
        self.assertEqual(sorted(by_key), ["no-such-instance", "x-big", "x-undeployed"])
        self.assertEqual(header(by_key["no-such-instance"], "meshflow-code"), "not-found")
        self.assertEqual(header(by_key["no-such-instance"], "meshflow-command"), "pause")
        self.assertEqual(header(by_key["x-undeployed"], "meshflow-code"), "not-found")
        self.assertIn("nope", header(by_key["x-undeployed"], "meshflow-reason"))
        self.assertEqual(header(by_key["x-big"], "meshflow-code"), "limit")
        self.assertIn("4096", header(by_key["x-big"], "meshflow-reason"))
        for m in letters:
            self.assertEqual(header(m, "meshflow-topic"), self.topic("commands"))
            self.assertGreaterEqual(int(header(m, "meshflow-offset")), 0)
        # Nothing of them runs, and the node serves on.
        iid = self.client(node, "start", "parked").one
        listed = self.client(node, "ls").lines
        self.assertEqual([i["id"] for i in listed], [iid])

    def test_events_a_channel_s_payload_schema_refuses_go_to_the_dead_letter_topic(self):
        node = self.node()
        channel = f"{self.cluster}.placed"
        with workdir() as d:
            write(d, "checked.yaml", CHECKED_API.format(channel=channel))
            deployed = self.client(node, "deploy", write(d, "checked.sw.yaml", CHECKED))
            self.assertEqual(deployed.code, 0, deployed)
        placed = {"specversion": "1.0", "type": "orderPlaced", "source": "/tests",
                  "datacontenttype": "application/json"}
        self.publish(channel, *binary({**placed, "id": "bad", "data": {"nope": 1}}))
        self.publish(channel, *binary({**placed, "id": "good", "data": {"order": 7}}))
        deadline = time.monotonic() + 30
        while True:
            listed = self.client(node, "ls", "--workflow", "checked").lines
            if listed and all(i["status"] == "COMPLETED" for i in listed):
                break
            self.assertLess(time.monotonic(), deadline, f"no instance completed: {listed}")
            time.sleep(0.1)
        self.assertEqual(len(listed), 1, listed)
        dlq = Topics(self.topic("dlq"))
        try:
            letters = dlq.until(lambda s: len(s) >= 1, "the refused event's dead letter")
        finally:
            dlq.close()
        self.assertEqual(len(letters), 1)
        self.assertEqual(header(letters[0], "ce_id"), "bad")
        self.assertEqual(header(letters[0], "meshflow-code"), "payload")
        self.assertIn("orderPlaced", header(letters[0], "meshflow-reason"))

    def test_a_node_that_restarts_has_the_definitions_deployed_before(self):
        node = self.node()
        with workdir() as d:
            self.assertEqual(self.client(node, "deploy", write(d, "parked.sw.yaml", PARKED)).code, 0)
        self.assertEqual(node.stop()[0], 0)
        again = self.node()
        started = self.client(again, "start", "parked")
        self.assertEqual(started.code, 0, started)
        self.assertEqual(self.client(again, "get", started.one).one["workflowId"], "parked")


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meshflow", required=True)
    parser.add_argument("--brokers")
    ARGS, rest = parser.parse_known_args()
    ARGS.brokers = fixture_brokers(ARGS.brokers, "engine_on_kafka")
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)


if __name__ == "__main__":
    main()
