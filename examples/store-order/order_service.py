#!/usr/bin/env python3
"""The order service of the store-order example (orderService.yaml).

Consumes `order.inbound`; answers each order on `order.outbound` with
`{"order": {...the order it received, "status": "accepted"}}`, the trigger's
`workflowinstanceid` copied and the record keyed by it. A trigger without an
order object is answered `{"order": {"status": "rejected", "reason": ...}}`.
Prints `ready` once assigned, a line per order, and on SIGTERM
`orders: N (accepted A, rejected R)`.

    python order_service.py --brokers HOST:PORT
"""
import argparse
import sys

import store_events as se


class OrderService:
    def __init__(self):
        self.accepted = 0
        self.rejected = 0

    def handle(self, event):
        order = se.order_of(event)
        instance = event.get_extension(se.INSTANCE)
        if "id" in order:
            self.accepted += 1
            answer = {**order, "status": "accepted"}
            print(f"order {order['id']}: accepted (instance {instance})", flush=True)
        else:
            self.rejected += 1
            answer = {"status": "rejected", "reason": "the event's data has no order with an id"}
            print(f"order ?: rejected event {event.get_id()} (instance {instance}): "
                  f"{answer['reason']}", flush=True)
        reply = se.reply_to(event, se.ORDER_PROCESSED, {"order": answer}, order.get("id"))
        return [(se.ORDER_OUTBOUND, reply)]

    def summary(self):
        return (f"orders: {self.accepted + self.rejected} "
                f"(accepted {self.accepted}, rejected {self.rejected})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brokers", required=True, help="Kafka bootstrap servers, HOST:PORT[,...]")
    args = parser.parse_args()
    service = OrderService()
    code = se.serve("order", args.brokers, se.ORDER_INBOUND, service.handle,
                    reply_topics=[se.ORDER_OUTBOUND])
    print(service.summary(), flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
