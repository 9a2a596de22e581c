"""Shared by the `meshflow run` tests: the local REST services and a runner."""
import json
import os
import pathlib
import re
import queue
import signal
import sys
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[2]
SERVICES = ROOT / "examples" / "services" / "services.py"


class Services:
    """examples/services/services.py on a free loopback port."""

    def __enter__(self):
        self.proc = subprocess.Popen(["/usr/bin/python3", str(SERVICES)],
                                     stdout=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline())
        self.base = f"http://127.0.0.1:{self.port}"
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(timeout=10)

    def openapi(self, name):
        with urllib.request.urlopen(f"{self.base}/openapi/{name}.json") as r:
            return r.read().decode()


class ServicesTestCase(unittest.TestCase):
    """Tests that share one set of services for the whole class."""

    @classmethod
    def setUpClass(cls):
        cls.services = Services().__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.services.__exit__(None, None, None)


class Run:
    def __init__(self, proc):
        self.code = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        lines = [l for l in proc.stderr.splitlines() if l.startswith("{")]
        self.status = json.loads(lines[-1]) if lines else None
        self.output = json.loads(proc.stdout) if proc.returncode == 0 else None

    def __repr__(self):
        return f"exit {self.code}\nstdout: {self.stdout}\nstderr: {self.stderr}"


def run(meshflow, file, *args, env=None, timeout=120):
    proc = subprocess.run([meshflow, "run", str(file), *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})
    assert proc.returncode in (0, 1, 2), f"signal {proc.returncode}: {proc.stderr}"
    return Run(proc)


def workdir():
    return tempfile.TemporaryDirectory(prefix="meshflow-run-")


def write(dir, name, text):
    path = pathlib.Path(dir) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


class Node:
    """`meshflow node --port 0 ARGS...`; stopped with SIGTERM. A thread reads
    its stderr to the end, so that a node that logs much never blocks on a
    full pipe."""

    def __init__(self, meshflow, *args, env=None):
        self.proc = subprocess.Popen([meshflow, "node", "--port", "0", *map(str, args)],
                                     stderr=subprocess.PIPE, text=True,
                                     env={**os.environ, **(env or {})})
        lines = queue.Queue()
        self._later = []  # the lines after "listening on"

        def read():
            listening = False
            for line in self.proc.stderr:
                if listening:
                    self._later.append(line)
                else:
                    lines.put(line)
                    listening = "listening on" in line
            if not listening:
                lines.put(None)

        self._reader = threading.Thread(target=read, daemon=True)
        self._reader.start()
        seen = []
        deadline = time.monotonic() + 120  # a node on a broker just started is slow
        while True:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            seen.append(line)  # warnings may come first
            match = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
            if match:
                self.address = f"127.0.0.1:{match.group(1)}"
                self.pid = self.proc.pid
                return
        self.proc.kill()
        raise AssertionError(f"the node did not start within 120 s: {''.join(seen)}")

    def line_with(self, text, timeout=30):
        """The first line the node wrote on stderr after it listened that
        holds `text`, once it has; AssertionError after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            for line in list(self._later):
                if text in line:
                    return line
            if time.monotonic() >= deadline:
                raise AssertionError(f"the node did not say '{text}' within {timeout} s")
            time.sleep(0.05)

    def stop(self):
        """SIGTERM; the exit status and what the node wrote on stderr after
        it listened."""
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=30)
        self._reader.join(timeout=30)
        self.proc.stderr.close()
        return code, "".join(self._later)


class Reply:
    """A client command's answer: exit code, and stdout as JSON lines."""

    def __init__(self, proc):
        self.code = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.lines = [json.loads(l) if l.startswith(("{", "[")) else l
                      for l in proc.stdout.splitlines()]

    @property
    def one(self):
        assert len(self.lines) == 1, self
        return self.lines[0]

    def __repr__(self):
        return f"exit {self.code}\nstdout: {self.stdout}\nstderr: {self.stderr}"


def fixture_brokers(given, program):
    """`given` (--brokers), else the address of the ctest fixture's broker
    ($MESHFLOW_KAFKA_BOOTSTRAP_FILE); exits naming `program` without one."""
    if given:
        return given
    path = os.environ.get("MESHFLOW_KAFKA_BOOTSTRAP_FILE")
    if not path or not pathlib.Path(path).exists():
        sys.exit(f"{program}: no --brokers and no $MESHFLOW_KAFKA_BOOTSTRAP_FILE")
    return pathlib.Path(path).read_text().strip()
