#!/usr/bin/env python3
# receiver.py - a chat-robot stand-in for the outbox tests (tests/cli_outbox.sh).
#   python3 tests/receiver.py DIR [PORT]
# Listens on PORT (default: a free loopback port), writes it to DIR/port, and appends every
# POST it gets to DIR/requests.jsonl as {"t", "path", "key", "body"} (key =
# X-Nuanyang-Idempotency-Key). Answers 200 {"errcode":0,"errmsg":"ok"} like
# a WeCom robot, except: paths starting /fail get 500; while DIR/delay holds
# a number, each answer waits that many seconds first.
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DIR = sys.argv[1]
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            with open(os.path.join(DIR, "delay")) as f:
                time.sleep(float(f.read().strip() or 0))
        except (OSError, ValueError):
            pass
        rec = {"t": time.time(), "path": self.path,
               "key": self.headers.get("X-Nuanyang-Idempotency-Key"),
               "body": body.decode("utf-8", "replace")}
        with LOCK, open(os.path.join(DIR, "requests.jsonl"), "a") as f:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
        fail = self.path.startswith("/fail")
        out = b'{"error":"boom"}' if fail else b'{"errcode":0,"errmsg":"ok"}'
        try:
            self.send_response(500 if fail else 200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
        except OSError:  # the sender is gone (the test killed it)
            pass

    def log_message(self, *args):
        pass


srv = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2]) if len(sys.argv) > 2 else 0), Handler)
with open(os.path.join(DIR, "port.tmp"), "w") as f:
    f.write(str(srv.server_address[1]))
os.replace(os.path.join(DIR, "port.tmp"), os.path.join(DIR, "port"))
srv.serve_forever()
