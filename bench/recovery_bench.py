#!/usr/bin/env python3
"""Recovery of a node on a real Kafka broker: how long a node takes to own
its instances again after it died. Prints a table.

N instances (default 100,000) of a workflow that parks in a one-hour sleep
are started with one bulk `meshflow start ID --input @FILE` on a `meshflow
node --brokers B` (24 partitions). Once all are parked, the node is stopped
and started again with the same --name, twice:

  kill -9   as a crash: the group gives the partitions again once the dead
            member's session (10 s) has expired
  SIGTERM   the node leaves the group as it stops: the new one gets its
            partitions at once

For each: from the new process's start to its partitions assigned, the
time to read the snapshots (the bus's log line), the recovery (from the
start of the reads until the last partition has re-armed its instances:
the partitions' log lines), the node's CPU time and RSS then. Each run checks that `ls --status RUNNING`
lists all N afterwards.

usage: bench/recovery_bench.py --meshflow PATH --brokers HOST:PORT [--instances N]
"""
import argparse
import datetime
import os
import pathlib
import re
import signal
import subprocess
import tempfile
import time
import uuid

SLEEPER = """
id: sleeper
version: '1'
specVersion: '0.8'
start: Nap
states:
  - {name: Nap, type: sleep, duration: PT1H, end: true}
"""

STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})")
TAKEN = re.compile(r"(\d+) partitions of \S+ taken, (\d+) instance snapshots read in (\d+) ms")
RESTORED = re.compile(r"partition (\d+): (\d+) instances restored in (\d+) ms")


def stamp(line):
    """The wall time a log line was written (the node logs local time)."""
    m = STAMP.match(line)
    return datetime.datetime.fromisoformat(m.group(1)).timestamp() if m else None


class Node:
    def __init__(self, args, cluster, log):
        self.log = log
        self.began = time.time()
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [args.meshflow, "node", "--brokers", args.brokers, "--cluster", cluster,
                 "--name", "n1", "--listen", "127.0.0.1:0", "--partitions",
                 str(args.partitions), "--quiet"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        self.address = self.wait_for(r"listening on (127\.0\.0\.1:\d+)", 120).group(1)

    def text(self):
        return pathlib.Path(self.log).read_text(errors="replace")

    def wait_for(self, pattern, timeout, count=1):
        deadline = time.monotonic() + timeout
        while True:
            found = list(re.finditer(pattern, self.text(), re.M))
            if len(found) >= count:
                return found[count - 1]
            if self.proc.poll() is not None:
                raise SystemExit(f"the node exited with {self.proc.returncode}:\n"
                                 f"{self.text()[-3000:]}")
            if time.monotonic() >= deadline:
                raise SystemExit(f"no '{pattern}' in the node's log within {timeout} s:\n"
                                 f"{self.text()[-3000:]}")
            time.sleep(0.05)

    def cpu_and_rss(self):
        """CPU seconds (user + system) and RSS (MB) of the node so far."""
        fields = pathlib.Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        cpu = (int(fields[11]) + int(fields[12])) / ticks
        rss = int(fields[21]) * os.sysconf("SC_PAGE_SIZE") / 2**20
        return cpu, rss

    def stop(self, sig):
        self.proc.send_signal(sig)
        self.proc.wait(timeout=60)


def client(args, node, *words, timeout=600):
    proc = subprocess.run([args.meshflow, *map(str, words), "--node", node.address],
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise SystemExit(f"meshflow {' '.join(map(str, words))}: {proc.stdout}{proc.stderr}")
    return proc.stdout


def running(args, node):
    return len(client(args, node, "ls", "--status", "RUNNING").splitlines())  # JSON Lines


def wait_running(args, node, n, timeout):
    deadline = time.monotonic() + timeout
    while True:
        count = running(args, node)
        if count == n:
            return
        if time.monotonic() >= deadline:
            raise SystemExit(f"{count} of {n} instances RUNNING after {timeout} s")
        time.sleep(0.5)


def restart(args, cluster, work, how):
    """A new node after the old one stopped `how`; its recovery figures."""
    node = Node(args, cluster, work / f"node-{how}.log")
    taken = node.wait_for(TAKEN.pattern, 120)
    # Every partition that holds instances logs its restore once (the
    # bench's instances fill them all).
    node.wait_for(RESTORED.pattern, 120, count=args.partitions)
    cpu, rss = node.cpu_and_rss()
    lines = node.text().splitlines()
    read = int(taken.group(3)) / 1000
    # The reads began `read` before the bus said it took the partitions;
    # each partition re-arms as soon as its own read is done.
    reading_began = next(stamp(l) for l in lines if TAKEN.search(l)) - read
    last_restored = max(stamp(l) for l in lines if RESTORED.search(l))
    figures = {
        "taken": reading_began - node.began,
        "read": read,
        "recovery": last_restored - reading_began,
        "cpu": cpu,
        "rss": rss,
        "snapshots": int(taken.group(2)),
    }
    wait_running(args, node, args.instances, 120)
    return node, figures


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--meshflow", required=True)
    parser.add_argument("--brokers", required=True)
    parser.add_argument("--instances", type=int, default=100_000)
    parser.add_argument("--partitions", type=int, default=24)
    args = parser.parse_args()
    cluster = f"recovery-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="meshflow-recovery-") as d:
        work = pathlib.Path(d)
        (work / "sleeper.sw.yaml").write_text(SLEEPER)
        with open(work / "inputs.jsonl", "w") as f:
            for n in range(args.instances):
                f.write(f'{{"n": {n}}}\n')
        node = Node(args, cluster, work / "node-first.log")
        client(args, node, "deploy", work / "sleeper.sw.yaml")
        began = time.monotonic()
        client(args, node, "start", "sleeper", "--input", f"@{work / 'inputs.jsonl'}")
        wait_running(args, node, args.instances, 600)
        print(f"recovery_bench: {args.instances} instances started and parked in "
              f"{time.monotonic() - began:.1f} s ({args.partitions} partitions)")
        rows = []
        for how, sig in (("kill -9", signal.SIGKILL), ("SIGTERM", signal.SIGTERM)):
            node.stop(sig)
            node, f = restart(args, cluster, work, how.replace(" ", ""))
            if f["snapshots"] != args.instances:
                raise SystemExit(f"{f['snapshots']} snapshots read, {args.instances} expected")
            rows.append((how, f))
        node.stop(signal.SIGTERM)
    print()
    print("| stopped by | instances | start to partitions assigned | snapshots read | "
          "recovery (read and re-armed) | node CPU then | RSS then |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for how, f in rows:
        print(f"| {how} | {f['snapshots']:,} | {f['taken']:.1f} s | {f['read']:.2f} s | "
              f"{f['recovery']:.2f} s | {f['cpu']:.1f} s | {f['rss']:.0f} MB |")


if __name__ == "__main__":
    main()
