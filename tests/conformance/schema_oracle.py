#!/usr/bin/python3
"""The official Serverless Workflow 0.8 JSON schema as an oracle for `meshflow validate`.

Takes the JSON examples of the specification (`<shared>/conformance/sw-0.8/examples/*.sw.json`),
derives a few hundred broken and not-so-broken variants of them with a fixed random seed, and
checks for every variant:

    the official schema rejects it  <=>  `meshflow validate --schema-only` reports an error

`--schema-only` is the reading this compares: without it, `validate` also refuses what only a
deploy refuses (references that do not resolve, which several examples contain).

The unmodified examples are kept in the set as controls (the schema accepts them, so meshflow
must report no error; warnings are fine).

Mutation kinds:
  drop          a key removed from an object (top level, states, actions, onErrors, events,
                functions, conditions, filters, timeouts, ...)
  type          a value replaced by one of another JSON type (string <-> number <-> boolean
                <-> object <-> array, or null)
  unknown       an unknown property added to an object (most objects forbid them; a few, such
                as the top level, `subFlowRef` objects and state `timeouts`, allow them)
  state-type    a misspelt state `type` ("Operation", "sleeps", ...)
  enum          a misspelt enum value (actionMode, mode, completionType, invoke,
                onParentComplete, function type, event kind), existing or added
  value         a value of the right type that may break a constraint: an empty string
                (minLength), a negated boolean, 0 / -1 / 0.005 / 1e6 for numbers, a repeated
                array item (uniqueItems), both `id` and `key` at the top level
  empty-array   a non-empty array replaced by []
  exception     documents built on purpose to exercise the documented exceptions below

Where meshflow is deliberately not in agreement with the schema (documented, not compared;
they are listed as "skipped" in the summary with what meshflow said):
  * an action `eventRef` without `resultEventRef`: the schema requires it; meshflow accepts it
    with a warning (fire-and-forget; SEMANTICS / conformance README).
  * schema bug: action `sleep` with both `before` and `after`. The schema's `oneOf` of
    required-before / required-after / required-both matches two branches and so rejects it;
    the specification allows both.
  * schema bug: auth `properties` given as a string (an expression naming a secret). The
    string matches several branches of the schema's `oneOf` and is rejected; the
    specification allows it.
A variant falls under an exception when the official schema rejects it but a copy of the
schema with exactly those three rules relaxed accepts it.

Beyond the schema, the product makes bad ISO 8601 durations, intervals and cron strings
errors: the `value` variants that empty such a string expect an error from meshflow even where
the schema accepts them (the schema puts no minLength on most durations).

Not asserted by the schema and so not part of the comparison: the schema's `format: uri`
annotations (draft-07 formats are not assertions by default, and jsonschema does not check
them unless asked). Values the mutations write where the product checks more than the schema
(jq expressions, ISO 8601 durations, cron strings) are always well-formed, so the extra
checks of meshflow never fire on purpose.

Usage: schema_oracle.py --meshflow PATH --shared DIR [--keep DIR] [--verbose]
Exit code: 0 all agree, 1 a disagreement (or meshflow crashed), 2 the harness could not run.
"""

import argparse
import copy
import glob
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import jsonschema
from jsonschema.exceptions import best_match

SEED = 80808  # fixed: the same mutations on every run
SCHEMA_ROOT_ID = "https://serverlessworkflow.io/schemas/0.8/workflow.json"

# Subtrees whose content is free-form data (function arguments, injected data, event payload,
# constants): mutations touch the value itself but never go inside.
FREEFORM_KEYS = {"arguments", "data", "constants"}

STATE_TYPES = ["sleep", "event", "operation", "parallel", "switch", "inject", "foreach", "callback"]

# Strings written where the product reads more than the schema does: kept well-formed.
DURATION_KEYS = {
    "duration", "delay", "maxDelay", "increment", "actionExecTimeout", "branchExecTimeout",
    "eventTimeout", "stateExecTimeout", "workflowExecTimeout", "resultEventTimeout", "before",
    "after", "single", "total", "jitter",
}
INTERVAL_KEYS = {"interval", "schedule"}
CRON_KEYS = {"cron", "expression"}
EXPRESSION_KEYS = {
    "condition", "inputCollection", "outputCollection", "fromStateData", "results",
    "toStateData", "input", "output", "data",
}
NUMERIC_STRING_KEYS = {"maxAttempts", "multiplier", "batchSize", "numCompleted"}

