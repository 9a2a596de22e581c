#!/usr/bin/env python3
"""The payment service of the store-order example (paymentService.yaml).

Consumes `payment.inbound`; answers each order on `payment.outbound` with a
receipt, the trigger's `workflowinstanceid` copied and the record keyed by it:

    {"payment": {"status": "success", "orderId": "o-0042", "amount": 120.5}}
    {"payment": {"status": "denied", "orderId": "o-0043", "amount": 912.0,
                 "reason": "the amount 912.00 is over the limit 500.00"}}

The rule: an order whose `amount` is over `--limit` (500 by default) is
denied, and so is one without a numeric amount; every other is paid. The
workflow's switch reads `.payment.status`. Prints `ready` once assigned, a
line per receipt, and on SIGTERM `receipts: N (success S, denied D)`.

    python payment_service.py --brokers HOST:PORT [--limit 500]
"""
import argparse
import sys

import store_events as se


class PaymentService:
    def __init__(self, limit):
        self.limit = limit
        self.paid = 0
        self.denied = 0

    def decide(self, order):
        """(status, reason): the payment rule."""
        amount = order.get("amount")
        if not isinstance(amount, (int, float)) or isinstance(amount, bool):
            return "denied", "the order has no numeric amount"
        if amount > self.limit:
            return "denied", f"the amount {amount:.2f} is over the limit {self.limit:.2f}"
        return "success", None

    def handle(self, event):
        order = se.order_of(event)
        status, reason = self.decide(order)
        receipt = {"status": status, "orderId": order.get("id"), "amount": order.get("amount")}
        if reason:
            receipt["reason"] = reason
        if status == "success":
            self.paid += 1
        else:
            self.denied += 1
        print(f"payment {order.get('id', '?')}: {status}" + (f" ({reason})" if reason else ""),
              flush=True)
        reply = se.reply_to(event, se.PAYMENT_RECEIPT, {"payment": receipt}, order.get("id"))
        return [(se.PAYMENT_OUTBOUND, reply)]

    def summary(self):
        return f"receipts: {self.paid + self.denied} (success {self.paid}, denied {self.denied})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brokers", required=True, help="Kafka bootstrap servers, HOST:PORT[,...]")
    parser.add_argument("--limit", type=float, default=500.0,
                        help="orders whose amount is over this are denied (default 500)")
    args = parser.parse_args()
    service = PaymentService(args.limit)
    code = se.serve("payment", args.brokers, se.PAYMENT_INBOUND, service.handle,
                    reply_topics=[se.PAYMENT_OUTBOUND])
    print(service.summary(), flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
