#!/usr/bin/python3
"""`meshflow validate` on hostile inputs: never a crash, always an exit code and a message.

SEMANTICS.md, "Command-line contract": diagnostics never end in a crash; any input, however
broken, gives exit code 1 or 2 and a message, never a signal. Each case below writes a file in
a temporary folder, runs the real binary on it with a time limit, and checks:

  * the exit code is 1 or 2 (not 0, not a signal / negative return code, not a time-out);
    the few cases whose file may well be a valid definition also allow 0;
  * nothing on stderr comes from a sanitizer (AddressSanitizer, LeakSanitizer, UBSan);
  * stdout or stderr names the file;
  * with --format json: the same exit code, and stdout a JSON array naming the file.

Cases marked advisory are reported but never fail the run (behaviour worth a look rather than
a contract: a second YAML document in the file being ignored without a word).

The table gives each case's time and peak memory (VmHWM of the meshflow process).

Then the usage contract (no arguments, unknown subcommand, `validate` without files, unknown
option, `--schema-only` with `--strict`: exit code 2), the diagnostic format,
`FILE:LINE:COL: error|warning: PATH: MESSAGE` and its `--format json` twin, on a small
document with an unknown state property, and the two readings on a document whose transition
names a state that does not exist: by default (and with `--strict`, its old name) an error and
exit code 1, as at deploy; with `--schema-only` a warning and exit code 0, as the schema sees it.

Usage: robustness.py --meshflow PATH [--timeout SECONDS] [--only NAME] [--keep DIR]
Exit code 0 when every case passes, 1 otherwise (the failing cases are named).
"""

import argparse
import json
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import time

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "UndefinedBehaviorSanitizer", "==ERROR:", "Sanitizer:DEADLYSIGNAL")

MB = 1024 * 1024

MINIMAL_STATES = '''states:
  - name: Hello
    type: inject
    data:
      greeting: hi
    end: true
'''


# --------------------------------------------------------------------------- running

class Run:
    def __init__(self, rc, out, err, seconds, peak_kb, timed_out):
        self.rc = rc
        self.out = out
        self.err = err
        self.seconds = seconds
        self.peak_kb = peak_kb
        self.timed_out = timed_out

    def describe_rc(self):
        if self.timed_out:
            return "timed out"
        if self.rc < 0:
            try:
                return "signal %s" % signal.Signals(-self.rc).name
            except ValueError:
                return "signal %d" % -self.rc
        return "exit %d" % self.rc


def run(cmd, timeout, workdir):
    """Runs cmd with stdout/stderr in files; returns a Run with the child's own peak RSS."""
    out_path = os.path.join(workdir, ".stdout")
    err_path = os.path.join(workdir, ".stderr")
    start = time.monotonic()
    with open(out_path, "wb") as out, open(err_path, "wb") as err, \
            open(os.devnull, "rb") as devnull:
        pid = os.fork()
        if pid == 0:  # child
            try:
                os.setpgid(0, 0)
                os.dup2(devnull.fileno(), 0)
                os.dup2(out.fileno(), 1)
                os.dup2(err.fileno(), 2)
                os.chdir(workdir)
                os.execv(cmd[0], cmd)
            finally:
                os._exit(127)
    timed_out = False
    status = None
    usage = None
    polled_kb = 0
    while True:
        wpid, status, usage = os.wait4(pid, os.WNOHANG)
        if wpid == pid:
            break
        polled_kb = max(polled_kb, high_water_kb(pid, cmd[0]))
        if time.monotonic() - start > timeout:
            timed_out = True
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            _, status, usage = os.wait4(pid, 0)
            break
        time.sleep(0.005)
    seconds = time.monotonic() - start
    rc = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    with open(out_path, "rb") as f:
        out_text = f.read().decode("utf-8", "replace")
    with open(err_path, "rb") as f:
        err_text = f.read().decode("utf-8", "replace")
    # ru_maxrss of a forked child also counts the harness's own memory before the exec; the
    # child's VmHWM, sampled every few milliseconds while it runs, does not. It is exact for
    # runs that last, a lower bound for runs of a few milliseconds, and 0 (shown as "-") for
    # runs too short to be sampled.
    return Run(rc, out_text, err_text, seconds, polled_kb, timed_out)