# Where enum values live: (predicate on the path of the owning object, key, valid values).
ENUM_SLOTS = [
    (lambda p, o: is_state(p) and o.get("type") == "operation", "actionMode",
     ["sequential", "parallel"]),
    (lambda p, o: len(p) >= 2 and p[-2] == "onEvents", "actionMode", ["sequential", "parallel"]),
    (lambda p, o: is_state(p) and o.get("type") == "foreach", "mode", ["sequential", "parallel"]),
    (lambda p, o: is_state(p) and o.get("type") == "parallel", "completionType",
     ["allOf", "atLeast"]),
    (lambda p, o: len(p) == 2 and p[0] == "functions", "type",
     ["rest", "asyncapi", "rpc", "graphql", "odata", "expression", "custom"]),
    (lambda p, o: len(p) == 2 and p[0] == "events", "kind", ["consumed", "produced"]),
    (lambda p, o: p and p[-1] in ("functionRef", "eventRef", "subFlowRef") and
     not (p[-1] == "eventRef" and len(p) >= 2 and p[-2] == "produceEvents"), "invoke",
     ["sync", "async"]),
    (lambda p, o: p and p[-1] == "subFlowRef", "onParentComplete", ["continue", "terminate"]),
]


def is_state(path):
    return len(path) == 2 and path[0] == "states" and isinstance(path[1], int)


# --------------------------------------------------------------------------- paths

def fmt_path(path):
    """meshflow's definition path style: states[2].onErrors[0].transition"""
    out = ""
    for p in path:
        if isinstance(p, int):
            out += "[%d]" % p
        else:
            out += ("." if out else "") + p
    return out or "(document)"


def shape(path):
    return fmt_path(["[]" if isinstance(p, int) else p for p in path]).replace(".[]", "[]")


def get_at(doc, path):
    for p in path:
        doc = doc[p]
    return doc


def set_at(doc, path, value):
    get_at(doc, path[:-1])[path[-1]] = value


def del_at(doc, path):
    del get_at(doc, path[:-1])[path[-1]]


def type_name(v):
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, dict):
        return "object"
    if isinstance(v, list):
        return "array"
    return "null"


def walk(node, path=()):
    """Yields (path, value) for every node outside free-form subtrees."""
    yield list(path), node
    if path and isinstance(path[-1], str) and path[-1] in FREEFORM_KEYS:
        return
    if isinstance(node, dict):
        for k in node:
            yield from walk(node[k], path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, path + (i,))


def owning_key(path):
    """The property name a value sits under (for array items, the array's name)."""
    for p in reversed(path):
        if isinstance(p, str):
            return p
    return ""


# --------------------------------------------------------------------------- schema

def load_store(schema_dir):
    store = {}
    files = glob.glob(os.path.join(schema_dir, "*.json")) + \
        glob.glob(os.path.join(schema_dir, "extensions", "*.json"))
    for f in sorted(files):
        with open(f, encoding="utf-8") as fh:
            s = json.load(fh)
        store[s["$id"]] = s
    if SCHEMA_ROOT_ID not in store:
        raise SystemExit("schema_oracle: %s has no schema with $id %s" % (schema_dir, SCHEMA_ROOT_ID))
    return store


def make_validator(store):
    root = store[SCHEMA_ROOT_ID]
    jsonschema.Draft7Validator.check_schema(root)
    resolver = jsonschema.RefResolver(base_uri=SCHEMA_ROOT_ID, referrer=root, store=store)
    return jsonschema.Draft7Validator(root, resolver=resolver)


