#!/usr/bin/env python3
"""Small REST services for meshflow's examples, demo and tests.

Serves each API's OpenAPI 3 document at /openapi/NAME.json (its servers[0]
pointing back here) and the operations below. Prints `PORT` on its first
line once it listens; runs until SIGTERM or SIGINT.

    python3 services.py [--port N]     (0, the default: a free port)
"""
import argparse
import ast
import json
import operator
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# name -> {operationId: (path, method)}
APIS = {
    "greetingapis": {"greeting": ("/greeting", "post")},
    "mathapis": {"solveExpression": ("/solve", "post")},
    "applicationapi": {"emailRejection": ("/email-rejection", "post")},
    "provisioningapi": {"doProvision": ("/provision", "post")},
    # examples/payment-saga
    "inventory": {"reserve": ("/inventory/reserve", "post"),
                  "release": ("/inventory/release", "post")},
    "payments": {"charge": ("/payments/charge", "post"),
                 "refund": ("/payments/refund", "post")},
    "shipping": {"ship": ("/shipping/ship", "post")},
    # for tests: failures on demand
    "testapi": {"flaky": ("/flaky/{key}", "post"), "slow": ("/slow", "post")},
}

ARITHMETIC = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
              ast.Div: operator.truediv, ast.USub: operator.neg}


def solve(text):
    """Arithmetic only: numbers, + - * / and parentheses."""
    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in ARITHMETIC:
            return ARITHMETIC[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in ARITHMETIC:
            return ARITHMETIC[type(node.op)](ev(node.operand))
        raise ValueError("not arithmetic")
    return ev(ast.parse(text, mode="eval"))


def openapi(name, base):
    paths = {}
    for op_id, (path, method) in APIS[name].items():
        params = [{"name": p.strip("{}"), "in": "path", "required": True,
                   "schema": {"type": "string"}}
                  for p in path.split("/") if p.startswith("{")]
        paths.setdefault(path, {})[method] = {"operationId": op_id, "parameters": params,
                                              "responses": {"200": {"description": "ok"}}}
    return {"openapi": "3.0.3", "info": {"title": name, "version": "1.0"},
            "servers": [{"url": base}], "paths": paths}


class Handler(BaseHTTPRequestHandler):
    flaky_calls = {}
    lock = threading.Lock()

    def log_message(self, *args):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path.startswith("/openapi/") and self.path.endswith(".json"):
            name = self.path[len("/openapi/"):-len(".json")]
            if name in APIS:
                host = self.headers.get("Host", "127.0.0.1")
                return self.reply(200, openapi(name, f"http://{host}"))
        self.reply(404, {"error": f"no {self.path}"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return self.reply(400, {"error": "the body is not JSON"})
        path = self.path.split("?")[0]
        if path == "/greeting":
            return self.reply(200, {"greeting": f"Welcome to Serverless Workflow, {body.get('name')}!"})
        if path == "/solve":
            try:
                return self.reply(200, {"result": solve(str(body.get("expression")))})
            except (ValueError, SyntaxError, ZeroDivisionError) as e:
                return self.reply(400, {"error": str(e)})
        if path == "/email-rejection":
            return self.reply(200, {"rejectionSent": True})
        if path == "/provision":
            order = body.get("order") or {}
            if "id" not in order:
                return self.reply(400, {"error": "Missing order id"})
            return self.reply(200, {"exceptions": {}, "provisioned": order["id"]})
        if path == "/inventory/reserve":
            if sum(l.get("quantity", 0) for l in body.get("lines") or []) > 100:
                return self.reply(409, {"error": "out of stock"})
            return self.reply(200, {"id": f"R-{body.get('orderId')}"})
        if path == "/inventory/release":
            return self.reply(200, {"released": body.get("reservation")})
        if path == "/payments/charge":
            if float(body.get("amount") or 0) > 1000:
                return self.reply(402, {"error": "card declined"})
            return self.reply(200, {"id": f"P-{body.get('orderId')}",
                                    "amount": body.get("amount"),
                                    "currency": body.get("currency")})
        if path == "/payments/refund":
            return self.reply(200, {"refunded": body.get("payment")})
        if path == "/shipping/ship":
            if not body.get("address"):
                return self.reply(503, {"error": "no carrier for an order without address"})
            return self.reply(200, {"id": f"S-{body.get('orderId')}", "carrier": "DHL"})
        if path.startswith("/flaky/"):
            # Fails with 503 as often as `failures` (in the body) says, per key.
            key = path[len("/flaky/"):]
            with self.lock:
                n = self.flaky_calls[key] = self.flaky_calls.get(key, 0) + 1
            if n <= int(body.get("failures", 2)):
                return self.reply(503, {"error": f"try again (call {n})"})
            return self.reply(200, {"calls": n})
        if path == "/slow":
            time.sleep(float(body.get("seconds", 2)))
            return self.reply(200, {"slow": True})
        self.reply(404, {"error": f"no {path}"})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
