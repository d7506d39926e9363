"""Upload scheduling: batches by size and age, retries with backoff, pause on bad keys, flushes.

One batch is in flight at a time. Its body and request id are saved in the store *before* the first
attempt, so a retry (in this process or the next one after a crash) sends the same request id and
the same events; the server answers a repeated request id with the stored response of the first
attempt, and counts a repeated event id as a duplicate. Either way nothing is stored twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import httpx
import orjson

from tidings.core.envelope import SessionBlock, UploadEnvelope, UploadHead
from tidings.sdk.devicedb import DeviceDb
from tidings.sdk.outbox import KIND_EVENT, Outbox
from tidings.sdk.transport import (
    Reply,
    Transport,
    backoff_delay,
    is_pause_status,
    new_request_id,
    retry_after_s,
    retry_wait_s,
)

log = logging.getLogger("tidings.sdk")


@dataclass(slots=True)
class FlushWaiter:
    target_seq: int
    done: threading.Event = field(default_factory=threading.Event)
    ok: bool = False


@dataclass(slots=True)
class Inflight:
    """The batch being delivered: every pending row up to ``max_seq``, under one request id.

    Saved: the id, the bound, the dropped count and, once built, the envelope (``head``: device,
    user, sessions). After a restart the body is the same rows inside the same envelope, byte
    for byte: the server refuses a known request id sent with another body (409), and a
    session that ended meanwhile would otherwise change the envelope.
    """

    request_id: str
    max_seq: int
    dropped: int
    head: bytes | None = None
    body: bytes | None = None
    seqs: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "requestId": self.request_id,
            "maxSeq": self.max_seq,
            "dropped": self.dropped,
        }
        if self.head is not None:
            out["head"] = self.head.decode()
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Inflight:
        head = data.get("head")
        return cls(
            data["requestId"],
            int(data["maxSeq"]),
            int(data["dropped"]),
            head.encode() if isinstance(head, str) else None,
        )


class Delivery:
    """Decides when to upload and carries out one attempt at a time (worker thread only)."""

    def __init__(
        self,
        *,
        outbox: Outbox,
        db: DeviceDb,
        lock: threading.RLock,
        transport: Transport,
        envelope: Callable[[], UploadHead],
        batch_size: int,
        interval_s: float,
        on_config_revision: Callable[[str | None], None] | None = None,
    ) -> None:
        self.outbox = outbox
        self.db = db
        """The file the in-flight batch is saved in (key ``inflight``)."""
        self.on_config_revision = on_config_revision
        self.lock = lock
        self.transport = transport
        self.envelope = envelope
        self.batch_size = batch_size
        self.batch_limit = batch_size
        self.interval_s = interval_s
        self.paused = False
        self.failures = 0
        self.next_attempt = 0.0
        self.oldest_at: float | None = time.monotonic() - interval_s if outbox.pending else None
        self.flushes: list[FlushWaiter] = []
        self.uploads = 0
        with lock:
            saved = db.get_json("inflight")
            self.inflight = Inflight.from_json(saved) if saved else None
            if self.inflight is not None:
                outbox.inflight_max_seq = self.inflight.max_seq

    # --- scheduling ----------------------------------------------------------------------------

    def appended(self, n: int) -> bool:
        """Called (under the lock) after ``n`` rows were queued; True when the worker should wake.

        Edge-triggered: the first queued row (its age deadline starts) and the row that fills a
        batch wake the worker; the rows in between do not, so a burst of ``track()`` calls costs
        the worker one wake per batch instead of one per event.
        """
        if self.oldest_at is None:
            self.oldest_at = time.monotonic()
            return not self.paused
        pending = self.outbox.pending
        return pending - n < self.batch_size <= pending and not self.paused

    def wait_s(self, now: float) -> float | None:
        """Seconds until an upload is due (0: now), ``None`` when nothing is waiting."""
        if self.flushes:
            return 0.0
        if self.paused or (self.outbox.pending == 0 and self.inflight is None):
            return None
        due = max(self.next_attempt, (self.oldest_at or now) + self.interval_s)
        if self.outbox.pending >= self.batch_size or self.inflight is not None:
            due = self.next_attempt
        return max(0.0, due - now)

    def run(self) -> None:
        """Upload while something is due (the worker calls this on every wake)."""
        while True:
            now = time.monotonic()
            wait = self.wait_s(now)
            if wait is None or wait > 0:
                return
            with self.lock:
                attempted = list(self.flushes)
            ok = self.attempt()
            if attempted:
                self._settle_flushes(attempted, ok)
            if not ok:
                return

    def request_flush(self) -> FlushWaiter:
        """Ask for everything pending now to be sent; any thread."""
        with self.lock:
            newest = self.outbox.newest_pending_seq()
            waiter = FlushWaiter(newest or 0)
            if waiter.target_seq == 0 and self.inflight is None:
                waiter.ok = True
                waiter.done.set()
            else:
                self.flushes.append(waiter)
        return waiter

    def _settle_flushes(self, attempted: list[FlushWaiter], ok: bool) -> None:
        """Answer the flushes that were waiting when the attempt started."""
        with self.lock:
            oldest = self.outbox.oldest_pending_seq()
            for waiter in attempted:
                if not ok:
                    waiter.ok = False
                elif oldest is None or oldest > waiter.target_seq:
                    waiter.ok = True
                else:
                    continue
                waiter.done.set()
                self.flushes.remove(waiter)

    def fail_flushes(self) -> None:
        with self.lock:
            for waiter in self.flushes:
                waiter.done.set()
            self.flushes = []

    # --- one attempt ---------------------------------------------------------------------------

    def _prepare(self) -> Inflight | None:
        """The batch to send, built (rows stay as stored bytes, joined without re-encoding).

        The client's lock is held only to pick and save the request id and to read the
        envelope; the rows and sessions are read on the worker's own connection meanwhile.
        """
        with self.lock:
            self.outbox.settle()  # journaled rows into SQLite, where the lock-free read sees them
            inflight = self.inflight
            if inflight is not None and inflight.body is not None:
                return inflight
        upto = inflight.max_seq if inflight is not None else None
        rows = self.outbox.pending_rows(self.batch_limit, upto=upto)
        with self.lock:
            if inflight is None:
                if not rows:
                    if not self.outbox.pending:  # (rows may have come since the read)
                        self.oldest_at = None
                    return None
                inflight = Inflight(new_request_id(), rows[-1][0], self.outbox.dropped())
                self.db.put_json("inflight", inflight.to_json())
                self.outbox.inflight_max_seq = inflight.max_seq
            head_fields = self.envelope() if inflight.head is None else None
            self.inflight = inflight
        if head_fields is not None:
            sessions = self.outbox.sessions_of_pending(inflight.max_seq)
            envelope: UploadEnvelope = {
                "appId": head_fields["appId"],
                "device": head_fields["device"],
                "user": head_fields["user"],
                "sessions": cast(list[SessionBlock], sessions),
                "dropped": inflight.dropped,
            }
            inflight.head = orjson.dumps(envelope)[:-1]  # the envelope object, still open
            with self.lock:
                self.db.put_json("inflight", inflight.to_json())
        events = b",".join(body for _, kind, body in rows if kind == KIND_EVENT)
        decisions = b",".join(body for _, kind, body in rows if kind != KIND_EVENT)
        head = inflight.head
        assert head is not None
        inflight.body = head + b',"events":[' + events + b'],"decisions":[' + decisions + b"]}"
        inflight.seqs = [r[0] for r in rows]
        return inflight

    def attempt(self) -> bool:
        """Send the in-flight batch (building it first if needed); True when it was accepted."""
        inflight = self._prepare()
        if inflight is None:
            return True
        try:
            reply = self.transport.post_session(inflight.body or b"", inflight.request_id)
        except httpx.HTTPError as exc:
            return self._retry(f"network error: {exc}")
        if reply.status == 200:
            self._accepted(inflight, reply)
            return True
        return self._refused(inflight, reply)

    def _accepted(self, inflight: Inflight, reply: Reply) -> None:
        with self.lock:
            first = inflight.seqs[0] if inflight.seqs else inflight.max_seq
            self.outbox.mark_sent(first, inflight.max_seq, inflight.dropped)
            self.inflight = None
            self.oldest_at = time.monotonic() if self.outbox.pending else None
        self.failures = 0
        self.next_attempt = 0.0
        self.batch_limit = self.batch_size
        self.uploads += 1
        if self.paused:
            log.warning("network: uploads resumed")
        self.paused = False
        if self.on_config_revision is not None:
            self.on_config_revision(reply.headers.get("x-config-revision"))
        body = reply.body if isinstance(reply.body, dict) else {}
        for item in body.get("rejected") or []:
            log.warning("network: the server rejected an item: %s", item)
        log.debug(
            "network: uploaded %d items (accepted %s, duplicates %s)",
            len(inflight.seqs),
            body.get("accepted"),
            body.get("duplicates"),
        )

    def _refused(self, inflight: Inflight, reply: Reply) -> bool:
        code = reply.error_code
        if reply.status == 403 and code == "stale_timestamp":
            # Our clock is off, not our keys: learn the server's time and try again.
            self.transport.sync_time()
            return self._retry("timestamp refused as stale; clock re-synchronised")
        if reply.status == 409:
            self._forget_inflight()
            return self._retry("request id refused (409); a new one will be used")
        if reply.status == 413:
            return self._too_large(inflight)
        if is_pause_status(reply.status):
            self.paused = True
            log.error(
                "network: uploads PAUSED: the server refused the request with %d %s (%s). "
                "Check app_id, api_key_public and api_key_secret; events stay on disk and are "
                "sent once flush() or foreground() is called with working keys.",
                reply.status,
                code or "",
                reply.error_message,
            )
            return False
        return self._retry(
            f"server answered {reply.status}",
            retry_wait_s(self.failures + 1, retry_after_s(reply)),
        )

    def _too_large(self, inflight: Inflight) -> bool:
        if len(inflight.seqs) > 1:
            self.batch_limit = max(1, len(inflight.seqs) // 2)
            self._forget_inflight()
            log.warning("network: batch too large (413); retrying %d at a time", self.batch_limit)
            return self._retry("batch too large", 0.0)
        with self.lock:
            self.outbox.discard_rows(inflight.seqs)
            self.outbox.add_dropped(1)
            self.inflight = None
        log.error("network: an event is larger than the server accepts; it was dropped")
        return True

    def _forget_inflight(self) -> None:
        with self.lock:
            self.db.delete("inflight")
            self.outbox.inflight_max_seq = 0
            self.inflight = None

    def _retry(self, why: str, delay: float | None = None) -> bool:
        self.failures += 1
        wait = backoff_delay(self.failures) if delay is None else delay
        self.next_attempt = time.monotonic() + wait
        log.warning("network: upload failed (%s); retry %d in %.1fs", why, self.failures, wait)
        return False

    def resume(self) -> None:
        """Leave the paused state for one more attempt (the app says keys may work now)."""
        self.paused = False
        self.next_attempt = 0.0