def lenient_store(store):
    """The official schema with the three documented disagreements relaxed."""
    s = copy.deepcopy(store)
    wf = s[SCHEMA_ROOT_ID]["definitions"]
    wf["eventref"]["required"] = ["triggerEventRef"]
    wf["sleep"]["anyOf"] = wf["sleep"].pop("oneOf")
    auth = s["https://serverlessworkflow.io/schemas/0.8/auth.json"]["definitions"]["authdef"]
    auth["properties"]["properties"]["anyOf"] = auth["properties"]["properties"].pop("oneOf")
    return s


def schema_property_names(store):
    names = set()

    def visit(n):
        if isinstance(n, dict):
            props = n.get("properties")
            if isinstance(props, dict):
                names.update(props.keys())
            for v in n.values():
                visit(v)
        elif isinstance(n, list):
            for v in n:
                visit(v)
    for s in store.values():
        visit(s)
    return names


def most_relevant(error):
    """Inside an anyOf/oneOf failure, the error of the branch that was meant (for states: the
    branch whose `type` const matched), so that the report names the real problem."""
    while error.context:
        branches = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        meant = [errs for errs in branches.values()
                 if not any(e.validator == "const" or
                            (e.validator == "type" and not e.relative_path) for e in errs)]
        if not meant:
            break
        error = best_match(min(meant, key=len))
    return error


def schema_verdict(validator, doc):
    errors = list(validator.iter_errors(doc))
    if not errors:
        return True, ""
    e = most_relevant(best_match(errors))
    where = fmt_path(list(e.absolute_path))
    msg = e.message
    if e.validator == "oneOf" and "is valid under each of" in msg:
        msg = "matches more than one branch of the oneOf at schema path %s" % (
            "/".join(str(p) for p in e.absolute_schema_path))
    else:
        shown = repr(e.instance)
        if len(shown) > 60 and msg.startswith(shown):
            msg = "(the %s)%s" % (type_name(e.instance), msg[len(shown):])
    if len(msg) > 200:
        msg = msg[:200] + "..."
    return False, "%s: %s" % (where, msg)


# --------------------------------------------------------------------------- mutations

class Mutation:
    def __init__(self, category, example, path, desc, doc):
        self.category = category
        self.example = example
        self.path = path
        self.desc = desc
        self.doc = doc
        self.file = None
        self.schema_ok = None
        self.schema_msg = ""
        self.lenient_ok = None
        self.diags = []
        # True when the variant holds a value meshflow checks beyond the schema (a bad
        # ISO 8601 duration, interval or cron string): meshflow must report an error even
        # where the schema accepts the document.
        self.expect_error = False

    def expected_error(self):
        return self.expect_error or not self.schema_ok


def typed_string(key, old):
    if key in DURATION_KEYS:
        return "PT1S"
    if key in INTERVAL_KEYS:
        return "R/PT1H"
    if key in CRON_KEYS:
        return "0 0 * * *"
    if key in EXPRESSION_KEYS:
        return "${ .x }"
    if isinstance(old, bool):
        return "true" if old else "false"
    if isinstance(old, (int, float)):
        return str(old)
    if key in NUMERIC_STRING_KEYS:
        return "2"
    return "mutated"


def replacements(key, old):
    """Values of other JSON types to put in place of `old`."""
    t = type_name(old)
    s = typed_string(key, old)
    options = {
        "string": [42, True, {"mutated": "x"}, [old], None],
        "number": [s, True, {"mutated": "x"}, [old], None],
        "boolean": [s, 1, {"mutated": "x"}, None],
        "object": [s, 42, [old], None],
        "array": [s, 42, {"mutated": "x"}, None],
    }
    return options.get(t, [])


def misspellings(word, rng, valid):
    cands = []
    if word:
        cands.append(word[0].upper() + word[1:] if word[0].islower() else word.lower())
        cands.append(word + "s")
        if len(word) > 3:
            i = rng.randrange(1, len(word) - 1)
            cands.append(word[:i] + word[i + 1:])          # a letter missing
            j = rng.randrange(0, len(word) - 1)
            cands.append(word[:j] + word[j + 1] + word[j] + word[j + 2:])  # swapped letters
        cands.append(word.upper())
    return [c for c in dict.fromkeys(cands) if c not in valid and c != word]


