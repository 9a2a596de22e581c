#!/usr/bin/env python3
"""Benchmarks through the `meshflow` binary, as users run it; prints a table.

  (c)  `meshflow run` of Hello World, process start to exit
  (d)  `meshflow run` of a ForEach whose one action is an expression
       function, over 5,000 ... 100,000 items (time and peak RSS: linear)
  (e)  one bulk start (`meshflow start ID --input @FILE`, JSON Lines) of N
       instances (default 1,000,000) of a workflow that parks on an Event
       state, on a `meshflow node`: starts/s over the whole file, and the
       node's RSS growth per parked instance
  (f)  `meshflow start hello --input @FILE --wait` of 20,000 instances of
       Hello World: instances started and waited for per second

usage: bench/cli_bench.py BUILD_DIR [--instances N]
"""
import argparse
import json
import pathlib
import re
import resource
import subprocess
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]

FOREACH = """
id: squares
version: '1'
specVersion: '0.8'
functions:
  - {name: square, type: expression, operation: '.n * .n'}
start: Each
states:
  - name: Each
    type: foreach
    inputCollection: '${ .numbers }'
    iterationParam: n
    outputCollection: '${ .squares }'
    actions: [{functionRef: square}]
    end: true
"""

PARKED = """
id: parked
version: '1'
specVersion: '0.8'
start: Wait
events:
  - {name: Go, type: com.example.go, source: /bench}
states:
  - {name: Wait, type: event, onEvents: [{eventRefs: [Go]}], end: true}
"""


def timed(cmd):
    """Wall time and the child's peak RSS (KB) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    elapsed = time.perf_counter() - t
    return elapsed, max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)


def rss_kb(pid):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def hello(meshflow):
    file = ROOT / "examples/hello/hello.sw.yaml"
    times = sorted(timed([meshflow, "run", file])[0] for _ in range(20))
    print(f"| (c) `meshflow run` Hello World | median {times[10]*1000:.1f} ms, "
          f"best {times[0]*1000:.1f} ms |")


def foreach(meshflow, d):
    flow = d / "squares.sw.yaml"
    flow.write_text(FOREACH)
    for n in (5_000, 10_000, 20_000, 100_000):
        data = d / f"numbers-{n}.json"
        data.write_text(json.dumps({"numbers": list(range(n))}))
        # A fresh process per size: ru_maxrss of children is the largest so far.
        out = subprocess.run(["/usr/bin/time", "-f", "%e %M", meshflow, "run", flow, "--input",
                              f"@{data}", "--json-max-bytes", "16777216"],
                             capture_output=True, text=True, check=True)
        seconds, kb = out.stderr.split()[-2:]
        print(f"| (d) ForEach of an expression function, {n:,} items | {float(seconds):.2f} s, "
              f"peak RSS {int(kb) / 1024:.0f} MB |")


def json_lines(path, n):
    with path.open("w") as f:
        for k in range(n):
            f.write(f'{{"n":{k}}}\n')
    return path


def start_node(meshflow):
    node = subprocess.Popen([meshflow, "node", "--port", "0", "--quiet"],
                            stderr=subprocess.PIPE, text=True)
    for line in node.stderr:
        m = re.search(r"listening on (127\.0\.0\.1:\d+)", line)
        if m:
            return node, m.group(1)
    raise RuntimeError("the node did not start")


def bulk_start(meshflow, d, n):
    flow = d / "parked.sw.yaml"
    flow.write_text(PARKED)
    inputs = json_lines(d / "inputs.jsonl", n)
    node, address = start_node(meshflow)
    try:
        subprocess.run([meshflow, "deploy", flow, "--node", address], check=True,
                       capture_output=True)
        idle = rss_kb(node.pid)
        t = time.perf_counter()
        started = subprocess.run([meshflow, "start", "parked", "--input", f"@{inputs}",
                                  "--node", address], check=True, capture_output=True, text=True)
        elapsed = time.perf_counter() - t
        assert started.stdout.count("\n") == n, "not every instance started"
        grown = (rss_kb(node.pid) - idle) * 1024
        print(f"| (e) bulk start of {n:,} parked instances on a node | {n / elapsed:,.0f} "
              f"starts/s ({elapsed:.1f} s), {grown / n:.0f} B RSS per parked instance |")
    finally:
        node.terminate()
        node.wait(timeout=60)


def start_and_wait(meshflow, d, n=20_000):
    inputs = json_lines(d / "hello.jsonl", n)
    node, address = start_node(meshflow)
    try:
        subprocess.run([meshflow, "deploy", ROOT / "examples/hello/hello.sw.yaml", "--node",
                        address], check=True, capture_output=True)
        t = time.perf_counter()
        done = subprocess.run([meshflow, "start", "hello", "--input", f"@{inputs}", "--wait",
                               "--node", address], check=True, capture_output=True, text=True)
        elapsed = time.perf_counter() - t
        assert done.stdout.count('"COMPLETED"') == n, "not every instance completed"
        print(f"| (f) `start --input @FILE --wait` of {n:,} Hello World instances | "
              f"{n / elapsed:,.0f} instances/s |")
    finally:
        node.terminate()
        node.wait(timeout=60)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("build")
    parser.add_argument("--instances", type=int, default=1_000_000)
    args = parser.parse_args()
    meshflow = str(pathlib.Path(args.build) / "cli" / "meshflow")
    print("| measurement | result |\n| --- | --- |")
    with tempfile.TemporaryDirectory(prefix="meshflow-bench-") as tmp:
        d = pathlib.Path(tmp)
        hello(meshflow)
        foreach(meshflow, d)
        bulk_start(meshflow, d, args.instances)
        start_and_wait(meshflow, d)


if __name__ == "__main__":
    main()
