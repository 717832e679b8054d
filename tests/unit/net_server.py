#!/usr/bin/env python3
"""tests/unit/net_server.py - a scriptable HTTP(S) server for the net unit tests.

Owns: answering test_http / test_jellyfin requests from a routes file and
recording every request. Standard library only.

  net_server.py --routes FILE --log FILE --port-file FILE [--cert C --key K]

The routes file is re-read on every request, so a test can change answers
between calls. It is a JSON object keyed by "path?query", "path" or "*"
(first match wins); each value may hold:
  status   HTTP status (default 200)
  body     text body (default "")
  ctype    Content-Type (default application/json; charset=utf-8)
  size     send this many bytes of "x" instead of body
  nolength omit Content-Length (the body ends when the connection closes)
  hang     sleep this many seconds before answering
  headers  extra response headers, an object
Unrouted paths get 404. Every request is appended to the log file as one
JSON line {"method", "path", "headers": {lowercase name: [values]},
"body"} before the answer is sent.
"""

import argparse
import json
import os
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG_LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    server_version = "net-test"
    sys_version = ""

    def log_message(self, fmt, *args):  # keep stderr quiet
        pass

    def _route(self):
        try:
            with open(self.server.routes_file, encoding="utf-8") as f:
                routes = json.load(f)
        except (OSError, ValueError):
            routes = {}
        path_only = self.path.split("?", 1)[0]
        for key in (self.path, path_only, "*"):
            if key in routes:
                return routes[key]
        return {"status": 404, "body": ""}

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        headers = {}
        for name, value in self.headers.items():
            headers.setdefault(name.lower(), []).append(value)
        entry = {
            "method": self.command,
            "path": self.path,
            "headers": headers,
            "body": body.decode("utf-8", "surrogateescape"),
        }
        with LOG_LOCK:
            with open(self.server.log_file, "a", encoding="utf-8",
                      errors="surrogateescape") as f:
                f.write(json.dumps(entry) + "\n")

        r = self._route()
        if r.get("hang"):
            time.sleep(float(r["hang"]))
        status = int(r.get("status", 200))
        if "size" in r:
            data = b"x" * int(r["size"])
        else:
            data = r.get("body", "").encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type",
                             r.get("ctype", "application/json; charset=utf-8"))
            for k, v in r.get("headers", {}).items():
                self.send_header(k, v)
            if not r.get("nolength"):
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            chunk = 65536
            for off in range(0, len(data), chunk):
                self.wfile.write(data[off:off + chunk])
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass

    do_GET = _handle
    do_POST = _handle
    do_DELETE = _handle


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):  # TLS failures are expected
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--routes", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    a = ap.parse_args()

    srv = Server(("127.0.0.1", 0), Handler)
    srv.routes_file = a.routes
    srv.log_file = a.log
    if a.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, a.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
