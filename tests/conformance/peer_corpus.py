#!/usr/bin/python3
"""Serverless Workflow 0.8 files other projects wrote, read by `meshflow validate`.

`<shared>/conformance/peer-0.8/` holds the workflow files of serverlessworkflow/sdk-go, sdk-java
and SonataFlow's examples, with one expectation each in `expect.json` (its README.md says how
they were set). They are about the schema-level reading, `validate --schema-only`: files from
parsers' test suites reference functions and states they do not define, which only a deploy
refuses. Each entry agrees when:

  expect valid         `meshflow validate --schema-only FILE` exits 0 (warnings allowed);
  expect invalid       it exits 1, and an error says why: for a finding of the official schema,
                       an error at, inside or around the path the schema names (naming the
                       property, for a missing one; in the referenced document, for a finding
                       there); for a finding of the specification's text, an error of that
                       kind (SPEC_TEXT_REASONS);
  expect unsupported   it exits 1 with an error naming the field the entry names;
  strict: true         as above, in the deploy-level reading (`validate`, no flag);
  variant add-specVersion   the entry is about a copy of the file with `specVersion: '0.8'`
                       added and nothing else changed (checked: the copy parses to the original
                       plus that member), written into a copy of the file's folder so that its
                       relative references resolve;
  run                  when the definition needs no service (no functions, no events),
                       `meshflow run FILE --input INPUT` exits 0 and prints `expect_output`.

KNOWN_DISAGREEMENTS lists, with the reason for each, the entries meshflow does not meet on
purpose. The test fails when an entry outside that list disagrees, when a listed entry agrees
(the list must stay true), when a listed entry is not in expect.json, or when meshflow crashes
(an exit code other than 0 and 1, a sanitizer report).

For information, it then reads every file expected valid at the deploy level too and counts
how many would deploy, with the most frequent reasons why the others would not.

Usage: peer_corpus.py --meshflow PATH --shared DIR [--verbose]
Exit code: 0 all agree, 1 a disagreement, 2 the harness could not run.
"""

import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import yaml

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "UndefinedBehaviorSanitizer", "Sanitizer:DEADLYSIGNAL")

# (file, variant) -> why meshflow does not meet the expectation. None at present: every
# expectation of the corpus is met. An entry here must disagree, or the test fails.
KNOWN_DISAGREEMENTS = {
}

# Expectations set from the specification's text (`expect_basis: spec text`): the words of
# `why` that name the rule, and what a meshflow error that reports it looks like.
SPEC_TEXT_REASONS = [
    ("jq 1.6 rejects", "a jq expression that does not compile",
     lambda d: "does not compile" in d["message"]),
    ("Schedule Definition", "a start.schedule interval",
     lambda d: d["path"].startswith("start.schedule")),
    ("Retry Definition: jitter", "a retry jitter",
     lambda d: d["path"].endswith(".jitter")),
]


# --------------------------------------------------------------------------- entries

class Entry:
    def __init__(self, raw, root):
        self.raw = raw
        self.file = raw["file"]
        self.variant = raw.get("variant")
        self.expect = raw["expect"]
        self.source = os.path.join(root, self.file)
        self.path = self.source  # what meshflow reads: the file, or its variant copy
        self.deploy_level = bool(raw.get("strict"))
        self.agrees = None
        self.problem = ""
        self.diags = []
        self.rc = None

    def key(self):
        return (self.file, self.variant)

    def name(self):
        return self.file + (" [%s]" % self.variant if self.variant else "")


def parse(path, text):
    return json.loads(text) if path.endswith(".json") else yaml.safe_load(text)


def write_variant(entry, workdir, index):
    """The copy `add-specVersion` describes, in a copy of the file's folder."""
    if entry.variant != "add-specVersion":
        raise SystemExit("peer_corpus: %s: unknown variant %r" % (entry.file, entry.variant))
    folder = os.path.join(workdir, "variant-%03d" % index)
    shutil.copytree(os.path.dirname(entry.source), folder)
    with open(entry.source, encoding="utf-8") as f:
        text = f.read()
    if entry.source.endswith(".json"):
        brace = text.index("{")
        copy = text[:brace + 1] + '\n  "specVersion": "0.8",' + text[brace + 1:]
    else:
        copy = "specVersion: '0.8'\n" + text
    original = parse(entry.source, text)
    if not isinstance(original, dict) or "specVersion" in original or \
            parse(entry.source, copy) != dict(original, specVersion="0.8"):
        raise SystemExit("peer_corpus: %s: cannot add specVersion and change nothing else"
                         % entry.file)
    entry.path = os.path.join(folder, os.path.basename(entry.source))
    with open(entry.path, "w", encoding="utf-8") as f:
        f.write(copy)


# --------------------------------------------------------------------------- meshflow

