#!/usr/bin/env python3
"""REST calls that time out are abandoned for real, as processes show it:
`meshflow run` ends as soon as its instance does, before the slow service
even answers; on a `meshflow node`, fifty calls to a service that never
answers are released at their actionExecTimeout (the service sees every
connection close), and the node stays responsive with as many threads as
before."""
import argparse
import json
import pathlib
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from run_support import run, workdir, write

ARGS = None


class Service:
    """A REST service in this process: POST /slow answers after `seconds`
    and records when; POST /never never answers and counts the connections
    its clients have not closed yet."""

    def __init__(self):
        self.lock = threading.Lock()
        self.answered = []  # time.monotonic() of each /slow answer
        self.seen = 0       # /never requests received
        self.open = 0       # /never connections the client has not closed
        self.stopping = threading.Event()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path == "/slow":
                    time.sleep(float(body.get("seconds", 3)))
                    with service.lock:
                        service.answered.append(time.monotonic())
                    data = b'{"slow": true}'
                    try:
                        self.send_response(200)
                        self.send_header("Content-Type", "application/json")
                        self.send_header("Content-Length", str(len(data)))
                        self.end_headers()
                        self.wfile.write(data)
                    except OSError:
                        pass  # the caller has gone
                    return
                if self.path == "/never":
                    with service.lock:
                        service.seen += 1
                        service.open += 1
                    until = time.monotonic() + 60
                    while not service.stopping.is_set() and time.monotonic() < until:
                        ready, _, _ = select.select([self.connection], [], [], 0.05)
                        if ready and not self.connection.recv(1, socket.MSG_PEEK):
                            break  # the client closed its connection
                    with service.lock:
                        service.open -= 1
                    self.close_connection = True
                    return
                self.send_error(404)

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 256

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()

    def openapi(self):
        return json.dumps({
            "openapi": "3.0.3", "info": {"title": "rest contract", "version": "1"},
            "servers": [{"url": self.url}],
            "paths": {"/slow": {"post": {"operationId": "slow"}},
                      "/never": {"post": {"operationId": "never"}}}})

    def until(self, condition, bound=10.0):
        deadline = time.monotonic() + bound
        while time.monotonic() < deadline:
            with self.lock:
                if condition():
                    return True
            time.sleep(0.02)
        return False


# One call with an actionExecTimeout; its `timeout` error goes to GaveUp.
WORKFLOW = """
id: {id}
version: '1.0'
specVersion: '0.8'
start: Call
functions:
- name: call
  operation: api.json#{operation}
errors:
- name: Timeout
  code: timeout
states:
- name: Call
  type: operation
  timeouts:
    actionExecTimeout: {timeout}
  actions:
  - functionRef:
      refName: call
      arguments: {arguments}
  onErrors:
  - errorRef: Timeout
    transition: GaveUp
  end: true
- name: GaveUp
  type: inject
  data: {{gaveUp: true}}
  end: true
"""


def threads_of(pid):
    status = pathlib.Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^Threads:\s+(\d+)", status, re.M).group(1))


def settled_threads_of(pid, quiet=1.0, timeout=30):
    """The thread count once it held for `quiet` seconds: a node that just
    said it listens may still be taking its partitions (each read of a
    partition's snapshots has a Kafka client, and threads, of its own)."""
    deadline = time.monotonic() + timeout
    count, since = threads_of(pid), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = threads_of(pid)
        if now != count:
            count, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
    return count


class Node:
    """`meshflow node --port 0 --quiet`; stopped with SIGTERM."""

    def __init__(self):
        self.proc = subprocess.Popen([ARGS.meshflow, "node", "--port", "0", "--quiet"],
                                     stderr=subprocess.PIPE, text=True)
        line = self.proc.stderr.readline()
        match = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        if not match:
            self.proc.kill()
            raise AssertionError(f"the node did not start: {line}{self.proc.stderr.read()}")
        self.address = f"127.0.0.1:{match.group(1)}"

    def client(self, *args, timeout=120):
        return subprocess.run([ARGS.meshflow, *map(str, args), "--node", self.address],
                              capture_output=True, text=True, timeout=timeout)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rest = self.proc.stderr.read()
        self.proc.stderr.close()
        return self.proc.wait(timeout=30), rest


class RestContract(unittest.TestCase):
    def setUp(self):
        self.service = Service()

    def tearDown(self):
        self.service.close()

    def test_run_ends_before_the_abandoned_call_is_answered(self):
        with workdir() as d:
            write(d, "api.json", self.service.openapi())
            wf = write(d, "slow.sw.yaml", WORKFLOW.format(
                id="slow", operation="slow", timeout="PT0.5S",
                arguments=json.dumps({"seconds": 3})))
            r = run(ARGS.meshflow, wf)
            ended = time.monotonic()
        # The instance took its onErrors path at the actionExecTimeout ...
        self.assertEqual((r.code, r.output), (0, {"gaveUp": True}), r)
        # ... and the process did not wait for the call it abandoned: it had
        # exited before the service answered.
        self.assertTrue(self.service.until(lambda: self.service.answered),
                        "the service never answered")
        self.assertLess(ended, self.service.answered[0],
                        "meshflow run waited for the abandoned call")

    def test_calls_that_time_out_on_a_node_release_their_connections(self):
        node = Node()
        try:
            before = settled_threads_of(node.proc.pid)
            with workdir() as d:
                write(d, "api.json", self.service.openapi())
                wf = write(d, "silent.sw.yaml", WORKFLOW.format(
                    id="silent", operation="never", timeout="PT0.2S",
                    arguments=json.dumps({"n": "${ .n }"})))
                r = node.client("deploy", wf)
                self.assertEqual(r.returncode, 0, r.stderr)
                write(d, "inputs.jsonl", "".join(f'{{"n": {n}}}\n' for n in range(50)))
                r = node.client("start", "silent", "--input", f"@{d}/inputs.jsonl", "--wait")
            self.assertEqual(r.returncode, 0, r.stderr)
            ended = [json.loads(line) for line in r.stdout.splitlines()]
            self.assertEqual(len(ended), 50, r.stdout)
            self.assertTrue(all(i["status"] == "COMPLETED" and i["data"]["gaveUp"]
                                for i in ended), r.stdout)
            # Every call reached the service at once (none waited behind
            # another), and each connection was closed when its action gave
            # up, not when the service might have answered.
            self.assertTrue(self.service.until(lambda: self.service.seen == 50),
                            f"{self.service.seen} of 50 calls reached the service")
            self.assertTrue(self.service.until(lambda: self.service.open == 0),
                            f"{self.service.open} connections still open")
            # The node answers at once, with no more threads than before (the
            # deploy's own thread ends on its own time: waited for).
            r = node.client("ls", "--workflow", "silent", timeout=10)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(len(r.stdout.splitlines()), 50, r.stdout)
            deadline = time.monotonic() + 10
            while threads_of(node.proc.pid) != before and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertEqual(threads_of(node.proc.pid), before)
        finally:
            code, log = node.stop()
        self.assertEqual(code, 0, log)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--meshflow", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0], "-v", *rest])
