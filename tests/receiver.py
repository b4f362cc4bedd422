"""A real webhook receiver on 127.0.0.1: a threaded http.server that answers a scripted list of statuses."""
from __future__ import annotations

import hashlib
import hmac
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """Records every POST (headers and raw body); answers `statuses` in turn, then the last one forever."""

    def __init__(self, statuses=(200,)):
        self.statuses = list(statuses)
        self.hits: list[dict] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    receiver.hits.append({"headers": dict(self.headers), "body": body, "path": self.path})
                    index = min(len(receiver.hits), len(receiver.statuses)) - 1
                    status = receiver.statuses[index]
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path="/hook", host="127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def wait_for_hits(self, count: int, timeout: float) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.hits) >= count:
                return self.hits
            time.sleep(0.1)
        raise AssertionError(f"the receiver got {len(self.hits)} of {count} POSTs in {timeout} s")


def verify(hit: dict, secret: str, max_age: float = 300) -> bool:
    """What a receiver does (the README's example): signature over "<timestamp>.<body>", fresh timestamp."""
    timestamp = hit["headers"]["X-Avatar-Timestamp"]
    expected = "sha256=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + hit["body"], hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, hit["headers"]["X-Avatar-Signature"]) and \
        abs(time.time() - int(timestamp)) < max_age