def validate(meshflow, path, deploy_level):
    """(exit code, diagnostics, crash description or None) of one `meshflow validate`."""
    cmd = [meshflow, "validate", "--format", "json"] + ([] if deploy_level else
                                                        ["--schema-only"]) + [path]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return None, [], "timed out after 120 s"
    marks = [m for m in SANITIZER_MARKS if m in p.stderr]
    if p.returncode not in (0, 1) or marks:
        return p.returncode, [], "exit code %d%s; stderr: %s" % (
            p.returncode, " (%s)" % ", ".join(marks) if marks else "", p.stderr.strip()[-300:])
    try:
        return p.returncode, json.loads(p.stdout), None
    except ValueError:
        return p.returncode, [], "stdout is not JSON: %r" % p.stdout[:200]


def errors_of(diags):
    return [d for d in diags if d.get("severity") == "error"]


# --------------------------------------------------------------------------- reasons

def meshflow_path(schema_path):
    """`states/2/actions/0` as meshflow writes it: `states[2].actions[0]`."""
    out = ""
    for part in schema_path.split("/"):
        if part.isdigit():
            out += "[%s]" % part
        elif part:
            out += ("." if out else "") + part
    return out


def related(path, schema_path):
    """The same place, one inside the other; only the document itself is inside nothing."""
    def inside(a, b):
        return a.startswith(b + ".") or a.startswith(b + "[")
    return path == schema_path or schema_path == "" or inside(path, schema_path) or \
        (path != "" and inside(schema_path, path))


def explains(d, schema_error, workflow_file):
    """Whether meshflow diagnostic `d` reports the schema's finding `schema_error`."""
    m = re.match(r"referenced \w+ document (\S+) ", schema_error)
    if m:
        return os.path.basename(d.get("file", "")) == m.group(1)
    if os.path.realpath(d.get("file", "")) != os.path.realpath(workflow_file):
        return False
    where, _, message = schema_error.partition(": ")
    if not related(d["path"], meshflow_path(where)):
        return False
    # Beyond the place, a missing property must be the one named. An unexpected property
    # need not be: where the schema has a oneOf (the state types, the two kinds of switch),
    # it reports a branch it tried, and a switch state without defaultCondition comes out
    # as "'eventConditions' was unexpected" (the data-based branch).
    m = re.match(r"'([^']+)' is a required property", message)
    if m:
        return "'%s'" % m.group(1) in d["path"] + " " + d["message"]
    return True


def judge(entry):
    """Sets entry.agrees and, when it does not, entry.problem."""
    errors = errors_of(entry.diags)
    want = 0 if entry.expect == "valid" else 1
    if entry.rc != want:
        entry.agrees = False
        entry.problem = "exit code %d, expected %d" % (entry.rc, want)
        return
    entry.agrees = True
    if entry.expect == "valid":
        return
    if entry.expect == "unsupported":
        field = entry.raw["unsupported"]
        if not any(field in d["path"] + d["message"] for d in errors):
            entry.agrees = False
            entry.problem = "no error names '%s'" % field
        return
    schema_errors = entry.raw.get("schema_errors") or []
    if schema_errors:
        if not any(explains(d, s, entry.path) for d in errors for s in schema_errors):
            entry.agrees = False
            entry.problem = "no error reports what the schema found: %s" % "; ".join(
                s[:120] for s in schema_errors)
        return
    if "spec text" in entry.raw.get("expect_basis", ""):
        for words, what, reports in SPEC_TEXT_REASONS:
            if words in entry.raw["why"]:
                if not any(reports(d) for d in errors):
                    entry.agrees = False
                    entry.problem = "no error reports %s" % what
                return
        entry.agrees = False
        entry.problem = "no rule in SPEC_TEXT_REASONS tells this reason: %s" % entry.raw["why"]
    # Otherwise the expectation comes from the peer's own test (an error is what it asserts).


# --------------------------------------------------------------------------- run

def needs_services(path):
    with open(path, encoding="utf-8") as f:
        doc = parse(path, f.read())
    return bool(doc.get("functions")) or bool(doc.get("events"))


def check_run(meshflow, entry):
    """'' when `meshflow run` gives the expected output, else what went wrong."""
    run = entry.raw["run"]
    cmd = [meshflow, "run", entry.path, "--input", json.dumps(run["input"]),
           "--timeout", "PT60S"]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return "meshflow run timed out"
    if p.returncode != 0:
        return "meshflow run exited %d: %s" % (p.returncode, p.stderr.strip()[-300:])
    try:
        output = json.loads(p.stdout)
    except ValueError:
        return "meshflow run printed no JSON: %r" % p.stdout[:200]
    if output != run["expect_output"]:
        return "meshflow run printed %s, expected %s" % (json.dumps(output),
                                                        json.dumps(run["expect_output"]))
    return ""


# --------------------------------------------------------------------------- main