def generate(examples, rng, known_props):
    """examples: list of (basename, doc). Returns the list of mutations (controls first)."""
    groups = {}  # (category, group key) -> list of (example, path, desc, builder)

    def add(category, group, example, path, desc, build, expect_error=False):
        groups.setdefault((category, group), []).append(
            (example, path, desc, build, expect_error))

    for name, doc in examples:
        for path, node in walk(doc):
            key = owning_key(path)
            # drop
            if isinstance(node, dict) and key not in FREEFORM_KEYS:
                for k in node:
                    p = path + [k]
                    add("drop", shape(p), name, p, "drop %s" % fmt_path(p),
                        lambda d, p=p: del_at(d, p))
            # type swaps (not on the document itself)
            if path and node is not None:
                for r in replacements(key, node):
                    add("type", "%s:%s" % (shape(path), type_name(node)), name, path,
                        "%s %s -> %s %s" % (fmt_path(path), type_name(node), type_name(r),
                                            json.dumps(r)[:40]),
                        lambda d, p=path, r=r: set_at(d, p, copy.deepcopy(r)))
            # unknown property
            if isinstance(node, dict) and key not in FREEFORM_KEYS:
                names = ["bogusProperty"]
                for k in sorted(node):
                    for m in (k + "s", k[:-1] if len(k) > 3 else k + "x", k + "Ref"):
                        if m not in known_props and m not in node:
                            names.append(m)
                            break
                for u in names[:3]:
                    p = path + [u]
                    add("unknown", shape(path), name, p, "add unknown %s" % fmt_path(p),
                        lambda d, p=p: set_at(d, p, "x"))
            # values of the right type that the schema may still refuse
            if isinstance(node, str) and path:
                # An empty duration, interval or cron string is an error of meshflow whatever
                # the schema says (product rule): such variants must give an error.
                timing = key in DURATION_KEYS | INTERVAL_KEYS | CRON_KEYS
                add("value", shape(path) + ":empty-string", name, path,
                    "%s %r -> ''%s" % (fmt_path(path), node[:30],
                                       " (not a valid duration/interval/cron: meshflow must "
                                       "report an error)" if timing else ""),
                    lambda d, p=path: set_at(d, p, ""),
                    expect_error=timing)
            if isinstance(node, bool) and path:
                add("value", shape(path) + ":negated", name, path,
                    "%s %s -> %s" % (fmt_path(path), json.dumps(node), json.dumps(not node)),
                    lambda d, p=path, v=not node: set_at(d, p, v))
            elif isinstance(node, (int, float)) and path:
                for v in (0, -1, 0.005, 1000000):
                    add("value", shape(path) + ":number", name, path,
                        "%s %s -> %s" % (fmt_path(path), json.dumps(node), json.dumps(v)),
                        lambda d, p=path, v=v: set_at(d, p, v))
            if isinstance(node, list) and node and isinstance(node[0], str):
                add("value", shape(path) + ":duplicate", name, path,
                    "%s: first item repeated" % fmt_path(path),
                    lambda d, p=path: get_at(d, p).append(get_at(d, p)[0]))
            if not path:
                other = "key" if "id" in node else "id"
                add("value", "(document):id+key", name, [other],
                    "add %s beside %s" % (other, "id" if other == "key" else "key"),
                    lambda d, o=other: d.__setitem__(o, "someidentifier"))
            # empty array
            if isinstance(node, list) and node and key not in FREEFORM_KEYS:
                add("empty-array", shape(path), name, path, "%s -> []" % fmt_path(path),
                    lambda d, p=path: set_at(d, p, []))
            # misspelt state type
            if is_state(path) and isinstance(node, dict) and isinstance(node.get("type"), str):
                for m in misspellings(node["type"], rng, STATE_TYPES):
                    p = path + ["type"]
                    add("state-type", node["type"], name, p,
                        "%s %r -> %r" % (fmt_path(p), node["type"], m),
                        lambda d, p=p, m=m: set_at(d, p, m))
            # misspelt enum values, existing or added
            if isinstance(node, dict):
                for pred, k, valid in ENUM_SLOTS:
                    if not pred(path, node):
                        continue
                    base = node.get(k) if isinstance(node.get(k), str) else rng.choice(valid)
                    for m in misspellings(base, rng, valid):
                        p = path + [k]
                        add("enum", "%s:%s" % (shape(p), "set" if k in node else "added"),
                            name, p, "%s %s -> %r" % (fmt_path(p),
                                                     repr(node[k]) if k in node else "(absent)",
                                                     m),
                            lambda d, p=p, m=m: set_at(d, p, m))

    # How many variants to take from each group (a group: one kind of place in a document).
    per_group = {"drop": 2, "type": 2, "unknown": 2, "empty-array": 1, "state-type": 4,
                 "enum": 2, "value": 1}
    out = []
    for (category, group) in sorted(groups):
        cands = groups[(category, group)]
        n = min(per_group[category], len(cands))
        for example, path, desc, build, expect_error in rng.sample(cands, n):
            doc = copy.deepcopy(dict(examples)[example])
            build(doc)
            m = Mutation(category, example, fmt_path(path), desc, doc)
            m.expect_error = expect_error
            out.append(m)
    return out


