"""POSTing to one HTTP(S) endpoint over a kept-alive connection: the sending code the stream's
webhook sink and the webhook destination share.

One :class:`HttpPoster` per endpoint keeps one connection open and reopens it when the receiver
closed it; every exchange comes back as a :class:`Response` (``status`` 0 with ``error`` when
there was no answer: timeout, refused or reset connection), never as an exception, so the
caller decides what each outcome means (retry, split, dead letter).
"""

from __future__ import annotations

import http.client
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from tidings.core.errors import InvalidInput

MAX_RESPONSE_KEPT = 4096
"""Bytes of a response body kept (for a dead letter's explanation)."""


@dataclass(frozen=True, slots=True)
class Response:
    """What the receiver answered (``status`` 0 when there was no answer)."""

    status: int
    body: bytes
    retry_after: float | None = None
    error: str | None = None

    @property
    def text(self) -> str:
        """The start of the body as text."""
        return self.body[:MAX_RESPONSE_KEPT].decode("utf-8", "replace")


def parse_retry_after(value: str | None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class HttpPoster:
    """POSTs bodies to ``url`` with fixed ``headers`` plus per-request ones."""

    def __init__(self, url: str, *, headers: Mapping[str, str], timeout: float) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInput("url", f"must be an http(s)://host/... address, not {url!r}")
        self.url = url
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.headers = dict(headers)
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None
        self.requests_sent = 0

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def post(self, body: bytes, headers: Mapping[str, str] | None = None) -> Response:
        """One exchange (a kept-alive connection the receiver had closed meanwhile is reopened
        and the request sent again: that is not a failed attempt)."""
        reused = self._conn is not None
        response = self._post_once(body, headers)
        if reused and response.status == 0 and response.error and "timeout" not in response.error:
            response = self._post_once(body, headers)
        return response

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._conn = cls(self._host, self._port, timeout=self.timeout)
        return self._conn

    def _post_once(self, body: bytes, headers: Mapping[str, str] | None) -> Response:
        self.requests_sent += 1
        conn = self._connection()
        all_headers = {**self.headers, **headers} if headers else self.headers
        try:
            conn.request("POST", self._target, body=body, headers=all_headers)
            resp = conn.getresponse()
            data = resp.read()
            retry_after = parse_retry_after(resp.getheader("Retry-After"))
            if resp.getheader("Connection", "").lower() == "close":
                self.close()
            return Response(resp.status, data, retry_after)
        except TimeoutError as exc:
            self.close()
            return Response(0, b"", error=f"timeout: {exc}")
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            return Response(0, b"", error=f"{type(exc).__name__}: {exc}")
