#!/usr/bin/env python3
"""The shipment service of the store-order example (shipmentService.yaml).

Consumes `shipment.inbound` (fire-and-forget: no reply). Ships each order
once: a shipment is recorded by order id, and an event for an order already
shipped (Kafka delivers at least once; a workflow may also be retried) is
reported as a duplicate and changes nothing. With `--ledger FILE` the
shipments are also appended to FILE (one JSON object a line, synced before
the offsets are committed) and read back at start, so that idempotence
survives a restart; without it they are kept in memory.

Prints `ready` once assigned, then `shipment o-0042: shipped, 3 items
(instance ...)` or `shipment o-0042: duplicate, ignored (instance ...)`,
and on SIGTERM `shipments: S (duplicates ignored: D)`.

    python shipment_service.py --brokers HOST:PORT [--ledger FILE]
"""
import argparse
import json
import os
import sys

import store_events as se


class ShipmentService:
    def __init__(self, ledger=None):
        self.shipped = {}  # order id -> instance id
        self.duplicates = 0
        self.ledger = None
        if ledger:
            if os.path.exists(ledger):
                with open(ledger) as f:
                    for line in f:
                        if line.strip():
                            entry = json.loads(line)
                            self.shipped[entry["order"]] = entry.get("instance")
            self.ledger = open(ledger, "a")

    def handle(self, event):
        order = se.order_of(event)
        instance = event.get_extension(se.INSTANCE)
        order_id = order.get("id")
        if order_id is None:
            se.warn("shipment", f"event {event.get_id()} (instance {instance}) has no order id; "
                    "nothing shipped")
        elif order_id in self.shipped:
            self.duplicates += 1
            print(f"shipment {order_id}: duplicate, ignored (instance {instance})", flush=True)
        else:
            self.shipped[order_id] = instance
            if self.ledger:
                self.ledger.write(json.dumps({"order": order_id, "instance": instance}) + "\n")
                self.ledger.flush()
                os.fsync(self.ledger.fileno())
            items = order.get("items") if isinstance(order.get("items"), list) else []
            print(f"shipment {order_id}: shipped, {len(items)} items (instance {instance})",
                  flush=True)
        return []

    def summary(self):
        return f"shipments: {len(self.shipped)} (duplicates ignored: {self.duplicates})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brokers", required=True, help="Kafka bootstrap servers, HOST:PORT[,...]")
    parser.add_argument("--ledger", help="a file that keeps the shipments across restarts")
    args = parser.parse_args()
    service = ShipmentService(args.ledger)
    code = se.serve("shipment", args.brokers, se.SHIPMENT_INBOUND, service.handle)
    print(service.summary(), flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