def exception_cases(examples):
    """Documents that exercise the three documented disagreements with the schema."""
    out = []
    by_name = dict(examples)

    def first_action(doc):
        for si, s in enumerate(doc.get("states", [])):
            for ai, a in enumerate(s.get("actions", []) or []):
                if "functionRef" in a:
                    return ["states", si, "actions", ai], a
        return None, None

    for name in sorted(by_name):
        doc = copy.deepcopy(by_name[name])
        path, action = first_action(doc)
        if action is not None:
            action["sleep"] = {"before": "PT1S", "after": "PT2S"}
            out.append(Mutation("exception", name, fmt_path(path + ["sleep"]),
                                "action sleep with both before and after", doc))
            break
    for name in sorted(by_name):
        doc = copy.deepcopy(by_name[name])
        if isinstance(doc.get("functions"), list):
            doc["auth"] = [{"name": "secretauth", "scheme": "bearer",
                            "properties": "${ $SECRETS.token }"}]
            doc["functions"][0]["authRef"] = "secretauth"
            out.append(Mutation("exception", name, "auth[0].properties",
                                "auth properties given as a string", doc))
            break
    for name in sorted(by_name):
        doc = copy.deepcopy(by_name[name])
        for path, node in walk(doc):
            if (path and path[-1] == "eventRef" and isinstance(node, dict)
                    and "resultEventRef" in node):
                del node["resultEventRef"]
                out.append(Mutation("exception", name, fmt_path(path + ["resultEventRef"]),
                                    "eventRef without resultEventRef", doc))
                return out
    return out


# --------------------------------------------------------------------------- meshflow

