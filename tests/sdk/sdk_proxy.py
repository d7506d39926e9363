"""A loopback HTTP proxy in front of the real server that can lose responses.

It forwards each request unchanged (so signatures still verify) and records the headers it saw
and the status the server answered.
With ``lose_responses = n`` it forwards the next ``n`` session uploads, lets the server store
them, and then drops the connection instead of answering: what a device sees when the network
fails on the way back.
"""

from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx


class LossyProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.lose_responses = 0
        self.seen: list[dict[str, str]] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                seen = {"path": self.path, **{k.lower(): v for k, v in headers.items()}}
                seen["body-sha256"] = hashlib.sha256(body).hexdigest()
                proxy.seen.append(seen)
                reply = httpx.request(
                    self.command, proxy.upstream + self.path, content=body, headers=headers
                )
                seen["status"] = str(reply.status_code)
                if self.path.startswith("/api/v1/session") and proxy.lose_responses > 0:
                    proxy.lose_responses -= 1
                    self.close_connection = True
                    self.connection.close()
                    return
                self.send_response(reply.status_code)
                for key, value in reply.headers.items():
                    if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(reply.content)))
                self.end_headers()
                self.wfile.write(reply.content)

            do_GET = _forward  # noqa: N815 - the name http.server dispatches to
            do_POST = _forward  # noqa: N815

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def uploads(self) -> list[dict[str, str]]:
        return [s for s in self.seen if s["path"].startswith("/api/v1/session")]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
