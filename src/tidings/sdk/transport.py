"""The network side: server clock, signed uploads, config fetches and the retry policy.

Everything here runs on the worker thread and never holds the client's lock while a request is in
flight, so ``track()`` is never slowed down by the network.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

import httpx
import orjson

from tidings.core.backoff import Backoff
from tidings.sdk.config import ClientConfig
from tidings.sdk.signing import signed_headers

log = logging.getLogger("tidings.sdk")

SESSION_PATH: Final = "/api/v1/session"
CONFIG_PATH: Final = "/api/v1/config"
TIME_PATH: Final = "/api/v1/time"

BACKOFF_BASE_S: Final = 1.0
BACKOFF_CAP_S: Final = 300.0


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


class Clock:
    """Device time plus an offset to the server's clock, learned from every response.

    The server stamps its time somewhere during the request, best guessed as the midpoint of the
    round trip: ``offset = server_time - (sent + received) / 2``.
    """

    __slots__ = ("offset_ms", "synced")

    def __init__(self, offset_ms: int = 0) -> None:
        self.offset_ms = offset_ms
        self.synced = False

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000 + self.offset_ms

    def observe(self, sent_ms: int, received_ms: int, server_ms: int) -> None:
        self.offset_ms = server_ms - (sent_ms + received_ms) // 2
        self.synced = True


def new_request_id() -> str:
    """A UUID v4, as the session endpoint requires (event ids are v7; request ids are not)."""
    return str(uuid.uuid4())


UPLOAD_BACKOFF = Backoff(BACKOFF_BASE_S, BACKOFF_CAP_S)
"""Equal jitter: the fixed half keeps retries from hammering a server that is coming back; the
random half spreads a fleet of devices apart."""


def backoff_delay(attempt: int, *, rng: random.Random | None = None) -> float:
    """Seconds before the next upload attempt; ``attempt`` counts failures so far (1 after the
    first)."""
    r: float = rng.random() if rng is not None else random.random()
    return UPLOAD_BACKOFF.delay(attempt - 1, r)


@dataclass(frozen=True, slots=True)
class Reply:
    """A response reduced to what the client acts on."""

    status: int
    body: Any
    headers: httpx.Headers

    @property
    def error_code(self) -> str | None:
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            code = self.body["error"].get("code")
            return code if isinstance(code, str) else None
        return None

    @property
    def error_message(self) -> str:
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            return str(self.body["error"].get("message", ""))
        return ""


class Transport:
    """HTTP to the backend and config hosts, with the clock updated from every response."""

    def __init__(self, config: ClientConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self.http = httpx.Client(timeout=config.http_timeout_s)
        # The signature covers the path as the server receives it, prefix included.
        self.session_path = urlsplit(config.backend_url).path.rstrip("/") + SESSION_PATH

    def close(self) -> None:
        self.http.close()

    def _observe(self, sent: int, response: httpx.Response, body: Any) -> None:
        received = wall_ms()
        server: object = None
        if isinstance(body, dict):
            server = body.get("serverTime")
        if not isinstance(server, int):
            header = response.headers.get("x-server-time")
            server = int(header) if header and header.isdigit() else None
        if isinstance(server, int):
            self.clock.observe(sent, received, server)

    def _send(self, request: httpx.Request) -> Reply:
        sent = wall_ms()
        response = self.http.send(request)
        body: Any = None
        if response.content:
            try:
                body = orjson.loads(response.content)
            except orjson.JSONDecodeError:
                body = None
        self._observe(sent, response, body)
        return Reply(response.status_code, body, response.headers)

    def post_session(self, body: bytes, request_id: str) -> Reply:
        """One signed upload; the same ``request_id`` is passed again on retry."""
        cfg = self.config
        headers = signed_headers(
            api_key_public=cfg.api_key_public,
            api_key_secret=cfg.api_key_secret,
            method="POST",
            path_with_query=self.session_path,
            body=body,
            timestamp_s=self.clock.now_ms() // 1000,
            request_id=request_id,
        )
        request = self.http.build_request(
            "POST", cfg.backend_url + SESSION_PATH, content=body, headers=headers
        )
        return self._send(request)

    def get_config(self, etag: str | None, device_id: str, user_id: str | None) -> Reply:
        params = {"deviceId": device_id}
        if user_id:
            params["userId"] = user_id
        headers = {"X-Api-Key": self.config.api_key_public}
        if etag:
            headers["If-None-Match"] = etag
        request = self.http.build_request(
            "GET", self.config.config_url + CONFIG_PATH, params=params, headers=headers
        )
        return self._send(request)

    def sync_time(self) -> bool:
        """``GET /api/v1/time``; True when the offset was updated."""
        request = self.http.build_request("GET", self.config.backend_url + TIME_PATH)
        try:
            reply = self._send(request)
        except httpx.HTTPError as exc:
            log.info("network: time sync failed: %s", exc)
            return False
        return reply.status == 200


def is_pause_status(status: int) -> bool:
    """4xx other than 409 (request id), 413 (too large: split) and 429 (slow down)."""
    return 400 <= status < 500 and status not in (409, 413, 429)


def retry_wait_s(
    attempt: int, retry_after: float | None, rng: random.Random | None = None
) -> float:
    """How long to wait before the next attempt: the backoff, but never less than the server's
    ``Retry-After``. Taking the header alone would bring a whole fleet back at the same
    moment, every few seconds, for as long as an outage lasts."""
    return max(retry_after or 0.0, backoff_delay(attempt, rng=rng))


def retry_after_s(reply: Reply) -> float | None:
    value = reply.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
