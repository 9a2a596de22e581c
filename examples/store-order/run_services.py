#!/usr/bin/env python3
"""Starts the three services of the store-order example and waits until each is ready.

    python run_services.py --brokers HOST:PORT [--limit 500] [--ledger FILE]
                           [--log-dir DIR] [--ready-timeout 60] [-- COMMAND ARG...]

Runs order_service.py, payment_service.py and shipment_service.py with this
interpreter, each writing what it prints (stdout and stderr) to DIR/NAME.log
(DIR: --log-dir, else a temporary folder, removed at the end unless
something failed). Once all three have printed `ready`:

- without a command, prints `ready` (flushed) and runs until SIGTERM or SIGINT;
- with `-- COMMAND ARG...`, runs the command (its stdout and stderr are this
  program's) and, when it ends, stops the services and exits with its code.

Then it stops the services with SIGTERM (SIGKILL after 15 s) and prints, on
stderr, each one's last line (its counts) and where the logs are if kept.
The exit code is the command's, else 1 if a service failed, else 0. This is
how `make demo` runs the example, with the venv of scripts/bootstrap:

    py=${XDG_CACHE_HOME:-$HOME/.cache}/meshflow/venv/bin/python
    $py examples/store-order/run_services.py --brokers "$KAFKA_BOOTSTRAP" -- \\
      $py examples/store-order/driver.py --brokers "$KAFKA_BOOTSTRAP" \\
        --meshflow "$meshflow" --node "$node"

(start the services -> run the driver -> stop the services).
"""
import argparse
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = pathlib.Path(__file__).resolve().parent


class Service:
    """One service process; its stdout read by a thread, into its log."""

    def __init__(self, name, args, log_dir):
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([sys.executable, str(HERE / f"{name}_service.py"), *args],
                                     stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.ready = threading.Event()
        self.last_line = ""
        self.reader = threading.Thread(target=self.read, daemon=True)
        self.reader.start()

    def read(self):
        for line in self.proc.stdout:
            self.log.write(line)
            self.log.flush()
            self.last_line = line.rstrip("\n")
            if self.last_line == "ready":
                self.ready.set()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(timeout=5)
        self.log.close()
        return self.proc.returncode

    def tail(self, lines=15):
        return "".join(self.log_path.read_text().splitlines(keepends=True)[-lines:])


def wait_ready(services, timeout):
    """None when all are ready, else what went wrong."""
    deadline = time.monotonic() + timeout
    for s in services:
        while not s.ready.wait(0.1):
            if s.proc.poll() is not None:
                return (f"the {s.name} service exited ({s.proc.returncode}) before it was "
                        f"ready:\n{s.tail()}")
            if time.monotonic() >= deadline:
                return (f"the {s.name} service was not ready within {timeout:g}s; "
                        f"is the broker up?\n{s.tail()}")
    return None


def main():
    argv = sys.argv[1:]
    command = []
    if "--" in argv:
        command = argv[argv.index("--") + 1:]
        argv = argv[:argv.index("--")]
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        usage="%(prog)s --brokers HOST:PORT [options] [-- COMMAND ARG...]")
    parser.add_argument("--brokers", required=True, help="Kafka bootstrap servers, HOST:PORT[,...]")
    parser.add_argument("--limit", default="500", help="the payment service's limit (default 500)")
    parser.add_argument("--ledger", help="the shipment service's ledger file (default: none)")
    parser.add_argument("--log-dir",
                        help="where the services' logs go (default: a temporary folder)")
    parser.add_argument("--ready-timeout", type=float, default=60.0,
                        help="seconds to wait for the services to be ready (default 60)")
    args = parser.parse_args(argv)

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    log_dir = pathlib.Path(args.log_dir or tempfile.mkdtemp(prefix="store-order-services-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    brokers = ["--brokers", args.brokers]
    services = [Service("order", brokers, log_dir),
                Service("payment", [*brokers, "--limit", args.limit], log_dir),
                Service("shipment", [*brokers, *(["--ledger", args.ledger] if args.ledger else [])],
                        log_dir)]
    code = 0
    try:
        problem = wait_ready(services, args.ready_timeout)
        if problem:
            print(f"run_services: {problem}", file=sys.stderr, flush=True)
            code = 1
        elif command:
            proc = subprocess.Popen(command)
            while proc.poll() is None:
                if stop.wait(0.1):
                    proc.send_signal(signal.SIGTERM)
                    proc.wait()
            code = proc.returncode
        else:
            print("ready", flush=True)
            while not stop.wait(0.5):
                for s in services:
                    if s.proc.poll() is not None:
                        print(f"run_services: the {s.name} service exited ({s.proc.returncode}):\n"
                              f"{s.tail()}", file=sys.stderr, flush=True)
                        stop.set()
                        code = 1
    finally:
        for s in services:
            returned = s.stop()
            print(f"{s.name} service: {s.last_line}" + (f" (exit {returned})" if returned else ""),
                  file=sys.stderr, flush=True)
            if returned and code == 0:
                code = 1
        if args.log_dir or code != 0:
            print(f"run_services: the services' logs are in {log_dir}", file=sys.stderr, flush=True)
        else:
            shutil.rmtree(log_dir)
    return code


if __name__ == "__main__":
    sys.exit(main())