def high_water_kb(pid, exe):
    """The VmHWM of pid once it runs exe (before the exec it is a copy of the harness)."""
    try:
        if os.path.realpath("/proc/%d/exe" % pid) != os.path.realpath(exe):
            return 0
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


# --------------------------------------------------------------------------- hostile files

def nested(open_, close, depth):
    return open_ * depth + close * depth


def billion_laughs(levels, fanout, indent, anchor_prefix):
    """Lines of a YAML mapping whose last entry expands to fanout**levels strings."""
    pad = " " * indent
    lines = ['%s%s0: &%s0 [%s]' % (pad, anchor_prefix, anchor_prefix,
                                   ", ".join(['"lol"'] * fanout))]
    for i in range(1, levels):
        refs = ", ".join(["*%s%d" % (anchor_prefix, i - 1)] * fanout)
        lines.append("%s%s%d: &%s%d [%s]" % (pad, anchor_prefix, i, anchor_prefix, i, refs))
    return "\n".join(lines) + "\n"


BAD_UTF8 = {
    "overlong": b"\xc0\xaf\xe0\x80\xaf",          # overlong '/' in two and three bytes
    "lone-continuation": b"\x80\xbf\x80",          # continuation bytes with no lead byte
    "surrogate": b"\xed\xa0\x80\xed\xbf\xbf",      # UTF-16 surrogates encoded as UTF-8
}


