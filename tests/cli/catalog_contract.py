#!/usr/bin/env python3
"""`meshflow catalog register|ls|show` against a `meshflow node`, and deploys
that bind `type: asyncapi` events through the catalog or the documents beside
the workflow: output, exit codes, FILE:LINE:COL diagnostics."""
import argparse
import shutil
import subprocess
import sys
import time
import unittest
from pathlib import Path

from run_support import Node, Reply, workdir, write

ARGS = None
STORE_ORDER = None  # shared/examples/store-order
SEED = ["onlineStoreApp.yaml", "orderService.yaml", "paymentService.yaml",
        "shipmentService.yaml"]

PRODUCES_TO_A_SUBSCRIBE_OPERATION = """
id: wrongway
specVersion: '0.8'
events:
- name: Reply
  type: asyncapi
  kind: produced
  source: file://orderService.yaml#processedOrder
states:
- name: Send
  type: operation
  actions:
  - eventRef: {triggerEventRef: Reply}
  end: true
"""


class NodeTestCase(unittest.TestCase):
    """A node of its own for each test, so that each starts from an empty
    catalog."""

    def setUp(self):
        self.node = Node(ARGS.meshflow, "--quiet")

    def tearDown(self):
        code, log = self.node.stop()
        self.assertEqual(code, 0, log)

    def client(self, *args):
        proc = subprocess.run([ARGS.meshflow, *map(str, args), "--node", self.node.address],
                              capture_output=True, text=True, timeout=120)
        self.assertIn(proc.returncode, (0, 1, 2), proc.stderr)
        return Reply(proc)


class CatalogContract(NodeTestCase):
    def test_register_ls_show(self):
        r = self.client("catalog", "register", *(STORE_ORDER / f for f in SEED))
        self.assertEqual(r.code, 0, r)
        self.assertEqual([s["id"] for s in r.lines],
                         ["Online Store application", "Order Service", "Payment Service",
                          "Shipment Service"])
        self.assertTrue(all(s["replaced"] is False for s in r.lines), r)
        self.assertEqual(r.lines[1]["document"], str(STORE_ORDER / "orderService.yaml"))
        # The seed's unresolvable `$ref`s are warnings, in validate's format.
        self.assertRegex(r.stderr, r"orderService\.yaml:\d+:\d+: warning: "
                                   r"channels\.order/inbound\.publish\.message\.\$ref: ")

        ls = self.client("catalog", "ls")
        self.assertEqual(ls.code, 0, ls)
        self.assertEqual([(s["id"], s["operations"]) for s in ls.lines],
                         [("Online Store application", 1), ("Order Service", 2),
                          ("Payment Service", 2), ("Shipment Service", 1)])

        shown = self.client("catalog", "show", "Order Service")
        self.assertEqual(shown.code, 0, shown)
        ops = [(o["operationId"], o["direction"], o["channel"], o["topic"])
               for o in shown.one["operations"]]
        self.assertEqual(ops, [("sendOrder", "produce", "order/inbound", "order.inbound"),
                               ("processedOrder", "consume", "order/outbound",
                                "order.outbound")])
        self.assertEqual(self.client("catalog", "show", "shipmentService.yaml").one["id"],
                         "Shipment Service")

        again = self.client("catalog", "register", STORE_ORDER / "orderService.yaml")
        self.assertEqual((again.code, again.one["replaced"]), (0, True), again)

    def test_refusals_and_exit_codes(self):
        unknown = self.client("catalog", "show", "Order Servce")
        self.assertEqual(unknown.code, 1, unknown)
        self.assertIn("meshflow catalog show: no service 'Order Servce' in the catalog",
                      unknown.stderr)
        with workdir() as d:
            broken = write(d, "broken.yaml", "asyncapi: 2.6.0\ninfo:\n  title: Broken\n"
                                             "  version: '1'\nchannels:\n  a/b:\n"
                                             "    publish:\n      summary: no id\n")
            r = self.client("catalog", "register", broken)
            self.assertEqual(r.code, 2, r)
            self.assertRegex(r.stderr, r"broken\.yaml:8:\d+: error: channels\.a/b\.publish: "
                                       r"the operation has no 'operationId'")
            r = self.client("catalog", "register", f"{d}/missing.yaml")
            self.assertEqual(r.code, 2, r)
            self.assertIn("missing.yaml", r.stderr)
        self.assertEqual(self.client("catalog", "ls").lines, [])
        usage = subprocess.run([ARGS.meshflow, "catalog"], capture_output=True, text=True)
        self.assertEqual(usage.returncode, 2, usage.stderr)


class DeployThroughTheCatalog(NodeTestCase):
    def test_a_workflow_alone_binds_through_the_registered_documents(self):
        with workdir() as d:
            alone = Path(d) / "storeorderworkflow.sw.yaml"
            shutil.copy(STORE_ORDER / "storeorderworkflow.sw.yaml", alone)
            r = self.client("deploy", alone)
            self.assertEqual(r.code, 2, r)
            self.assertIn("event 'NewOrderEvent': operation 'newStoreOrder' of "
                          "'onlineStoreApp.yaml' is neither in the catalog nor in a file "
                          "beside the workflow", r.stderr)
            self.assertEqual(self.client("catalog", "register",
                                         *(STORE_ORDER / f for f in SEED)).code, 0)
            r = self.client("deploy", alone)
            self.assertEqual((r.code, r.lines), (0, [{"id": "storeorderworkflow",
                                                      "version": "1.0"}]), r)

    def test_documents_beside_the_workflow_are_registered(self):
        r = self.client("deploy", STORE_ORDER / "storeorderworkflow.sw.yaml")
        self.assertEqual(r.code, 0, r)
        # Registered once the deploy is installed; the node says so.
        for _ in range(100):
            ls = self.client("catalog", "ls").lines
            if len(ls) == 4:
                break
            time.sleep(0.05)
        self.assertEqual(sorted(Path(s["document"]).name for s in ls), SEED)
        code, log = self.node.stop()
        self.node = Node(ARGS.meshflow, "--quiet")  # for tearDown
        self.assertEqual(code, 0, log)
        self.assertRegex(log, r"registered .*shipmentService\.yaml in the catalog: workflow "
                              r"'storeorderworkflow' names it")

    def test_an_event_bound_the_wrong_way_is_refused(self):
        self.assertEqual(self.client("catalog", "register",
                                     STORE_ORDER / "orderService.yaml").code, 0)
        with workdir() as d:
            r = self.client("deploy", write(d, "wrongway.sw.yaml",
                                            PRODUCES_TO_A_SUBSCRIBE_OPERATION))
            self.assertEqual(r.code, 2, r)
            self.assertRegex(r.stderr, r"wrongway\.sw\.yaml:\d+:\d+: error: events\[0\]\.source: "
                                       r"event 'Reply': operation 'processedOrder' of "
                                       r"'orderService\.yaml' is a subscribe operation")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--meshflow", required=True)
    parser.add_argument("--shared", required=True)
    ARGS, rest = parser.parse_known_args()
    STORE_ORDER = Path(ARGS.shared).resolve() / "examples" / "store-order"
    unittest.main(argv=[sys.argv[0], "-v", *rest])
