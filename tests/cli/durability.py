#!/usr/bin/env python3
"""Durability of `meshflow node --brokers` on a real Kafka broker: what a node
that dies, or loses its broker, leaves behind.

- kill -9 mid-run: 1,000 instances sleep (PT10S) then publish `{"n": .n}`
  through an `asyncapi` function; the node is killed with SIGKILL 3 s after
  the bulk start and started again with the same --name and --cluster: all
  1,000 instances complete, and the output topic, read `read_committed` to
  its end, holds exactly one event per instance (grouped by the
  `ce_workflowinstanceid` header) whose `n` values cover 0..999 once each;
- pause, cancel and a waiting instance survive a kill -9: after the restart
  `get` shows PAUSED, TERMINATED and RUNNING; the paused one, whose sleep
  ends meanwhile (a pause holds actions, not timers), stays PAUSED in the
  next state with its action held, `history` shows the pause, and resumed
  it completes;
- a broker outage (on a broker of its own, which it stops for 20 s and
  starts again on the same data and port): the node never exits, says it is
  unhealthy (`meshflow status` exits 1, and a line on stderr) and healthy
  again after, its 200 instances all complete, one event each;
- a kill at every step boundary: tour.sw.yaml (inject, operation, sleep,
  switch, foreach, parallel, event and callback states, then an asyncapi
  function) runs on a node armed with `crash-after-commit=K`, which dies as
  soon as the Kth transaction holding a batch's outputs has committed, and
  is started again; for every K up to the workflow's last step (trials side
  by side, a cluster each) the instance ends with the same data as a run
  without a fault, and the output topic holds exactly one event of each;
- scheduled starts: ticker.sw.yaml (R3/PT2S) starts once, the node is
  killed and kept down 5 s: after the restart the start that came due is
  made at once and the schedule goes on from where it stood, three starts
  in all (a node that forgot would make three more);
- a long history: loop.sw.yaml makes some 200 history entries, more than
  an instance keeps in its snapshot (a tail of 64): `history` shows them
  all, in order, from `<cluster>.history`, also after a kill -9 and a
  restart;
- a crash between produce and commit (`MESHFLOW_TEST_FAULTS=
  crash-before-commit`: the node dies once the records of a transaction
  holding a business event are on the broker, before it commits): the node
  restarted without the fault completes the 20 instances, exactly one
  committed event each, and the topic read `read_uncommitted` holds more
  records than `read_committed`: the aborted duplicates are there.

Each test has a cluster name and an output topic of its own (uuids); its node
logs to a file of the test's work dir, whose tail the failures print.

    tests/cli/durability.py --meshflow PATH [--brokers HOST:PORT] [unittest options]

Without --brokers it reads the address of the ctest fixture's broker from
$MESHFLOW_KAFKA_BOOTSTRAP_FILE. It runs under the venv of scripts/bootstrap
(confluent-kafka), re-executing itself there when started by another
interpreter.
"""
import argparse
import collections
import concurrent.futures
import json
import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = pathlib.Path(__file__).resolve().parent / "durability"
sys.path.insert(0, str(ROOT / "tests" / "support"))
from bootstrap_venv import under_venv  # noqa: E402

under_venv("durability", "confluent_kafka")
import confluent_kafka  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from run_support import Reply, fixture_brokers  # noqa: E402

ARGS = None
POLL = 0.2  # seconds between two looks at the node or a topic


def tail(path, lines=40):
    try:
        text = pathlib.Path(path).read_text(errors="replace")
    except OSError as e:
        return f"({path}: {e})"
    return "\n".join(text.splitlines()[-lines:])


