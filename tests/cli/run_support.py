"""Shared by the `meshflow run` tests: the local REST services and a runner."""
import json
import os
import pathlib
import subprocess
import tempfile
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
