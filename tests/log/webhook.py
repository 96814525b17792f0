"""A real loopback webhook receiver for the notify tests: fails a set number of times, or hangs."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Webhook:
    def __init__(self, fail_first: int = 0, status: int = 500, hang: bool = False):
        self.fail_first, self.status, self.hang = fail_first, status, hang
        self.requests: list[dict[str, Any]] = []
        self.release = threading.Event()  # set to let hanging requests finish
        self.received = threading.Event()  # set when a request has been answered
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                hook.requests.append(body)
                if hook.hang:
                    hook.release.wait(10)
                code = hook.status if len(hook.requests) <= hook.fail_first else 200
                self.send_response(code)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
                hook.received.set()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/T000/SECRET-PART"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