class NodeProcess:
    """`meshflow node --brokers B --cluster C --name N --listen 127.0.0.1:0`,
    logging (stdout and stderr) to `log`, a file nobody has to drain."""

    def __init__(self, brokers, cluster, name, log, env=None):
        self.log = pathlib.Path(log)
        args = [ARGS.meshflow, "node", "--brokers", brokers, "--cluster", cluster,
                "--name", name, "--listen", "127.0.0.1:0", "--partitions", "4", "--quiet"]
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT,
                                         env={**os.environ, **(env or {})})
        self.pid = self.proc.pid
        deadline = time.monotonic() + 120  # a node on a broker just started is slow
        while True:
            match = re.search(r"listening on 127\.0\.0\.1:(\d+)",
                              self.log.read_text(errors="replace"))
            if match:
                self.address = f"127.0.0.1:{match.group(1)}"
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"the node exited with {self.proc.returncode} before it "
                                     f"listened:\n{tail(self.log)}")
            if time.monotonic() >= deadline:
                self.kill()
                raise AssertionError(f"the node did not listen within 120 s:\n{tail(self.log)}")
            time.sleep(POLL)

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        """SIGTERM: the node leaves its group as it stops; the exit status."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)

    def kill(self):
        """SIGKILL, as a crash would; the exit status."""
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
        return self.proc.wait(timeout=30)


class Topic:
    """Reads every partition of a topic from its beginning to its end."""

    def __init__(self, brokers, topic, isolation="read_committed"):
        self.brokers = brokers
        self.topic = topic
        self.isolation = isolation

    def read(self, done=lambda records: True, timeout=60):
        """The records once the reader has reached the end of each partition
        (its high watermark, asked again each time the reader gets there)
        and `done(records)` holds; or, after `timeout`, what it read then."""
        reader = confluent_kafka.Consumer({
            "bootstrap.servers": self.brokers, "group.id": f"test-{uuid.uuid4()}",
            "enable.auto.commit": False, "enable.partition.eof": True,
            "auto.offset.reset": "earliest", "fetch.wait.max.ms": 100,
            "isolation.level": self.isolation})
        # The true high watermarks (past the transaction markers), which a
        # read_committed reader reaches once nothing before is still open.
        marks = confluent_kafka.Consumer({
            "bootstrap.servers": self.brokers, "group.id": f"test-{uuid.uuid4()}",
            "isolation.level": "read_uncommitted"})
        try:
            deadline = time.monotonic() + timeout
            while True:
                meta = reader.list_topics(self.topic, timeout=30).topics[self.topic]
                if meta.error is None and meta.partitions:
                    break
                if time.monotonic() >= deadline:
                    raise AssertionError(f"no topic {self.topic}: {meta.error}")
                time.sleep(POLL)
            partitions = sorted(meta.partitions)
            reader.assign([confluent_kafka.TopicPartition(self.topic, p,
                                                          confluent_kafka.OFFSET_BEGINNING)
                           for p in partitions])
            position = {p: 0 for p in partitions}
            records, errors = [], []

            def targets():
                return {p: marks.get_watermark_offsets(
                    confluent_kafka.TopicPartition(self.topic, p), timeout=30,
                    cached=False)[1] for p in partitions}

            target = targets()
            while True:
                if all(position[p] >= target[p] for p in partitions):
                    # The reader may have read past the end it was given:
                    # it is at the end if it is at the end as it is now.
                    now = targets()
                    if all(position[p] >= now[p] for p in partitions):
                        if done(records) or time.monotonic() >= deadline:
                            self.position, self.target = position, now
                            return records
                        time.sleep(POLL)
                    target = now
                    continue
                if time.monotonic() >= deadline:
                    raise AssertionError(
                        f"{self.topic} ({self.isolation}) not read to its end within "
                        f"{timeout} s: at {position}, the end is {target}, {len(records)} "
                        f"records read (a transaction still open holds read_committed "
                        f"readers back); errors: {errors[-3:]}")
                for msg in reader.consume(num_messages=500, timeout=POLL):
                    err = msg.error()
                    if err is None:
                        records.append(msg)
                        position[msg.partition()] = msg.offset() + 1
                    elif err.code() == confluent_kafka.KafkaError._PARTITION_EOF:
                        position[msg.partition()] = max(position[msg.partition()],
                                                        msg.offset())
                    else:
                        errors.append(str(err))
        finally:
            reader.close()
            marks.close()


def header(msg, name):
    for k, v in msg.headers() or []:
        if k == name:
            return v.decode() if v is not None else None
    return None


def sample(items, n=10):
    items = sorted(items)
    return f"{items[:n]}{' ...' if len(items) > n else ''}"


class Durability(unittest.TestCase):
    def setUp(self):
        self.cluster = f"test-{uuid.uuid4().hex[:12]}"
        self.topic = f"durability-{uuid.uuid4().hex[:12]}.announced"
        self.dir = tempfile.TemporaryDirectory(prefix="meshflow-durability-")
        self.work = pathlib.Path(self.dir.name)
        self.nodes = []
        self.brokers = ARGS.brokers

    def tearDown(self):
        for node in self.nodes:
            node.kill()
        self.dir.cleanup()

    # -- the node and the client ---------------------------------------------

    def node(self, env=None):
        """A node of this test's cluster, always named n1."""
        node = NodeProcess(self.brokers, self.cluster, "n1",
                           self.work / f"node-{len(self.nodes) + 1}.log", env=env)
        self.nodes.append(node)
        return node

    def logs(self):
        """The tail of each node's log, for failure messages."""
        return "".join(f"\n--- node {i + 1} (pid {n.pid}, "
                       f"{'running' if n.alive() else f'exit {n.proc.returncode}'}), "
                       f"{n.log.name}:\n{tail(n.log)}" for i, n in enumerate(self.nodes))

    def client(self, node, *args, timeout=120):
        proc = subprocess.run([ARGS.meshflow, *map(str, args), "--node", node.address],
                              capture_output=True, text=True, timeout=timeout)
        self.assertIn(proc.returncode, (0, 1, 2),
                      f"meshflow {args[0]}: signal: {proc.stderr}{self.logs()}")
        return Reply(proc)

    def ok(self, node, *args, timeout=120):
        reply = self.client(node, *args, timeout=timeout)
        self.assertEqual(reply.code, 0, f"meshflow {' '.join(map(str, args))}: {reply}"
                                        f"{self.logs()}")
        return reply

    def deploy(self, node, fixture, sleep=None):
        """Deploys the fixture from the work dir, with the asyncapi document
        beside it bound to this test's topic."""
        api = (FIXTURES / "announcer.yaml").read_text().replace("@TOPIC@", self.topic)
        (self.work / "announcer.yaml").write_text(api)
        text = (FIXTURES / fixture).read_text()
        if sleep:
            text = text.replace("@SLEEP@", sleep)
        path = self.work / fixture
        path.write_text(text)
        return self.ok(node, "deploy", path).one

    def start(self, node, workflow, inputs):
        """One bulk start of `inputs` (JSON Lines); the new instance ids."""
        path = self.work / f"{workflow}-inputs.jsonl"
        path.write_text("".join(json.dumps(i) + "\n" for i in inputs))
        ids = self.ok(node, "start", workflow, "--input", f"@{path}", timeout=600).lines
        self.assertEqual(len(ids), len(inputs), f"start printed {len(ids)} ids for "
                                                f"{len(inputs)} inputs")
        self.assertEqual(len(set(ids)), len(ids), "start printed an id twice")
        return ids

    def all_completed(self, node, workflow, ids, timeout):
        """Polls `ls --workflow` until every instance of `ids` is COMPLETED."""
        ids = set(ids)
        deadline = time.monotonic() + timeout
        statuses = {}
        while True:
            self.assertTrue(node.alive(), f"the node exited while {len(ids)} instances ran:"
                                          f"{self.logs()}")
            listed = self.client(node, "ls", "--workflow", workflow)
            if listed.code == 0:
                statuses = {i["id"]: i["status"] for i in listed.lines
                            if isinstance(i, dict) and i.get("id") in ids}
                if len(statuses) == len(ids) and \
                        all(s == "COMPLETED" for s in statuses.values()):
                    return
            if time.monotonic() >= deadline:
                counts = collections.Counter(statuses.values())
                missing = ids - statuses.keys()
                raise AssertionError(
                    f"after {timeout} s, of {len(ids)} instances: {dict(counts)}, "
                    f"{len(missing)} not listed {sample(missing)}; last ls: exit {listed.code} "
                    f"{listed.stderr.strip()}{self.logs()}")
            time.sleep(POLL)

    def got(self, node, iid, timeout=120):
        """`get IID` once the node answers it (a restarted node may not know
        its instances at once)."""
        deadline = time.monotonic() + timeout
        while True:
            reply = self.client(node, "get", iid)
            if reply.code == 0:
                return reply.one
            self.assertLess(time.monotonic(), deadline,
                            f"get {iid} after {timeout} s: {reply}{self.logs()}")
            time.sleep(POLL)

    def until_status(self, node, iid, status, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            got = self.got(node, iid)
            if got["status"] == status:
                return got
            self.assertLess(time.monotonic(), deadline,
                            f"instance {iid} is {got['status']}, not {status}, after "
                            f"{timeout} s: {got}{self.logs()}")
            time.sleep(POLL)

    # -- what the topic holds ----------------------------------------------

    def assert_one_event_each(self, records, ids, ns=None, what=""):
        """Exactly one event per instance of `ids` among `records`, and with
        `ns` their `n` values are `ns`, once each."""
        by_instance = collections.Counter(header(m, "ce_workflowinstanceid") for m in records)
        missing = set(ids) - by_instance.keys()
        duplicated = {i: c for i, c in by_instance.items() if c > 1}
        strangers = by_instance.keys() - set(ids)
        types = collections.Counter(header(m, "ce_type") for m in records)
        if missing or duplicated or strangers:
            self.fail(f"{what}{len(records)} events on {self.topic} for {len(ids)} instances: "
                      f"{len(missing)} instances without an event {sample(missing)}, "
                      f"{len(duplicated)} with more than one {sample(duplicated.items())}, "
                      f"{len(strangers)} ids that were not started "
                      f"{sample(map(str, strangers))}{self.logs()}")
        self.assertEqual(dict(types), {"announce": len(ids)}, "the events' ce_type")
        if ns is not None:
            got = collections.Counter(json.loads(m.value())["n"] for m in records)
            lacking = set(ns) - got.keys()
            twice = {n: c for n, c in got.items() if c > 1}
            if lacking or twice or got.keys() - set(ns):
                self.fail(f"{what}the events' n: {len(lacking)} missing {sample(lacking)}, "
                          f"{len(twice)} more than once {sample(twice.items())}, others "
                          f"{sample(got.keys() - set(ns))}")

    def committed(self, ids, timeout=60):
        """The topic read read_committed to its end, once every instance has
        an event there (or after `timeout`)."""
        ids = set(ids)
        return Topic(self.brokers, self.topic).read(
            lambda records: ids <= {header(m, "ce_workflowinstanceid") for m in records},
            timeout=timeout)

    # -- the tests ------------------------------------------------------------

    def test_kill_9_mid_run(self):
        node = self.node()
        self.deploy(node, "announce.sw.yaml", sleep="PT10S")
        n = 1000
        ids = self.start(node, "announce", [{"n": i} for i in range(n)])
        started = time.monotonic()
        time.sleep(3)  # the instances sleep for 10 s from their start
        self.assertTrue(node.alive(), f"the node died by itself:{self.logs()}")
        self.assertEqual(node.kill(), -signal.SIGKILL)
        killed_after = time.monotonic() - started
        again = self.node()
        self.all_completed(again, "announce", ids, timeout=300)
        records = self.committed(ids)
        self.assert_one_event_each(records, ids, ns=range(n),
                                   what=f"killed {killed_after:.1f} s after the bulk start: ")

    def test_pause_resume_cancel_survive_restart(self):
        node = self.node()
        self.deploy(node, "hold.sw.yaml")
        # The one to pause first, alone, so that it is paused in its 5 s sleep.
        [paused] = self.start(node, "hold", [{"hold": False}])
        self.assertEqual(self.ok(node, "pause", paused).one["status"], "PAUSED")
        # The other two wait for good; a bulk start prints the ids as the node
        # answers, not in input order, and both inputs are the same.
        cancelled, waiting = self.start(node, "hold", [{"hold": True}, {"hold": True}])
        self.assertEqual(self.ok(node, "cancel", cancelled).one["status"], "TERMINATED")
        self.assertEqual(self.ok(node, "get", waiting).one["status"], "RUNNING")
        self.assertEqual(node.kill(), -signal.SIGKILL)

        again = self.node()
        for iid, status in ((paused, "PAUSED"), (cancelled, "TERMINATED"),
                            (waiting, "RUNNING")):
            got = self.got(again, iid)
            self.assertEqual(got["status"], status,
                             f"instance {iid} after the restart: {got}{self.logs()}")
        # Its sleep ends while it is paused (a pause holds actions, not
        # timers): it goes on to Work and holds the action there, PAUSED.
        deadline = time.monotonic() + 60
        while (got := self.got(again, paused))["states"] != ["Work"]:
            self.assertEqual(got["status"], "PAUSED",
                             f"the paused instance, waiting for its timer: {got}{self.logs()}")
            self.assertLess(time.monotonic(), deadline,
                            f"the paused instance's 5 s sleep did not end within 60 s of the "
                            f"restart: {got}{self.logs()}")
            time.sleep(POLL)
        self.assertEqual(got["status"], "PAUSED", f"{got}{self.logs()}")
        history = self.ok(again, "history", paused).lines
        self.assertIn(("status", "PAUSED"),
                      [(h.get("kind"), h.get("detail")) for h in history],
                      f"the history of {paused}: {history}")
        self.ok(again, "resume", paused)
        self.until_status(again, paused, "COMPLETED", timeout=60)
        self.assertEqual(self.got(again, cancelled)["status"], "TERMINATED")
        self.assertEqual(self.got(again, waiting)["status"], "RUNNING")
        self.assertTrue(again.alive(), self.logs())

    def test_broker_outage(self):
        # Not in the work dir, which tearDown deletes before the cleanups run.
        state = tempfile.TemporaryDirectory(prefix="meshflow-durability-kafka-")
        self.addCleanup(state.cleanup)
        broker = OwnBroker(state.name)
        self.addCleanup(broker.stop)  # before state.cleanup: cleanups run last first
        self.brokers = broker.start()  # for the node and the topic's reader
        node = self.node()
        self.deploy(node, "announce.sw.yaml", sleep="PT5S")
        n = 200
        ids = self.start(node, "announce", [{"n": i} for i in range(n)])
        self.assertTrue(self.ok(node, "status").one["healthy"])
        broker.kill_softly()  # while the instances sleep
        deadline = time.monotonic() + 20
        said = []  # what `status` said during the outage
        while time.monotonic() < deadline:  # the outage
            self.assertTrue(node.alive(), f"the node exited without its broker:{self.logs()}")
            status = self.client(node, "status", timeout=30)
            said.append((status.code, status.one["healthy"]))
            time.sleep(POLL)
        # Its timers fired while the broker was away: their transaction
        # could not commit, and the node said so (exit 1).
        self.assertIn((1, False), said, f"status during the outage: {said}{self.logs()}")
        self.assertIn("unhealthy, waiting for the brokers", node.log.read_text(errors="replace"))
        broker.restart()
        self.all_completed(node, "announce", ids, timeout=120)
        status = self.ok(node, "status").one
        self.assertTrue(status["healthy"], status)
        self.assertEqual(status["partitions"], [0, 1, 2, 3], status)
        records = self.committed(ids)
        self.assert_one_event_each(records, ids, ns=range(n), what="after a 20 s outage: ")
        self.assertEqual(len(self.nodes), 1)
        self.assertTrue(node.alive(), f"the node exited:{self.logs()}")

    def test_a_kill_at_every_step_boundary_changes_nothing(self):
        api = (FIXTURES / "announcer.yaml").read_text().replace("@TOPIC@", self.topic)
        (self.work / "announcer.yaml").write_text(api)
        (self.work / "tour.sw.yaml").write_text((FIXTURES / "tour.sw.yaml").read_text())
        for name in ("go", "done"):
            (self.work / f"{name}.json").write_text(json.dumps({
                "specversion": "1.0", "id": f"{name}-1", "source": "/tests/durability",
                "type": f"com.example.{name}", "datacontenttype": "application/json",
                "data": {name: True}}))
        # Trials side by side, a cluster each (a restart after a crash waits
        # for the dead member's session): k = 0 is the reference, without
        # a fault; waves go on until a trial outlives its fault (the
        # workflow takes five steps: a wave of six is usually enough).
        trials, k, wave = {}, 0, 6
        with concurrent.futures.ThreadPoolExecutor(wave) as pool:
            while not any(fired is None for _, fired, _ in trials.values()):
                ks = range(k, k + wave)
                for done_k, result in zip(ks, pool.map(self.tour, ks)):
                    trials[done_k] = result
                k += wave
                self.assertLess(k, 100, "more than 100 steps: the fault never stops firing")
        reference, _, _ = trials[0]
        self.assertEqual(reference["status"], "COMPLETED", reference)
        for key, value in {"squares": [49, 64, 81], "left": 14, "right": 1007, "called": 14,
                           "go": {"go": True}, "done": {"done": True}}.items():
            self.assertEqual(reference["data"].get(key), value, reference)
        crashed = [k for k, (_, fired, _) in trials.items() if fired]
        # The start, the timer, the two events: four steps at least.
        self.assertGreaterEqual(len(crashed), 4, f"the fault fired only at steps {crashed}")
        for k, (got, fired, iid) in sorted(trials.items()):
            self.assertEqual((got["status"], got["data"]),
                             (reference["status"], reference["data"]),
                             f"killed after step {k}: {got}{self.logs()}")
        ids = [iid for _, _, iid in trials.values()]
        records = self.committed(ids)
        self.assert_one_event_each(records, ids, what="killed at every step boundary: ")
        self.assertEqual({json.loads(m.value())["n"] for m in records}, {7})

    def tour(self, k):
        """tour.sw.yaml with {"n": 7} on a cluster of its own, whose node dies
        after its k-th step (none for k = 0) and is started again; the
        instance's final `get`, whether the fault fired (None: the trial was
        past the last step, so the instance ran as the reference did) and
        its id."""
        cluster = f"{self.cluster}-{k}"

        def start_node(i, env=None):
            node = NodeProcess(self.brokers, cluster, "n1",
                               self.work / f"tour-{k}-node-{i}.log", env=env)
            self.nodes.append(node)
            return node

        first = start_node(1)
        self.ok(first, "deploy", self.work / "tour.sw.yaml")
        self.assertEqual(first.stop(), 0, self.logs())
        node = start_node(2, {"MESHFLOW_TEST_FAULTS": f"crash-after-commit={k}"} if k else None)
        started = self.client(node, "start", "tour", "--input", '{"n": 7}')
        iid = started.one if started.code == 0 else None  # None: the node died answering
        fired, sent, incarnation = False, set(), 2
        deadline = time.monotonic() + 240
        while True:
            self.assertLess(time.monotonic(), deadline,
                            f"trial {k}: the instance did not complete within 240 s"
                            f"{self.logs()}")
            if not node.alive():
                self.assertFalse(fired, f"trial {k}: the node died twice{self.logs()}")
                self.assertIn("fault crash-after-commit", node.log.read_text(errors="replace"),
                              f"trial {k}: the node died, not at the fault{self.logs()}")
                fired, incarnation = True, incarnation + 1
                node = start_node(incarnation)
            if iid is None:
                listed = self.client(node, "ls", "--workflow", "tour")
                if listed.code == 0 and listed.lines:
                    self.assertEqual(len(listed.lines), 1, f"trial {k}: {listed}")
                    iid = listed.lines[0]["id"]
                time.sleep(POLL)
                continue
            got = self.client(node, "get", iid)
            if got.code != 0:
                time.sleep(POLL)  # the node died meanwhile
                continue
            got = got.one
            if got["status"] == "COMPLETED":
                # `get` shows what the node applied, which may not be
                # committed yet: the end is its event on the topic, or a
                # node that died before it committed (then it runs again).
                if self.announced(iid):
                    break
                continue
            self.assertEqual(got["status"], "RUNNING", f"trial {k}: {got}{self.logs()}")
            state = got["states"][0] if got["states"] else None
            event = {"AwaitGo": "go", "Call": "done"}.get(state)
            if event and (incarnation, event) not in sent:
                sent.add((incarnation, event))
                self.client(node, "event", f"@{self.work / (event + '.json')}", "--instance", iid)
            time.sleep(POLL)
        if k and not fired:
            fired = True if "fault crash-after-commit" in node.log.read_text(errors="replace") \
                else None
        return got, fired, iid

    def announced(self, iid, timeout=5):
        """Whether the committed output topic holds an event of `iid`."""
        def has(records):
            return iid in {header(m, "ce_workflowinstanceid") for m in records}
        try:
            return has(Topic(self.brokers, self.topic).read(has, timeout=timeout))
        except AssertionError:  # no topic yet, or a dead node's transaction holds it
            return False

    def test_scheduled_starts_that_came_due_while_the_node_was_down_start_once(self):
        node = self.node()
        path = self.work / "ticker.sw.yaml"
        path.write_text((FIXTURES / "ticker.sw.yaml").read_text().replace("@PERIOD@", "PT2S"))
        self.ok(node, "deploy", path)

        def ticks(node):
            listed = self.client(node, "ls", "--workflow", "ticker")
            return [i for i in listed.lines if isinstance(i, dict)] if listed.code == 0 else []

        deadline = time.monotonic() + 60
        while not ticks(node):
            self.assertLess(time.monotonic(), deadline, f"no scheduled start:{self.logs()}")
            time.sleep(POLL)
        self.assertEqual(node.kill(), -signal.SIGKILL)
        time.sleep(5)  # the node is down while the other two come due
        again = self.node()
        deadline = time.monotonic() + 60
        while len(ticks(again)) < 3:
            self.assertLess(time.monotonic(), deadline,
                            f"{len(ticks(again))} scheduled starts of 3:{self.logs()}")
            time.sleep(POLL)
        # What came due while it was down is one late start at once, and
        # the rest follow the schedule: three in all. A node that forgot
        # where its schedule stood would start three more.
        settle = time.monotonic() + 5  # past two more periods
        while time.monotonic() < settle:
            self.assertLessEqual(len(ticks(again)), 3, f"{ticks(again)}{self.logs()}")
            time.sleep(POLL)
        self.assertEqual(len(ticks(again)), 3)

    def test_history_beyond_the_instance_s_tail_is_read_from_the_history_topic(self):
        node = self.node()
        path = self.work / "loop.sw.yaml"
        path.write_text((FIXTURES / "loop.sw.yaml").read_text())
        self.ok(node, "deploy", path)
        iid = self.ok(node, "start", "loop").one
        self.assertEqual(self.until_status(node, iid, "COMPLETED")["data"], {"i": 40})

        def history(node):
            return [e for e in self.ok(node, "history", iid).lines if isinstance(e, dict)]

        entries = history(node)
        entered = [e["detail"] for e in entries if e["kind"] == "state.entered"]
        self.assertEqual(entered, ["Begin"] + ["Increment", "Again"] * 40,
                         f"{len(entries)} entries: {entries[:5]} ... {entries[-5:]}")
        self.assertGreater(len(entries), 2 * 64)
        statuses = [e["detail"] for e in entries if e["kind"] == "status"]
        self.assertEqual((statuses[0], statuses[-1]), ("RUNNING", "COMPLETED"), statuses)
        # What the topic holds is the same, and so is the answer of a node
        # started again after kill -9, once the end is committed (killed
        # before, the node would run the last step again, at other times).
        def completed(records):
            return any(e["kind"] == "status" and e["detail"] == "COMPLETED"
                       for m in records if m.key() == iid.encode()
                       for e in json.loads(m.value()))

        history_topic = Topic(self.brokers, f"{self.cluster}.history")
        self.assertTrue(completed(history_topic.read(completed)), "the end was not committed")
        # The instance's final snapshot (committed with its end) holds only
        # the tail: 64 entries at most, not all 81 of its `state.entered`.
        snapshots = [m.value() for m in
                     Topic(self.brokers, f"{self.cluster}.instances").read()
                     if m.key() == iid.encode()]
        self.assertLessEqual(snapshots[-1].count(b"state.entered"), 64)
        self.assertEqual(node.kill(), -signal.SIGKILL)
        again = self.node()
        self.assertEqual(history(again), entries)

    def test_crash_between_produce_and_commit(self):
        node = self.node(env={"MESHFLOW_TEST_FAULTS": "crash-before-commit"})
        self.deploy(node, "announce.sw.yaml", sleep="PT1S")
        n = 20
        ids = self.start(node, "announce", [{"n": i} for i in range(n)])
        deadline = time.monotonic() + 60
        while node.alive():
            self.assertLess(time.monotonic(), deadline,
                            f"the node armed with crash-before-commit still runs after 60 s:"
                            f"{self.logs()}")
            time.sleep(POLL)
        self.assertNotEqual(node.proc.returncode, 0, self.logs())
        self.assertIn("fault crash-before-commit", node.log.read_text(errors="replace"),
                      f"the node died, but not at the fault point:{self.logs()}")
        again = self.node()
        self.all_completed(again, "announce", ids, timeout=120)
        committed = self.committed(ids)
        self.assert_one_event_each(committed, ids, ns=range(n), what="read_committed: ")
        everything = Topic(self.brokers, self.topic, "read_uncommitted").read()
        self.assertGreater(
            len(everything), len(committed),
            f"read_uncommitted sees {len(everything)} records, read_committed "
            f"{len(committed)}: no aborted duplicate was written, so the node did not die "
            f"between produce and commit{self.logs()}")


class OwnBroker:
    """A broker of scripts/kafka-local in a KAFKA_LOCAL_DIR of its own, which
    the test stops and starts again on the same data dir and port.

    scripts/kafka-local cannot do the latter (its `start` wipes the data and
    picks new ports, its `stop` deletes the data): the broker is stopped with
    SIGTERM and its JVM started again with the command line and environment
    it had, which name the same server.properties."""

    def __init__(self, dir):
        self.dir = pathlib.Path(dir)
        self.env = {**os.environ, "KAFKA_LOCAL_DIR": str(self.dir)}

    def start(self):
        # Twice at most: kafka-local's random cluster id fails the storage
        # format when it begins with '-' (1 start in 64).
        for _ in range(2):
            out = subprocess.run([str(ROOT / "scripts" / "kafka-local"), "start"],
                                 env=self.env, capture_output=True, text=True, timeout=900)
            if out.returncode == 0:
                break
        assert out.returncode == 0, f"kafka-local start: {out.stderr}"
        self.address = re.findall(r"KAFKA_BOOTSTRAP=(\S+)", out.stdout)[-1]
        self.pid = int((self.dir / "kafka.pid").read_text())
        self.cmdline = pathlib.Path(f"/proc/{self.pid}/cmdline").read_bytes() \
            .rstrip(b"\0").split(b"\0")
        self.environ = dict(e.split(b"=", 1) for e in pathlib.Path(
            f"/proc/{self.pid}/environ").read_bytes().split(b"\0") if b"=" in e)
        return self.address

    def kill_softly(self):
        """SIGTERM, and waits (KILL after 30 s) until it is gone."""
        os.kill(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while pathlib.Path(f"/proc/{self.pid}").exists() and time.monotonic() < deadline:
            time.sleep(POLL)
        if pathlib.Path(f"/proc/{self.pid}").exists():
            os.kill(self.pid, signal.SIGKILL)
        while pathlib.Path(f"/proc/{self.pid}").exists():
            time.sleep(POLL)

    def restart(self):
        log = self.dir / "logs" / "server.log"
        started = log.read_text(errors="replace").count("Kafka Server started")
        with open(self.dir / "logs" / "kafka.out", "ab") as out:
            self.proc = subprocess.Popen(self.cmdline, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, env=self.environ,
                                         start_new_session=True)
        self.pid = self.proc.pid
        (self.dir / "kafka.pid").write_text(f"{self.pid}\n")  # for kafka-local stop
        host, port = self.address.rsplit(":", 1)
        deadline = time.monotonic() + 120
        while True:
            up = log.read_text(errors="replace").count("Kafka Server started") > started
            if up:
                try:
                    socket.create_connection((host, int(port)), timeout=1).close()
                    return
                except OSError:
                    pass
            assert self.proc.poll() is None, f"the broker exited on restart: {tail(log)}"
            assert time.monotonic() < deadline, f"the broker did not restart: {tail(log)}"
            time.sleep(POLL)

    def stop(self):
        # The JVM started again is this process's child: stopped and reaped
        # here, since kafka-local would wait for its zombie for ever.
        if getattr(self, "proc", None) and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # The first JVM, if it still runs, and the data.
        subprocess.run([str(ROOT / "scripts" / "kafka-local"), "stop"], env=self.env,
                       capture_output=True, timeout=120)


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meshflow", required=True)
    parser.add_argument("--brokers")
    ARGS, rest = parser.parse_known_args()
    ARGS.brokers = fixture_brokers(ARGS.brokers, "durability")
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)


if __name__ == "__main__":
    main()