def hostile_files():
    """(name, file name, bytes | None for a special case[, allowed exit codes[, "advisory"]])."""
    rng = random.Random(4242)
    cases = []
    cases.append(("empty-yaml", "empty.sw.yaml", b""))
    cases.append(("empty-json", "empty.sw.json", b""))
    cases.append(("whitespace-only", "blank.sw.yaml", b"  \n\t\n   \r\n\n    "))
    garbage = bytes(rng.randrange(256) for _ in range(64 * 1024))
    garbage = garbage[:100] + b"\x00" * 50 + garbage[100:] + b"\x00"
    cases.append(("binary-garbage", "garbage.sw.yaml", garbage))
    cases.append(("binary-garbage-json", "garbage.sw.json", garbage))
    depth = 100000
    cases.append(("nested-json-arrays", "deep-arrays.sw.json",
                  nested("[", "]", depth).encode()))
    cases.append(("nested-json-objects", "deep-objects.sw.json",
                  ('{"a":' * depth + "1" + "}" * depth).encode()))
    cases.append(("nested-json-in-constants", "deep-constants.sw.json",
                  ('{"id": "x", "specVersion": "0.8", "constants": ' + nested("[", "]", depth) +
                   ', "states": [{"name": "A", "type": "inject", "data": {}, "end": true}]}'
                   ).encode()))
    cases.append(("nested-yaml-flow-sequences", "deep-flow.sw.yaml",
                  nested("[", "]", depth).encode()))
    cases.append(("nested-yaml-flow-mappings", "deep-flow-map.sw.yaml",
                  ("{a: " * depth + "1" + "}" * depth).encode()))
    cases.append(("nested-yaml-block-sequences", "deep-block.sw.yaml",
                  ("- " * depth + "x\n").encode()))
    cases.append(("nested-yaml-block-in-constants", "deep-block-constants.sw.yaml",
                  ('id: x\nspecVersion: "0.8"\nconstants:\n  deep:\n    ' + "- " * depth +
                   "x\n" + MINIMAL_STATES).encode()))
    cases.append(("alias-bomb-in-constants-10x9", "bomb-constants.sw.yaml",
                  ('id: bomb\nspecVersion: "0.8"\nconstants:\n' +
                   billion_laughs(9, 10, 2, "c") + MINIMAL_STATES).encode()))
    cases.append(("alias-bomb-in-constants-10x10", "bomb-constants-10.sw.yaml",
                  ('id: bomb\nspecVersion: "0.8"\nconstants:\n' +
                   billion_laughs(10, 10, 2, "c") + MINIMAL_STATES).encode()))
    # The anchors sit in top-level keys (unknown properties) and `states` is the bomb.
    cases.append(("alias-bomb-at-top-level-as-states", "bomb-top.sw.yaml",
                  ('id: bomb\nspecVersion: "0.8"\n' + billion_laughs(10, 10, 0, "lol") +
                   "states: [" + ", ".join(["*lol9"] * 10) + "]\n").encode()))
    # Only unknown top-level properties hold the bomb: the schema allows unknown top-level
    # properties, so a valid definition (exit 0, warnings) is as right as an error here; what
    # matters is that nothing expands it.
    cases.append(("alias-bomb-in-unknown-top-level-keys", "bomb-unknown.sw.yaml",
                  ('id: bomb\nspecVersion: "0.8"\n' + MINIMAL_STATES +
                   billion_laughs(10, 10, 0, "lol")).encode(), (0, 1, 2)))
    cases.append(("alias-bomb-as-document", "bomb-doc.sw.yaml",
                  ("x: &x0 [" + ", ".join(['"lol"'] * 10) + "]\n" +
                   "".join("x%d: &x%d [%s]\n" % (i, i, ", ".join(["*x%d" % (i - 1)] * 10))
                           for i in range(1, 10)) +
                   "all: [" + ", ".join(["*x9"] * 10) + "]\n").encode()))
    # Made when written (callables), so that the harness does not hold 20 MB when it starts
    # meshflow (the child's peak memory would count it).
    big = 20 * MB
    cases.append(("20MB-json-string", "big-string.sw.json",
                  lambda: ('{"id": "big", "specVersion": "0.8", "description": "' + "a" * big +
                           '", "states": [{"name": "A", "type": "inject", "data": {}, '
                           '"end": true}]}').encode()))
    item = "  - an annotation that is repeated\n"
    cases.append(("20MB-yaml-list", "big-list.sw.yaml",
                  lambda: ('id: big\nspecVersion: "0.8"\nannotations:\n' +
                           item * (big // len(item)) + MINIMAL_STATES).encode()))
    for kind, bad in sorted(BAD_UTF8.items()):
        cases.append(("bad-utf8-%s-in-yaml-key" % kind, "utf8-%s-key.sw.yaml" % kind,
                      b'id: x\nspecVersion: "0.8"\nk' + bad + b': 1\n' + MINIMAL_STATES.encode()))
        cases.append(("bad-utf8-%s-in-yaml-value" % kind, "utf8-%s-value.sw.yaml" % kind,
                      b'id: x\nspecVersion: "0.8"\ndescription: "v' + bad + b'"\n' +
                      MINIMAL_STATES.encode()))
        cases.append(("bad-utf8-%s-in-json-key" % kind, "utf8-%s-key.sw.json" % kind,
                      b'{"id": "x", "specVersion": "0.8", "k' + bad + b'": 1, "states": '
                      b'[{"name": "A", "type": "inject", "data": {}, "end": true}]}'))
        cases.append(("bad-utf8-%s-in-json-value" % kind, "utf8-%s-value.sw.json" % kind,
                      b'{"id": "x", "specVersion": "0.8", "description": "v' + bad + b'", '
                      b'"states": [{"name": "A", "type": "inject", "data": {}, "end": true}]}'))
        cases.append(("bad-utf8-%s-in-state-name" % kind, "utf8-%s-state.sw.yaml" % kind,
                      b'id: x\nspecVersion: "0.8"\nstates:\n  - name: "S' + bad +
                      b'"\n    type: inject\n    data: {}\n    end: true\n'))
    # Escapes that decode to what the UTF-8 check cannot see in the bytes: lone surrogates,
    # and NUL characters (in a key that comes back in a warning, and in a value).
    cases.append(("escaped-surrogates-in-yaml", "escaped-surrogates.sw.yaml",
                  b'id: x\nspecVersion: "0.8"\n"k\\ud800": 1\ndescription: "\\udc00"\n' +
                  MINIMAL_STATES.encode()))
    cases.append(("escaped-surrogates-in-json", "escaped-surrogates.sw.json",
                  b'{"id": "x", "specVersion": "0.8", "k\\ud800": 1, "description": '
                  b'"\\udc00", "states": [{"name": "A", "type": "inject", "data": {}, '
                  b'"end": true}]}'))
    cases.append(("escaped-nul-in-yaml-key-and-value", "escaped-nul.sw.yaml",
                  b'id: x\nspecVersion: "0.8"\n"k\\0": "v\\0"\n' + MINIMAL_STATES.encode(),
                  (0, 1, 2)))
    cases.append(("escaped-nul-in-json-key-and-value", "escaped-nul.sw.json",
                  b'{"id": "x", "specVersion": "0.8", "k\\u0000": "v\\u0000", "states": '
                  b'[{"name": "A\\u0000", "type": "inject", "data": {}, "end": true}]}',
                  (0, 1, 2)))
    cases.append(("directory-as-file", "a-directory.sw.yaml", None))
    cases.append(("nonexistent-file", "does-not-exist.sw.yaml", None))
    cases.append(("yaml-scalar-document", "scalar.sw.yaml", b"just a string\n"))
    cases.append(("yaml-number-document", "number.sw.yaml", b"42\n"))
    cases.append(("json-array-document", "array.sw.json", b'[{"id": "x"}, 1, "two"]\n'))
    cases.append(("json-null-document", "null.sw.json", b"null\n"))
    cases.append(("yaml-null-document", "null.sw.yaml", b"null\n"))
    cases.append(("yaml-tilde-document", "tilde.sw.yaml", b"~\n"))
    # Advisory (reported, never failing the run): two definitions in one file; the second
    # should not vanish without a word.
    cases.append(("yaml-multi-document", "multi.sw.yaml",
                  b'id: a\nspecVersion: "0.8"\n' + MINIMAL_STATES.encode() +
                  b'---\nid: b\nspecVersion: "0.8"\n' + MINIMAL_STATES.encode(),
                  (1, 2), "advisory"))
    cases.append(("yaml-unknown-tag", "tag.sw.yaml",
                  b'!!python/object:os.system\nid: x\n'))
    cases.append(("json-truncated", "truncated.sw.json", b'{"id": "x", "states": [{"name": '))
    normalized = []
    for c in cases:
        name, fname, data = c[:3]
        allowed = c[3] if len(c) > 3 else (1, 2)
        advisory = len(c) > 4 and c[4] == "advisory"
        normalized.append((name, fname, data, allowed, advisory))
    return normalized


def check_hostile(meshflow, workdir, name, fname, data, allowed, timeout):
    path = os.path.join(workdir, fname)
    if name == "directory-as-file":
        os.mkdir(path)
    elif data is not None:
        with open(path, "wb") as f:
            f.write(data() if callable(data) else data)
    r = run([meshflow, "validate", fname], timeout, workdir)
    problems = []
    if r.timed_out or r.rc < 0 or r.rc not in allowed:
        problems.append("expected exit code %s, got %s" % (
            " or ".join(str(c) for c in allowed), r.describe_rc()))
    both = r.out + r.err
    marks = [m for m in SANITIZER_MARKS if m in r.err]
    if marks:
        problems.append("sanitizer report on stderr (%s)" % ", ".join(marks))
    if r.rc != 0 and fname not in both:
        problems.append("no message names the file %r" % fname)
    message = first_line(r.out) or first_line(r.err)

    # The same file with --format json: the same exit code, and stdout a JSON array whose
    # entries name the file (whatever bytes the document holds, the output stays JSON).
    j = run([meshflow, "validate", "--format", "json", fname], timeout, workdir)
    if j.timed_out or j.rc < 0 or j.rc != r.rc:
        problems.append("--format json: exit code %s, but %s without it" % (
            j.describe_rc(), r.describe_rc()))
    marks = [m for m in SANITIZER_MARKS if m in j.err]
    if marks:
        problems.append("--format json: sanitizer report on stderr (%s)" % ", ".join(marks))
    if not j.timed_out and j.rc in (0, 1):
        try:
            arr = json.loads(j.out)
            if not isinstance(arr, list):
                problems.append("--format json: stdout is not a JSON array")
            elif r.rc != 0 and not any(isinstance(d, dict) and d.get("file") == fname
                                       for d in arr):
                problems.append("--format json: no entry names the file %r" % fname)
        except ValueError as e:
            problems.append("--format json: stdout is not JSON (%s): %r" % (e, j.out[:200]))
    # Report the slower and larger of the two runs.
    r.seconds = max(r.seconds, j.seconds)
    r.peak_kb = max(r.peak_kb, j.peak_kb)
    return r, problems, message


def first_line(text):
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


# --------------------------------------------------------------------------- contract

BAD_DOC = '''id: contract
specVersion: "0.8"
states:
  - name: Hello
    type: inject
    bogusProperty: 1
    data:
      greeting: hi
    end: true
'''
BAD_LINE, BAD_COLUMN = 6, 5  # where `bogusProperty` is

LINE_RE = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<column>\d+): (?P<severity>error|warning): "
                     r"(?P<path>[^:]*): (?P<message>.+)$")


def usage_cases():
    return [
        ("usage-no-arguments", []),
        ("usage-unknown-subcommand", ["frobnicate"]),
        ("usage-validate-without-files", ["validate"]),
        ("usage-unknown-option", ["validate", "--no-such-option", "ok.sw.yaml"]),
        ("usage-unknown-format", ["validate", "--format", "xml", "ok.sw.yaml"]),
        ("usage-schema-only-and-strict", ["validate", "--schema-only", "--strict", "ok.sw.yaml"]),
    ]


def check_usage(meshflow, workdir, args, timeout):
    with open(os.path.join(workdir, "ok.sw.yaml"), "w") as f:
        f.write('id: ok\nspecVersion: "0.8"\n' + MINIMAL_STATES)
    r = run([meshflow] + args, timeout, workdir)
    problems = []
    if r.rc != 2:
        problems.append("expected exit code 2, got %s" % r.describe_rc())
    if not (r.out + r.err).strip():
        problems.append("no message")
    return r, problems, first_line(r.err) or first_line(r.out)


def check_text_format(meshflow, workdir, timeout):
    with open(os.path.join(workdir, "contract.sw.yaml"), "w") as f:
        f.write(BAD_DOC)
    r = run([meshflow, "validate", "contract.sw.yaml"], timeout, workdir)
    problems = []
    if r.rc != 1:
        problems.append("expected exit code 1, got %s" % r.describe_rc())
    lines = [l for l in r.out.splitlines() if l.strip()]
    if not lines:
        problems.append("no diagnostic on stdout")
    parsed = []
    for l in lines:
        m = LINE_RE.match(l)
        if not m:
            problems.append("not FILE:LINE:COL: error|warning: PATH: MESSAGE: %r" % l)
            continue
        parsed.append(m.groupdict())
    hits = [d for d in parsed if d["severity"] == "error" and d["file"] == "contract.sw.yaml"
            and d["path"].startswith("states[0]") and "bogusProperty" in d["message"] + d["path"]]
    if parsed and not hits:
        problems.append("no error naming states[0] and 'bogusProperty' in %r" % lines)
    for d in hits:
        if int(d["line"]) != BAD_LINE or int(d["column"]) != BAD_COLUMN:
            problems.append("error at %s:%s, expected %d:%d (the key 'bogusProperty')" % (
                d["line"], d["column"], BAD_LINE, BAD_COLUMN))
    return r, problems, lines[0] if lines else "", parsed


def check_json_format(meshflow, workdir, timeout, text_diags):
    r = run([meshflow, "validate", "--format", "json", "contract.sw.yaml"], timeout, workdir)
    problems = []
    if r.rc != 1:
        problems.append("expected exit code 1, got %s" % r.describe_rc())
    try:
        arr = json.loads(r.out)
    except ValueError as e:
        return r, problems + ["stdout is not JSON (%s): %r" % (e, r.out[:200])], ""
    if not isinstance(arr, list) or not arr:
        return r, problems + ["expected a non-empty JSON array, got %r" % r.out[:200]], ""
    keys = {"file", "line", "column", "severity", "path", "message"}
    for d in arr:
        if not isinstance(d, dict) or set(d) != keys:
            problems.append("an element does not have exactly the keys %s: %r" % (
                sorted(keys), d))
            continue
        if not (isinstance(d["line"], int) and isinstance(d["column"], int)):
            problems.append("line/column are not integers: %r" % d)
        if d["severity"] not in ("error", "warning"):
            problems.append("severity is neither error nor warning: %r" % d)
    as_text = [{"file": d.get("file"), "line": str(d.get("line")), "column": str(d.get("column")),
                "severity": d.get("severity"), "path": d.get("path"),
                "message": d.get("message")} for d in arr if isinstance(d, dict)]
    if text_diags is not None and as_text != text_diags:
        problems.append("the JSON array and the text lines differ:\n  json: %r\n  text: %r" % (
            as_text, text_diags))
    return r, problems, json.dumps(arr[0], sort_keys=True)


MISSPELT_DOC = '''id: misspelt
specVersion: "0.8"
start: Pack
states:
  - name: Pack
    type: inject
    data: {}
    transition: Shipp
  - name: Ship
    type: inject
    data: {}
    end: true
'''
MISSPELT_LINE, MISSPELT_COLUMN = 8, 17  # where `Shipp` is


def reading_cases():
    """(name, extra arguments, expected exit code, expected severity of the finding)."""
    return [
        ("reading-default-is-deploy", [], 1, "error"),
        ("reading-strict-is-the-default", ["--strict"], 1, "error"),
        ("reading-schema-only", ["--schema-only"], 0, "warning"),
    ]


def check_reading(meshflow, workdir, extra, code, severity, timeout):
    """A transition to 'Shipp' when the state is 'Ship': a deploy refuses it."""
    with open(os.path.join(workdir, "misspelt.sw.yaml"), "w") as f:
        f.write(MISSPELT_DOC)
    r = run([meshflow, "validate"] + extra + ["misspelt.sw.yaml"], timeout, workdir)
    problems = []
    if r.rc != code:
        problems.append("expected exit code %d, got %s" % (code, r.describe_rc()))
    lines = [l for l in r.out.splitlines() if l.strip()]
    found = [m.groupdict() for m in map(LINE_RE.match, lines)
             if m and m["path"] == "states[0].transition"]
    if len(found) != 1:
        problems.append("expected one diagnostic at states[0].transition in %r" % lines)
    for d in found:
        if d["severity"] != severity:
            problems.append("expected %s, got %s: %r" % (severity, d["severity"], d))
        if (int(d["line"]), int(d["column"])) != (MISSPELT_LINE, MISSPELT_COLUMN):
            problems.append("at %s:%s, expected %d:%d (the value 'Shipp')" % (
                d["line"], d["column"], MISSPELT_LINE, MISSPELT_COLUMN))
        for words in ("no state named 'Shipp'", "did you mean 'Ship'?"):
            if words not in d["message"]:
                problems.append("the message does not say %r: %r" % (words, d["message"]))
        says_deploy_fails = "deploying this workflow will fail" in d["message"]
        if says_deploy_fails != (severity == "warning"):
            problems.append("a %s %s say that deploying will fail: %r" % (
                severity, "should" if severity == "warning" else "need not", d["message"]))
    return r, problems, found[0]["severity"] + ": " + found[0]["message"] if found else ""


# --------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--meshflow", required=True, help="the meshflow CLI binary")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per case (default 60)")
    ap.add_argument("--only", help="run only the cases whose name contains this")
    ap.add_argument("--keep", help="write the files to this folder and keep them")
    args = ap.parse_args()

    meshflow = os.path.abspath(args.meshflow)
    if not os.access(meshflow, os.X_OK):
        print("robustness: %s is not an executable" % meshflow, file=sys.stderr)
        return 2
    root = args.keep or tempfile.mkdtemp(prefix="meshflow-robustness-")
    os.makedirs(root, exist_ok=True)
    results = []  # (name, Run, problems, message)
    advice = []  # advisory cases that did not behave as hoped: (name, Run, problems)
    started = time.monotonic()

    def wanted(name):
        return not args.only or args.only in name

    try:
        for name, fname, data, allowed, advisory in hostile_files():
            if not wanted(name):
                continue
            workdir = os.path.join(root, name)
            os.makedirs(workdir, exist_ok=True)
            r, problems, message = check_hostile(meshflow, workdir, name, fname, data, allowed,
                                                 args.timeout)
            if advisory and problems and not r.timed_out and r.rc >= 0:
                advice.append((name, r, problems))
                problems = []
            results.append((name, r, problems, message))
            if not args.keep:
                shutil.rmtree(workdir, ignore_errors=True)
        workdir = os.path.join(root, "contract")
        os.makedirs(workdir, exist_ok=True)
        for name, argv in usage_cases():
            if wanted(name):
                r, problems, message = check_usage(meshflow, workdir, argv, args.timeout)
                results.append((name, r, problems, message))
        text_diags = None
        if wanted("format-text"):
            r, problems, message, text_diags = check_text_format(meshflow, workdir, args.timeout)
            results.append(("format-text", r, problems, message))
        if wanted("format-json"):
            if text_diags is None:
                check_text_format(meshflow, workdir, args.timeout)
            r, problems, message = check_json_format(meshflow, workdir, args.timeout, text_diags)
            results.append(("format-json", r, problems, message))
        for name, extra, code, severity in reading_cases():
            if wanted(name):
                r, problems, message = check_reading(meshflow, workdir, extra, code, severity,
                                                     args.timeout)
                results.append((name, r, problems, message))
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)

    failed = [x for x in results if x[2]]
    print("%-40s %-6s %-9s %8s %9s  %s" % ("case", "result", "exit", "seconds", "peak MB",
                                          "message"))
    for name, r, problems, message in results:
        message = "".join(c if c.isprintable() else "\\x%02x" % ord(c) for c in message)
        if len(message) > 110:
            message = message[:107] + "..."
        peak = "%.1f" % (r.peak_kb / 1024.0) if r.peak_kb else "-"
        print("%-40s %-6s %-9s %8.2f %9s  %s" % (name, "FAIL" if problems else "ok",
                                                r.describe_rc(), r.seconds, peak, message))
    for name, r, problems in advice:
        print("\nADVISORY %s (%s; does not fail the run): %s" % (name, r.describe_rc(),
                                                                 "; ".join(problems)))
    if failed:
        print("\nFAILED CASES (%d):" % len(failed))
        for name, r, problems, message in failed:
            print("- %s (%s, %.2f s)" % (name, r.describe_rc(), r.seconds))
            for p in problems:
                print("    %s" % p)
            tail = (r.err.strip() or r.out.strip())[-1500:]
            if tail:
                print("    output (tail):\n      " + tail.replace("\n", "\n      "))
    print("\n%s: %d cases, %d failed, %.1f s" % ("FAILED" if failed else "OK", len(results),
                                                 len(failed), time.monotonic() - started))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
