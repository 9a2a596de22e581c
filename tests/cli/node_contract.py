#!/usr/bin/env python3
"""`meshflow node` and its client commands, as real processes talking over
CAF's middleman: deploy, start (one, bulk JSON Lines, --wait), get, ls,
pause, resume, cancel, retry, history, event; exit codes and messages."""
import argparse
import json
import re
import socket
import subprocess
import sys
import time
import unittest

from run_support import ROOT, Node, Reply, ServicesTestCase, workdir, write

ARGS = None

PARKED = """
id: parked
version: '1.0'
specVersion: '0.8'
start: Wait
events:
- name: Go
  type: com.example.go
  source: /test
states:
- name: Wait
  type: event
  onEvents:
  - eventRefs: [Go]
    eventDataFilter:
      data: ${ .go }
  end: true
"""

FLAKY = """
id: flaky
version: '1.0'
specVersion: '0.8'
start: Call
functions:
- name: call
  operation: testapi.json#flaky
states:
- name: Call
  type: operation
  actions:
  - functionRef:
      refName: call
      arguments: {key: '${ .key }', failures: 1}
    actionDataFilter:
      toStateData: ${ .reply }
  end: true
"""


class NodeContract(ServicesTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.node = Node(ARGS.meshflow)

    @classmethod
    def tearDownClass(cls):
        code, log = cls.node.stop()
        assert code == 0, f"the node exited {code}: {log}"
        assert "stopping" in log, log
        super().tearDownClass()

    def client(self, *args, node=None):
        proc = subprocess.run([ARGS.meshflow, *map(str, args), "--node",
                               node or self.node.address],
                              capture_output=True, text=True, timeout=120)
        self.assertIn(proc.returncode, (0, 1, 2), proc.stderr)
        return Reply(proc)

    def deploy(self, d, name, text):
        r = self.client("deploy", write(d, name, text))
        self.assertEqual(r.code, 0, r)
        return r.one

    def eventually(self, iid, status):
        """`get` until the instance has `status`; the node runs on its own."""
        for _ in range(600):
            got = self.client("get", iid).one
            if got["status"] == status:
                return got
            time.sleep(0.05)
        self.fail(f"{iid} is {got['status']}, not {status}")

    def test_deploy_start_wait_get_ls_history(self):
        r = self.client("deploy", ROOT / "examples/hello/hello.sw.yaml")
        self.assertEqual((r.code, r.lines), (0, [{"id": "hello", "version": "1.0"}]), r)
        r = self.client("start", "hello", "--input", '{"name": "Ada"}', "--wait")
        self.assertEqual(r.code, 0, r)
        done = r.one
        self.assertEqual(done["status"], "COMPLETED")
        self.assertEqual(done["data"], {"name": "Ada", "greeting": "Hello from meshflow"})
        iid = done["id"]
        got = self.client("get", iid).one
        self.assertEqual({k: got[k] for k in ("id", "workflowId", "version", "status", "data")},
                         {"id": iid, "workflowId": "hello", "version": "1.0",
                          "status": "COMPLETED", "data": done["data"]})
        listed = self.client("ls", "--workflow", "hello", "--status", "COMPLETED").lines
        self.assertIn({"id": iid, "workflowId": "hello", "version": "1.0",
                       "status": "COMPLETED"}, listed)
        self.assertEqual(self.client("ls", "--workflow", "hello", "--status", "FAULTED").lines,
                         [])
        kinds = [(h["kind"], h["detail"]) for h in self.client("history", iid).lines]
        self.assertEqual(kinds, [("status", "RUNNING"), ("state.entered", "Greet"),
                                 ("state.left", "Greet"), ("status", "COMPLETED")])
        self.assertTrue(all(re.match(r"\d{4}-\d\d-\d\dT", h["at"])
                            for h in self.client("history", iid).lines))

    def test_bulk_start_from_json_lines(self):
        with workdir() as d:
            self.deploy(d, "hello.sw.yaml", (ROOT / "examples/hello/hello.sw.yaml").read_text())
            write(d, "inputs.jsonl", "".join(f'{{"n": {n}}}\n' for n in range(200)) + "\n")
            r = self.client("start", "hello", "--input", f"@{d}/inputs.jsonl")
            self.assertEqual(r.code, 0, r)
            self.assertEqual(len(set(r.lines)), 200, r)
            r = self.client("start", "hello", "--input", f"@{d}/inputs.jsonl", "--wait")
            self.assertEqual(r.code, 0, r)
            self.assertEqual(sorted(i["data"]["n"] for i in r.lines), list(range(200)))
            # One object over many lines is one instance, not JSON Lines.
            write(d, "one.json", '{\n  "n": 1\n}\n')
            r = self.client("start", "hello", "--input", f"@{d}/one.json")
            self.assertEqual((r.code, len(r.lines)), (0, 1), r)
            write(d, "bad.jsonl", '{"n": 1}\n[2]\n')
            r = self.client("start", "hello", "--input", f"@{d}/bad.jsonl")
            self.assertEqual(r.code, 2, r)
            self.assertIn("bad.jsonl:2: the workflow input must be a JSON object, not array",
                          r.stderr)
            self.assertEqual(r.lines, [])

    def test_pause_resume_cancel(self):
        with workdir() as d:
            self.deploy(d, "parked.sw.yaml", PARKED)
        iid = self.client("start", "parked").one
        self.assertEqual(self.client("get", iid).one["states"], ["Wait"])
        self.assertEqual(self.client("pause", iid).one["status"], "PAUSED")
        self.assertIn(iid, [i["id"] for i in self.client("ls", "--status", "PAUSED").lines])
        self.assertEqual(self.client("resume", iid).one["status"], "RUNNING")
        self.assertEqual(self.client("cancel", iid).one["status"], "TERMINATED")
        r = self.client("cancel", iid)
        self.assertEqual(r.code, 1, r)
        self.assertIn(f"instance '{iid}' has ended (TERMINATED)", r.stderr)
        r = self.client("retry", iid)
        self.assertEqual(r.code, 1, r)
        self.assertIn("only a FAULTED instance can be retried", r.stderr)

    def test_event_to_an_instance_and_by_instance_id(self):
        with workdir() as d:
            self.deploy(d, "parked.sw.yaml", PARKED)
            iid = self.client("start", "parked").one
            event = {"specversion": "1.0", "id": "g-1", "source": "/test",
                     "type": "com.example.go", "data": {"go": {"n": 7}}}
            write(d, "go.json", json.dumps({**event, "workflowinstanceid": iid}))
            r = self.client("event", f"@{d}/go.json")
            self.assertEqual((r.code, r.one), (0, {"delivered": 1}), r)
            self.assertEqual(self.eventually(iid, "COMPLETED")["data"], {"n": 7})
            r = self.client("event", f"@{d}/go.json", "--instance", iid)
            self.assertEqual(r.code, 1, r)
            self.assertIn(f"no live instance '{iid}'", r.stderr)
            write(d, "broken.json", '{"specversion": "1.0"}')
            r = self.client("event", f"@{d}/broken.json")
            self.assertEqual(r.code, 2, r)

    def test_events_start_and_meet_in_one_instance(self):
        r = self.client("deploy", ROOT / "examples/order-events/order-events.sw.yaml")
        self.assertEqual(r.code, 0, r)
        before = self.client("ls", "--workflow", "order-events").lines
        # Payment first, then the order, both for order o-17: one instance.
        r = self.client("event", f"@{ROOT}/examples/order-events/events.json")
        self.assertEqual(r.code, 0, r)
        started = [i for i in self.client("ls", "--workflow", "order-events").lines
                   if i not in before]
        self.assertEqual(len(started), 1, started)
        done = self.eventually(started[0]["id"], "COMPLETED")
        self.assertEqual(done["data"]["status"], "ready")
        self.assertEqual(done["data"]["total"], 35)

    def test_retry_a_faulted_instance(self):
        with workdir() as d:
            write(d, "testapi.json", self.services.openapi("testapi"))
            self.deploy(d, "flaky.sw.yaml", FLAKY)
        r = self.client("start", "flaky", "--input", '{"key": "node-retry"}', "--wait")
        self.assertEqual(r.code, 1, r)
        faulted = r.one
        self.assertEqual((faulted["status"], faulted["error"]["code"],
                          faulted["error"]["state"]), ("FAULTED", "503", "Call"))
        self.assertIn(f"instance {faulted['id']} is FAULTED", r.stderr)
        self.assertEqual(self.client("retry", faulted["id"]).code, 0)
        done = self.eventually(faulted["id"], "COMPLETED")
        self.assertEqual(done["data"], {"key": "node-retry", "reply": {"calls": 2}})
        kinds = [h["kind"] for h in self.client("history", faulted["id"]).lines]
        self.assertIn("status", kinds)
        self.assertEqual(kinds.count("state.entered"), 2, kinds)

    def test_continue_as_brings_its_workflow_exec_timeout(self):
        with workdir() as d:
            self.deploy(d, "napper.sw.yaml", """
id: napper
version: '1.0'
specVersion: '0.8'
start: Nap
states:
- {name: Nap, type: sleep, duration: PT1H, end: true}
""")
            self.deploy(d, "handover.sw.yaml", """
id: handover
version: '1.0'
specVersion: '0.8'
start: Hand
states:
- name: Hand
  type: inject
  data: {handed: true}
  end:
    continueAs:
      workflowId: napper
      workflowExecTimeout: {duration: PT0.3S}
""")
        r = self.client("start", "handover", "--wait")
        self.assertEqual((r.code, r.one["status"]), (0, "COMPLETED"), r)
        continued = self.eventually(r.one["id"] + "+", "TERMINATED")
        self.assertEqual(continued["error"]["code"], "timeout")
        self.assertIn("PT0.3S", continued["error"]["message"])
        self.assertEqual(continued["data"], {"handed": True})
        # Started on its own, the same workflow has no timeout.
        alone = self.client("start", "napper").one
        self.assertEqual(self.client("get", alone).one["status"], "RUNNING")
        self.client("cancel", alone)

    def test_scheduled_starts(self):
        with workdir() as d:
            self.deploy(d, "ticker.sw.yaml", """
id: ticker
version: '1.0'
specVersion: '0.8'
start:
  stateName: Tick
  schedule: R3/PT0.2S
states:
- {name: Tick, type: inject, data: {ticked: true}, end: true}
""")
            for _ in range(600):
                ticks = self.client("ls", "--workflow", "ticker", "--status", "COMPLETED").lines
                if len(ticks) >= 3:
                    break
                time.sleep(0.05)
            self.assertEqual(len(ticks), 3, ticks)
            self.assertEqual(self.client("get", ticks[0]["id"]).one["data"], {"ticked": True})
            write(d, "mars.sw.yaml", """
id: mars
specVersion: '0.8'
start:
  stateName: Tick
  schedule: {cron: '0 0 9 * * ?', timezone: Mars/Olympus}
states:
- {name: Tick, type: inject, data: {}, end: true}
""")
            r = self.client("deploy", f"{d}/mars.sw.yaml")
            self.assertEqual(r.code, 2, r)
            self.assertIn("unknown time zone 'Mars/Olympus'", r.stderr)

    def test_refusals_and_exit_codes(self):
        r = self.client("get", "no-such-instance")
        self.assertEqual((r.code, r.lines), (1, []), r)
        self.assertIn("meshflow get: no instance 'no-such-instance' on this node", r.stderr)
        r = self.client("start", "no-such-workflow")
        self.assertEqual(r.code, 1, r)
        self.assertIn("no workflow 'no-such-workflow' is deployed", r.stderr)
        r = self.client("start", "hello", "--input", "[1]")
        self.assertEqual(r.code, 2, r)
        with workdir() as d:
            bad = write(d, "bad.sw.yaml", "id: bad\nspecVersion: '0.8'\nstart: Nowhere\n"
                                          "states:\n- name: A\n  type: inject\n  data: {}\n"
                                          "  end: true\n")
            r = self.client("deploy", bad)
            self.assertEqual(r.code, 2, r)
            self.assertRegex(r.stderr, r"bad\.sw\.yaml:\d+:\d+: error: start:")
            r = self.client("deploy", f"{d}/missing.yaml")
            self.assertEqual(r.code, 2, r)
            self.assertIn("missing.yaml", r.stderr)
        r = self.client("get", "x", node="nonsense")
        self.assertEqual(r.code, 2, r)
        self.assertIn("--node 'nonsense': expected HOST:PORT", r.stderr)
        with socket.socket() as s:  # a port nobody listens on
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        r = self.client("get", "x", node=f"127.0.0.1:{port}")
        self.assertEqual(r.code, 1, r)
        self.assertIn(f"cannot reach the node at 127.0.0.1:{port}", r.stderr)


class NodeStartup(unittest.TestCase):
    def test_deploys_at_start_and_refuses_an_invalid_definition(self):
        node = Node(ARGS.meshflow, "--deploy", ROOT / "examples/hello/hello.sw.yaml", "--quiet")
        try:
            r = subprocess.run([ARGS.meshflow, "start", "hello", "--wait", "--node",
                                node.address], capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
        finally:
            self.assertEqual(node.stop()[0], 0)
        with workdir() as d:
            bad = write(d, "bad.sw.yaml", "id: bad\n")
            r = subprocess.run([ARGS.meshflow, "node", "--port", "0", "--deploy", bad],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn("bad.sw.yaml", r.stderr)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--meshflow", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0], "-v", *rest])