def run_meshflow(meshflow, files, timeout):
    cmd = [meshflow, "validate", "--schema-only", "--format", "json"] + files
    p = subprocess.run(cmd, capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def meshflow_diagnostics(meshflow, files, timeout, log):
    """{realpath: [diagnostic]} for all files, plus a list of crashes (file, description)."""
    by_file = {os.path.realpath(f): [] for f in files}
    stray = []
    crashes = []

    def collect(stdout):
        diags = json.loads(stdout)
        for d in diags:
            rp = os.path.realpath(d.get("file", ""))
            (by_file[rp] if rp in by_file else stray).append(d)

    try:
        rc, out, err = run_meshflow(meshflow, files, timeout)
        if rc not in (0, 1):
            raise RuntimeError("exit code %d; stderr: %s" % (rc, err.strip()[-500:]))
        if "ERROR: AddressSanitizer" in err or "runtime error:" in err:
            raise RuntimeError("sanitizer report: %s" % err.strip()[-500:])
        collect(out)
        return by_file, stray, crashes
    except (RuntimeError, ValueError, subprocess.TimeoutExpired) as e:
        log("batched `meshflow validate` failed (%s); validating the files one by one" % e)
    for f in files:
        by_file[os.path.realpath(f)] = []
        try:
            rc, out, err = run_meshflow(meshflow, [f], 60)
        except subprocess.TimeoutExpired:
            crashes.append((f, "timed out after 60 s"))
            continue
        if rc not in (0, 1) or "ERROR: AddressSanitizer" in err or "runtime error:" in err:
            what = ("signal %s" % signal.Signals(-rc).name) if rc < 0 else "exit code %d" % rc
            crashes.append((f, "%s; stderr: %s" % (what, err.strip()[-300:])))
            continue
        try:
            collect(out)
        except ValueError:
            crashes.append((f, "stdout is not a JSON array: %r" % out[:200]))
    return by_file, stray, crashes


def summarize_diags(diags, severity, limit=3):
    sel = [d for d in diags if d.get("severity") == severity]
    parts = ["%s: %s" % (d.get("path", ""), d.get("message", "")) for d in sel[:limit]]
    if len(sel) > limit:
        parts.append("... (%d more)" % (len(sel) - limit))
    return parts


# --------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--meshflow", required=True, help="the meshflow CLI binary")
    ap.add_argument("--shared", required=True, help="the project's shared folder")
    ap.add_argument("--keep", help="write the mutated documents to this folder and keep them")
    ap.add_argument("--verbose", action="store_true", help="list every mutation")
    args = ap.parse_args()

    started = time.monotonic()
    conf = os.path.join(args.shared, "conformance", "sw-0.8")
    schema_dir = os.path.join(conf, "schema")
    examples_dir = os.path.join(conf, "examples")
    if not os.access(args.meshflow, os.X_OK):
        print("schema_oracle: %s is not an executable" % args.meshflow, file=sys.stderr)
        return 2
    store = load_store(schema_dir)
    official = make_validator(store)
    lenient = make_validator(lenient_store(store))
    known_props = schema_property_names(store)

    examples = []
    rejected_originals = []
    for f in sorted(glob.glob(os.path.join(examples_dir, "*.sw.json"))):
        with open(f, encoding="utf-8") as fh:
            doc = json.load(fh)
        ok, msg = schema_verdict(official, doc)
        if ok:
            examples.append((os.path.basename(f), doc))
        else:
            rejected_originals.append((os.path.basename(f), msg))
    if not examples:
        print("schema_oracle: no example the schema accepts in %s" % examples_dir, file=sys.stderr)
        return 2

    rng = random.Random(SEED)
    cases = [Mutation("control", n, "(document)", "unmodified example", copy.deepcopy(d))
             for n, d in examples]
    cases += generate(examples, rng, known_props)
    cases += exception_cases(examples)

    workdir = args.keep or tempfile.mkdtemp(prefix="meshflow-oracle-")
    os.makedirs(workdir, exist_ok=True)
    try:
        # The files examples refer to by relative path (functiondefs.json, eventdefs.yml).
        for f in sorted(os.listdir(examples_dir)):
            if ".sw." not in f:
                shutil.copy(os.path.join(examples_dir, f), os.path.join(workdir, f))
        files = []
        for i, c in enumerate(cases):
            c.file = os.path.join(os.path.abspath(workdir), "%04d-%s-%s" % (i, c.category, c.example))
            with open(c.file, "w", encoding="utf-8") as fh:
                json.dump(c.doc, fh, indent=2, ensure_ascii=False)
                fh.write("\n")
            files.append(c.file)
            c.schema_ok, c.schema_msg = schema_verdict(official, c.doc)
            c.lenient_ok, _ = schema_verdict(lenient, c.doc)
        t0 = time.monotonic()
        by_file, stray, crashes = meshflow_diagnostics(args.meshflow, files, 300, print)
        meshflow_seconds = time.monotonic() - t0
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    crashed = {os.path.realpath(f): why for f, why in crashes}
    for c in cases:
        c.diags = by_file.get(os.path.realpath(c.file), [])

    # ---- verdicts
    categories = ["control", "drop", "type", "unknown", "state-type", "enum", "value",
                  "empty-array", "exception"]
    stats = {k: dict(total=0, rejects=0, agree=0, disagree=0, skipped=0, crashed=0)
             for k in categories}
    disagreements = []
    skipped = []
    for c in cases:
        st = stats[c.category]
        st["total"] += 1
        rp = os.path.realpath(c.file)
        mesh_error = any(d.get("severity") == "error" for d in c.diags)
        if not c.schema_ok:
            st["rejects"] += 1
        if rp in crashed:
            st["crashed"] += 1
            disagreements.append((c, "meshflow crashed: " + crashed[rp]))
            continue
        if not c.schema_ok and c.lenient_ok:
            st["skipped"] += 1
            skipped.append((c, mesh_error))
            continue
        if c.expected_error() == mesh_error:
            st["agree"] += 1
        else:
            st["disagree"] += 1
            disagreements.append((c, None))
        if args.verbose:
            print("%-5s %-11s %-48s %-9s %-9s %s" % (
                "ok" if c.expected_error() == mesh_error else "DIFF", c.category, c.example,
                "accepts" if c.schema_ok else "rejects", "error" if mesh_error else "no error",
                c.desc))

    # ---- report
    print("Serverless Workflow 0.8 schema oracle (seed %d): %d examples, %d documents, "
          "meshflow took %.1f s" % (SEED, len(examples), len(cases), meshflow_seconds))
    for name, msg in rejected_originals:
        print("  example %s: the schema itself rejects it (%s); not mutated" % (name, msg))
    print()
    print("%-12s %6s %15s %7s %9s %8s %8s" % ("category", "total", "schema rejects", "agree",
                                             "disagree", "skipped", "crashed"))
    tot = dict(total=0, rejects=0, agree=0, disagree=0, skipped=0, crashed=0)
    for k in categories:
        st = stats[k]
        for f in tot:
            tot[f] += st[f]
        print("%-12s %6d %15d %7d %9d %8d %8d" % (k, st["total"], st["rejects"], st["agree"],
                                                 st["disagree"], st["skipped"], st["crashed"]))
    print("%-12s %6d %15d %7d %9d %8d %8d" % ("all", tot["total"], tot["rejects"], tot["agree"],
                                             tot["disagree"], tot["skipped"], tot["crashed"]))

    if skipped:
        print("\nSkipped, documented disagreements with the schema (not compared):")
        for c, mesh_error in skipped:
            print("  %s  %s: %s -- schema rejects (%s); meshflow: %s" % (
                os.path.basename(c.file), c.example, c.desc, c.schema_msg,
                "error" if mesh_error else "no error"))

    if stray:
        print("\nDiagnostics about files other than the documents given (informational):")
        for d in stray[:10]:
            print("  %s:%s:%s: %s: %s: %s" % (d.get("file"), d.get("line"), d.get("column"),
                                              d.get("severity"), d.get("path"), d.get("message")))

    if disagreements:
        print("\nDISAGREEMENTS (%d):" % len(disagreements))
        for c, crash in disagreements:
            print("- %s [%s] %s" % (os.path.basename(c.file), c.category, c.example))
            print("    mutated:  %s   (%s)" % (c.path, c.desc))
            if crash:
                print("    schema:   %s" % ("accepts" if c.schema_ok else "rejects: " + c.schema_msg))
                print("    %s" % crash)
                continue
            if c.schema_ok and c.expect_error:
                print("    schema:   accepts, but the value is not a valid duration/interval/cron")
                warns = summarize_diags(c.diags, "warning")
                print("    meshflow: no error%s" % (" (warnings:)" if warns else ""))
                for line in warns:
                    print("                %s" % line)
            elif c.schema_ok:
                print("    schema:   accepts")
                print("    meshflow: error(s):")
                for line in summarize_diags(c.diags, "error"):
                    print("                %s" % line)
            else:
                print("    schema:   rejects: %s" % c.schema_msg)
                warns = summarize_diags(c.diags, "warning")
                print("    meshflow: no error%s" % (" (warnings:)" if warns else ""))
                for line in warns:
                    print("                %s" % line)
        if args.keep:
            print("\nThe documents are in %s" % workdir)
    print("\n%s in %.1f s" % ("FAILED: %d disagreement(s)" % len(disagreements)
                              if disagreements else "OK: meshflow agrees with the schema",
                              time.monotonic() - started))
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
