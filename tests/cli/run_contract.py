#!/usr/bin/env python3
"""`meshflow run` as SEMANTICS.md's command-line contract says, and REST
functions against a real local HTTP server (examples/services/services.py):
success, 5xx with retries, timeout, connection refused."""
import argparse
import json
import socket
import sys
import unittest

from run_support import ROOT, ServicesTestCase, run, workdir, write

ARGS = None

WORKFLOW = """
id: rest-paths
version: '1.0'
specVersion: '0.8'
start: Call
functions:
- name: call
  operation: testapi.json#{operation}
errors:
- name: Unavailable
  code: '503'
- name: Timeout
  code: timeout
retries:
- name: quick
  delay: PT0.05S
  maxAttempts: {attempts}
states:
- name: Call
  type: operation
  timeouts:
    actionExecTimeout: PT0.5S
  actions:
  - functionRef:
      refName: call
      arguments: {arguments}
    retryRef: quick
    retryableErrors: [Unavailable]
    actionDataFilter:
      toStateData: ${{ .reply }}
  end: true
"""


class RunContract(ServicesTestCase):
    def rest(self, d, operation, arguments, attempts=3, openapi=None):
        write(d, "testapi.json", openapi or self.services.openapi("testapi"))
        return write(d, "wf.sw.yaml", WORKFLOW.format(operation=operation, attempts=attempts,
                                                      arguments=json.dumps(arguments)))

    def test_rest_success_after_503_retries(self):
        with workdir() as d:
            wf = self.rest(d, "flaky", {"key": "a", "failures": 2})
            r = run(ARGS.meshflow, wf)
            self.assertEqual(r.code, 0, r)
            self.assertEqual(r.output, {"reply": {"calls": 3}})

    def test_rest_503_beyond_max_attempts_faults(self):
        with workdir() as d:
            wf = self.rest(d, "flaky", {"key": "b", "failures": 5}, attempts=2)
            r = run(ARGS.meshflow, wf)
            self.assertEqual(r.code, 1, r)
            self.assertEqual(r.status["status"], "FAULTED")
            self.assertEqual(r.status["error"]["code"], "503")
            self.assertEqual(r.status["error"]["state"], "Call")

    def test_rest_timeout(self):
        with workdir() as d:
            wf = self.rest(d, "slow", {"seconds": 3})
            r = run(ARGS.meshflow, wf)
            self.assertEqual(r.code, 1, r)
            self.assertEqual(r.status["error"]["code"], "timeout")

    def test_rest_connection_refused(self):
        with socket.socket() as s:  # a port nobody listens on
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with workdir() as d:
            doc = self.services.openapi("testapi").replace(str(self.services.port), str(port))
            wf = self.rest(d, "slow", {"seconds": 0}, openapi=doc)
            r = run(ARGS.meshflow, wf)
            self.assertEqual(r.code, 1, r)
            self.assertEqual(r.status["error"]["code"], "connection")

    def test_invalid_input_definition_and_arguments_exit_2(self):
        with workdir() as d:
            wf = self.rest(d, "slow", {"seconds": 0})
            for args in (["--input", "[1, 2]"], ["--input", "{"], ["--input", "@/nonexistent"],
                         ["--timeout", "soon"], ["--event", "@/nonexistent"]):
                r = run(ARGS.meshflow, wf, *args)
                self.assertEqual(r.code, 2, (args, r))
                self.assertIn("meshflow run:", r.stderr)
            bad = write(d, "bad.sw.yaml", "id: x\nspecVersion: '0.8'\nstates: []\n")
            r = run(ARGS.meshflow, bad)
            self.assertEqual(r.code, 2, r)
            self.assertIn("bad.sw.yaml", r.stderr)
            # A dangling reference: an error at deploy, as in `validate`.
            dangling = write(d, "dangling.sw.yaml", """
id: dangling
specVersion: '0.8'
start: A
states:
- name: A
  type: inject
  data: {}
  transition: Nowhere
""")
            r = run(ARGS.meshflow, dangling)
            self.assertEqual(r.code, 2, r)
            self.assertIn("Nowhere", r.stderr)

    def test_a_sync_subflow_that_continues_as_gives_the_last_output(self):
        with workdir() as d:
            parent = write(d, "parent.sw.yaml", """
id: parent
version: '1'
specVersion: '0.8'
start: Call
states:
- name: Call
  type: operation
  actions:
  - subFlowRef: first
    actionDataFilter: {toStateData: '${ .child }'}
  end: true
""")
            first = write(d, "first.sw.yaml", """
id: first
version: '1'
specVersion: '0.8'
start: Count
states:
- name: Count
  type: inject
  data: {round: 1}
  end:
    continueAs: {workflowId: last, data: '${ {round: (.round + 1)} }'}
""")
            last = write(d, "last.sw.yaml", """
id: last
version: '1'
specVersion: '0.8'
start: Done
states:
- {name: Done, type: inject, data: {last: true}, end: true}
""")
            r = run(ARGS.meshflow, parent, "--deploy", first, "--deploy", last)
            self.assertEqual(r.code, 0, r)
            self.assertEqual(r.output, {"child": {"round": 2, "last": True}})

    def test_data_input_schema(self):
        schema = {"type": "object", "required": ["order"],
                  "properties": {"order": {"type": "object", "required": ["id"],
                                           "properties": {"id": {"type": "string"}}}}}
        flow = """
id: checked
specVersion: '0.8'
dataInputSchema: {schema}
start: A
states:
- name: A
  type: inject
  data: {{accepted: true}}
  end: true
"""
        with workdir() as d:
            write(d, "schemas/order.json", json.dumps(schema))
            strict = write(d, "strict.sw.yaml", flow.format(schema="schemas/order.json"))
            r = run(ARGS.meshflow, strict, "--input", '{"order": {"id": "o-1"}}')
            self.assertEqual((r.code, r.output),
                             (0, {"order": {"id": "o-1"}, "accepted": True}), r)
            r = run(ARGS.meshflow, strict, "--input", '{"order": {"id": 7}}')
            self.assertEqual(r.code, 2, r)
            self.assertIn("the input does not satisfy the dataInputSchema", r.stderr)
            self.assertIn("[order][id]", r.stderr)
            r = run(ARGS.meshflow, strict)
            self.assertEqual(r.code, 2, r)
            self.assertIn("order", r.stderr)
            # failOnValidationErrors: false runs it anyway.
            lenient = write(d, "lenient.sw.yaml", flow.format(
                schema="{schema: schemas/order.json, failOnValidationErrors: false}"))
            r = run(ARGS.meshflow, lenient, "--input", '{"order": {"id": 7}}')
            self.assertEqual((r.code, r.output), (0, {"order": {"id": 7}, "accepted": True}), r)
            missing = write(d, "missing.sw.yaml", flow.format(schema="schemas/none.json"))
            r = run(ARGS.meshflow, missing)
            self.assertEqual(r.code, 2, r)
            self.assertIn("dataInputSchema 'schemas/none.json'", r.stderr)
            write(d, "schemas/broken.json", '{"type": 12}')
            broken = write(d, "broken.sw.yaml", flow.format(schema="schemas/broken.json"))
            r = run(ARGS.meshflow, broken)
            self.assertEqual(r.code, 2, r)
            self.assertIn("not a usable JSON Schema", r.stderr)

    def test_payment_saga_compensates_a_failed_shipment(self):
        order = {"order": {"id": "o-1", "address": "", "lines": [
            {"sku": "book", "price": 10, "quantity": 1}]}}
        with workdir() as d:
            for name in ("inventory", "payments", "shipping"):
                write(d, f"{name}.json", self.services.openapi(name))
            saga = (ROOT / "examples" / "payment-saga" / "payment-saga.sw.yaml").read_text()
            wf = write(d, "saga.sw.yaml", saga)
            r = run(ARGS.meshflow, wf, "--input", json.dumps(order))
            self.assertEqual(r.code, 0, r)
            self.assertEqual(r.output["refunded"], "P-o-1")
            self.assertEqual(r.output["released"], "R-o-1")
            self.assertIn("outcome", r.output)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--meshflow", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0], "-v", *rest])