def first_words(message):
    """A message with its names left out, to count reasons."""
    return re.sub(r"'[^']*'", "'...'", message.split(";")[0])[:90]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--meshflow", required=True, help="the meshflow CLI binary")
    ap.add_argument("--shared", required=True, help="the project's shared folder")
    ap.add_argument("--verbose", action="store_true", help="list every entry")
    args = ap.parse_args()

    started = time.monotonic()
    root = os.path.join(args.shared, "conformance", "peer-0.8")
    if not os.access(args.meshflow, os.X_OK):
        print("peer_corpus: %s is not an executable" % args.meshflow, file=sys.stderr)
        return 2
    try:
        with open(os.path.join(root, "expect.json"), encoding="utf-8") as f:
            entries = [Entry(raw, root) for raw in json.load(f)]
    except (OSError, ValueError) as e:
        print("peer_corpus: cannot read %s/expect.json: %s" % (root, e), file=sys.stderr)
        return 2
    if not entries:
        print("peer_corpus: %s/expect.json lists nothing" % root, file=sys.stderr)
        return 2

    failures = []
    keys = {e.key() for e in entries}
    for key in sorted(set(KNOWN_DISAGREEMENTS) - keys, key=str):
        failures.append("KNOWN_DISAGREEMENTS lists %s, which expect.json does not" % (key,))

    workdir = tempfile.mkdtemp(prefix="meshflow-peer-")
    runs = []  # (entry, problem or '' or None when not run)
    deploy = {"files": 0, "deploy": 0, "reasons": collections.Counter()}
    try:
        for i, e in enumerate(entries):
            if not os.path.isfile(e.source):
                e.agrees, e.problem = False, "the file is missing"
                continue
            if e.variant:
                write_variant(e, workdir, i)
            e.rc, e.diags, crash = validate(args.meshflow, e.path, e.deploy_level)
            if crash:
                failures.append("%s: meshflow crashed: %s" % (e.name(), crash))
                e.agrees, e.problem = False, "crashed"
                continue
            judge(e)
            if "run" in e.raw:
                runs.append((e, None if needs_services(e.path) else check_run(args.meshflow, e)))
            if e.expect == "valid" and not e.deploy_level:
                rc, diags, crash = validate(args.meshflow, e.path, True)
                if crash:
                    failures.append("%s: meshflow crashed at deploy level: %s" % (e.name(), crash))
                    continue
                deploy["files"] += 1
                if rc == 0:
                    deploy["deploy"] += 1
                else:
                    deploy["reasons"][first_words(errors_of(diags)[0]["message"])] += 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    agree = [e for e in entries if e.agrees]
    known = [e for e in entries if not e.agrees and e.key() in KNOWN_DISAGREEMENTS]
    for e in entries:
        if e.key() in KNOWN_DISAGREEMENTS and e.agrees:
            failures.append("%s now agrees (expect %s): take it off KNOWN_DISAGREEMENTS" % (
                e.name(), e.expect))
        elif not e.agrees and e.key() not in KNOWN_DISAGREEMENTS and e.problem != "crashed":
            errors = errors_of(e.diags)
            failures.append("%s: expect %s%s: %s%s" % (
                e.name(), e.expect, " (deploy level)" if e.deploy_level else "", e.problem,
                "".join("\n      meshflow: %s: %s" % (d["path"], d["message"][:160])
                        for d in errors[:4])))
        if args.verbose:
            print("%-5s %-11s %s" % ("ok" if e.agrees else "DIFF", e.expect, e.name()))
    for e, problem in runs:
        if problem:
            failures.append("%s: run: %s" % (e.name(), problem))

    by = collections.Counter((e.expect, bool(e.agrees)) for e in entries)
    print("Serverless Workflow 0.8 peer corpus: %d entries (%d files, %d add-specVersion "
          "copies), %.1f s" % (len(entries), len({e.file for e in entries}),
                               sum(1 for e in entries if e.variant),
                               time.monotonic() - started))
    for expect in ("valid", "invalid", "unsupported"):
        print("  expect %-11s %4d agree, %d disagree" % (expect, by[(expect, True)],
                                                       by[(expect, False)]))
    print("  agree: %d of %d; known disagreements: %d" % (len(agree), len(entries), len(known)))
    for e in known:
        print("    %s: %s (%s)" % (e.name(), KNOWN_DISAGREEMENTS[e.key()], e.problem))
    for e, problem in runs:
        print("  run %s: %s" % (e.name(), "not run: it needs services" if problem is None else
                                problem or "output as expected"))
    print("  deploy level, for information: %d of the %d valid entries would deploy; the "
          "others for:" % (deploy["deploy"], deploy["files"]))
    for reason, n in deploy["reasons"].most_common(6):
        print("    %3d  %s" % (n, reason))

    if failures:
        print("\nFAILED (%d):" % len(failures))
        for f in failures:
            print("- " + f)
        return 1
    print("\nOK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
