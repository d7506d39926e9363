"""``Tidings``: the client an app embeds (docs/spec/sdk.md).

Every public call takes the client's lock, drives the pure :class:`~tidings.core.device.Device`,
commits what it recorded to the on-device store, and hands anything slow (listeners, actions,
the network) to the one background worker. The lock is never held across a network request or a
user callback.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Literal

import orjson

from tidings.core.datasets import check_kind
from tidings.core.errors import InvalidInput, TidingsError
from tidings.core.events import (
    SESSION_STARTED,
    EventRecord,
    Primitive,
)
from tidings.sdk import forking
from tidings.sdk.config import LOG_LEVELS, build_config
from tidings.sdk.conventions import check_conventions
from tidings.sdk.datasets import data_set
from tidings.sdk.delivery import Delivery
from tidings.sdk.fetch import ConfigFetch
from tidings.sdk.gates import (
    FAIL_OPEN,
    TIMED_OUT,
    UNAVAILABLE,
    GateDecision,
    Presenter,
    check_gate_args,
)
from tidings.sdk.identity import build_profile, load_identity
from tidings.sdk.recorder import (
    DeepLinkListener,
    RateReviewHandler,
    Recorder,
    SystemEventsListener,
)
from tidings.sdk.store import DeviceStore
from tidings.sdk.transport import Clock, Transport
from tidings.sdk.worker import Worker
from tidings.version import VERSION

log = logging.getLogger("tidings.sdk")

SDK_VERSION = VERSION


CHECKPOINT_EVERY = 200
"""Commits between write-ahead-log checkpoints, which the worker runs off the caller's path."""


class Tidings:
    """The Tidings client: record events, run campaigns on the device, upload in the background."""

    def __init__(  # noqa: PLR0917 - the documented constructor is positional
        self,
        app_id: str | None = None,
        api_key_public: str | None = None,
        api_key_secret: str | None = None,
        backend_url: str = "http://127.0.0.1:8000",
        config_url: str | None = None,
        default_config: str | None = None,
        data_dir: str | os.PathLike[str] | None = None,
        session_timeout: float = 60.0,
        log_level: str = "warn",
        device: Mapping[str, Any] | None = None,
        *,
        upload_batch_size: int = 100,
        upload_interval: float = 5.0,
        max_queue_events: int = 10_000,
        http_timeout: float = 10.0,
        synchronous: Literal["normal", "full"] = "normal",
        atexit_timeout: float = 2.0,
        config_check_interval: float = 60.0,
    ) -> None:
        cfg = build_config(
            app_id=app_id,
            api_key_public=api_key_public,
            api_key_secret=api_key_secret,
            backend_url=backend_url,
            config_url=config_url,
            default_config=default_config,
            data_dir=data_dir,
            session_timeout=session_timeout,
            log_level=log_level,
            device=device,
            upload_batch_size=upload_batch_size,
            upload_interval=upload_interval,
            max_queue_events=max_queue_events,
            http_timeout=http_timeout,
            synchronous=synchronous,
            config_check_interval=config_check_interval,
        )
        log.setLevel(LOG_LEVELS[cfg.log_level])
        self.config = cfg
        self.sdk_version = SDK_VERSION
        self._shut = False
        self._atexit_timeout = atexit_timeout
        store = DeviceStore(
            cfg.data_dir / "tidings.sqlite3",
            max_pending=cfg.max_queue_events,
            synchronous=cfg.synchronous,
        )
        clock = Clock(int(store.db.get_json("clockOffset") or 0))
        self._saved_offset = clock.offset_ms
        identity = load_identity(store.db.get_json("identity"), clock.now_ms())
        profile, extra = build_profile(identity, cfg.device, cfg.app_id)
        store.db.put_json("identity", identity)
        rec = self._rec = Recorder(cfg, SDK_VERSION, store, clock, profile, extra)
        self._transport = Transport(cfg, clock)
        self._config = ConfigFetch(rec, self._transport)
        self._config.load_cached()
        rec.replay()  # with the campaigns in force, so filtered counts and limits catch up
        rec.delivery = Delivery(
            outbox=store.outbox,
            db=store.db,
            lock=rec.lock,
            transport=self._transport,
            envelope=rec.envelope,
            batch_size=cfg.upload_batch_size,
            interval_s=cfg.upload_interval_s,
            on_config_revision=self._config.upload_saw_revision,
        )
        rec.worker = Worker(self._tick)
        with self._rec.lock:
            now = self._rec.clock.now_ms()
            out = self._rec.device.launch(now)
            out += self._rec.device.config_fetch_started(now)
            self._rec.commit(out)
        # Queued before the worker starts, so the launch fetch runs before its first tick (a
        # foreground config check could otherwise come first on a slow start).
        self._rec.worker.submit(self._config.run)
        self._rec.worker.start()
        atexit.register(self._at_exit)
        forking.track_client(self)

    # --- context manager -------------------------------------------------------------------------

    def __enter__(self) -> Tidings:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- recording -------------------------------------------------------------------------------

    def track(self, name: str, properties: Mapping[str, Any] | None = None) -> None:
        """Record a custom event; returns once it is committed to disk, never waits for the network.

        Raises :class:`tidings.InvalidEvent` (a ``ValueError``) naming the bad field.
        """
        with self._rec.lock:
            if self._rec.closed:
                log.warning("sdk: track(%r) after close() was ignored", name)
                return
            self._rec.commit(
                self._rec.device.track(name, properties, self._rec.clock.now_ms()), defer=True
            )
        if log.isEnabledFor(logging.DEBUG):
            check_conventions(name, properties)

    def track_gated(
        self, name: str, properties: Mapping[str, Any] | None = None, timeout: float | None = None
    ) -> GateDecision:
        """As :meth:`track`; if a gate campaign fires, wait for its presenter. Never raises."""
        try:
            with self._rec.lock:
                if self._rec.closed:
                    return FAIL_OPEN
                out = self._rec.device.track(name, properties, self._rec.clock.now_ms())
                gated = self._rec.commit(out, gated_timeout=timeout)
        except Exception as exc:
            log.error("sdk: track_gated(%r) failed open: %s", name, exc)
            return FAIL_OPEN
        if gated is None:
            return FAIL_OPEN
        if self._rec.worker.is_current():
            log.warning("sdk: track_gated called from a callback cannot wait; it fails open")
            return FAIL_OPEN
        wait = gated.deadline - time.monotonic()
        if not gated.done.wait(max(0.0, wait)):
            gated.resolve(UNAVAILABLE, TIMED_OUT)
        return gated.decision()

    def set_user_id(self, user_id: str | None) -> None:
        with self._rec.lock:
            self._rec.device.set_user_id(user_id)
            self._rec.commit([])

    def set_custom_property(self, key: str, value: Primitive | Any) -> None:
        with self._rec.lock:
            self._rec.commit(
                self._rec.device.set_custom_property(key, value, self._rec.clock.now_ms())
            )

    def set_custom_properties(self, mapping: Mapping[str, Any]) -> None:
        with self._rec.lock:
            self._rec.commit(
                self._rec.device.set_custom_properties(mapping, self._rec.clock.now_ms())
            )

    def get_custom_property(self, key: str) -> Primitive | None:
        with self._rec.lock:
            return self._rec.device.custom_properties.get(key)

    def remove_custom_property(self, key: str) -> None:
        with self._rec.lock:
            self._rec.commit(self._rec.device.remove_custom_property(key, self._rec.clock.now_ms()))

    def clear_custom_properties(self) -> None:
        with self._rec.lock:
            self._rec.commit(self._rec.device.clear_custom_properties(self._rec.clock.now_ms()))

    # --- inspection ------------------------------------------------------------------------------

    def get_recent_events(self, limit: int = 100) -> list[EventRecord]:
        """The newest recorded events (custom and system), newest first."""
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise InvalidInput("limit", "must be a non-negative integer")
        with self._rec.lock:
            if self._rec.closed:
                log.warning("sdk: get_recent_events() after close() returns nothing")
                return []
            rows = self._rec.store.outbox.recent_events(limit)
        return [EventRecord.from_json(orjson.loads(raw)) for raw in rows]

    def get_data_set_snapshot(self, kind: str, **params: Any) -> dict[str, Any]:
        """One data set (docs/spec/events.md, "Data sets") as a plain dict."""
        check_kind(kind)
        now = self._rec.clock.now_ms()
        with self._rec.lock:
            return data_set(self._rec.device, kind, params, now)

    # --- listeners -------------------------------------------------------------------------------

    def set_system_events_listener(self, fn: SystemEventsListener) -> int:
        """``fn(event)`` for every observable system event, on the worker thread.

        Events emitted while no listener was set are delivered to it first.
        """
        if not callable(fn):
            raise InvalidInput("fn", "must be callable")
        with self._rec.lock:
            token = self._rec.system.add(fn)
            backlog = self._rec.unheard.drain()
            if backlog:
                self._rec.worker.submit(lambda: self._rec.deliver_system(backlog))
        return token

    def clear_system_events_listener(self, token: int) -> None:
        with self._rec.lock:
            self._rec.system.remove(token)

    def register_deep_link_listener(self, fn: DeepLinkListener) -> int:
        """``fn(url, info) -> bool``; listeners are asked in order until one returns True."""
        if not callable(fn):
            raise InvalidInput("fn", "must be callable")
        with self._rec.lock:
            return self._rec.deep_links.add(fn)

    def remove_deep_link_listener(self, token: int) -> None:
        with self._rec.lock:
            self._rec.deep_links.remove(token)

    def register_rate_review_handler(self, fn: RateReviewHandler) -> int:
        """``fn(info)`` when a RateReview campaign fires (the last one registered is used)."""
        if not callable(fn):
            raise InvalidInput("fn", "must be callable")
        with self._rec.lock:
            token = self._rec.rate_review.add(fn)
            self._rec.device.has_rate_review_handler = True
            return token

    def remove_rate_review_handler(self, token: int) -> None:
        with self._rec.lock:
            self._rec.rate_review.remove(token)
            self._rec.device.has_rate_review_handler = bool(self._rec.rate_review)

    def register_gate(
        self,
        base_url: str,
        presenter: Presenter,
        on_abort: Literal["cancel", "proceed"] = "cancel",
        timeout: float = 60.0,
    ) -> int:
        """Present DeepLink campaigns whose URL starts with ``base_url`` with ``presenter``."""
        check_gate_args(base_url, presenter, on_abort, timeout)
        with self._rec.lock:
            return self._rec.gates.register(base_url, presenter, on_abort, float(timeout))

    def unregister_gate(self, token: int) -> None:
        with self._rec.lock:
            self._rec.gates.unregister(token)

    # --- lifecycle -------------------------------------------------------------------------------

    def foreground(self) -> None:
        """The app came to the foreground: resume the session or start a warm one."""
        with self._rec.lock:
            if self._rec.closed:
                return
            now = self._rec.clock.now_ms()
            out = self._rec.device.foreground(now)
            fetch = any(isinstance(o, EventRecord) and o.name == SESSION_STARTED for o in out)
            fetch = fetch and self._rec.device.config_is_stale(now)
            if fetch:
                out += self._rec.device.config_fetch_started(now)
            self._rec.commit(out)
            self._rec.delivery.resume()
        if fetch:
            self._rec.worker.submit(self._config.run)
        self._rec.worker.wake()

    def background(self) -> None:
        """The app left the foreground: pause the session and upload what is queued."""
        with self._rec.lock:
            if self._rec.closed:
                return
            self._rec.commit(self._rec.device.background(self._rec.clock.now_ms()))
            self._rec.delivery.oldest_at = time.monotonic() - self._rec.delivery.interval_s
        self._rec.worker.wake()

    def flush(self, timeout: float | None = None) -> bool:
        """Upload everything queued now; True when all of it was accepted by the server.

        Returns False at the first failed attempt (server down, keys refused) or at ``timeout``;
        nothing is lost either way, the regular schedule keeps retrying.
        """
        if self._rec.closed:
            return self._store_pending() == 0
        return self._flush(timeout)

    def _flush(self, timeout: float | None) -> bool:
        self._rec.delivery.resume()
        if self._rec.worker.is_current() or not self._rec.worker.alive:
            waiter = self._rec.delivery.request_flush()
            self._rec.delivery.run()
            return waiter.ok
        waiter = self._rec.delivery.request_flush()
        self._rec.worker.wake()
        waiter.done.wait(timeout)
        return waiter.ok

    def close(self, timeout: float = 5.0) -> None:
        """Finish the session, upload what fits in ``timeout``, keep the rest on disk."""
        with self._rec.lock:
            if self._rec.closed:
                return
            self._rec.commit(self._rec.device.terminate(self._rec.clock.now_ms()))
            self._rec.closed = True
        deadline = time.monotonic() + timeout
        if self._store_pending():
            self._flush(timeout)
        self._rec.worker.stop(max(0.0, deadline - time.monotonic()))
        with self._rec.lock:
            self._shut = True
            self._rec.delivery.fail_flushes()
            self._save_clock()
            self._transport.close()
            self._rec.store.close()
        atexit.unregister(self._at_exit)
        forking.forget_client(self)

    @property
    def closed(self) -> bool:
        return self._rec.closed

    @property
    def device_id(self) -> str:
        return self._rec.profile.device_id

    @property
    def paused(self) -> bool:
        """True while uploads are paused because the server refused the keys."""
        return self._rec.delivery.paused

    def pending_count(self) -> int:
        """Events and decisions on disk waiting for upload."""
        return self._store_pending()

    def dropped_count(self) -> int:
        with self._rec.lock:
            return 0 if self._shut else self._rec.store.outbox.dropped()

    # --- internals -------------------------------------------------------------------------------

    def _store_pending(self) -> int:
        with self._rec.lock:
            return self._rec.store.outbox.pending

    def _check_config(self, now: float) -> float | None:
        """While in the foreground, check the configuration when due; the wait until the next."""
        with self._rec.lock:
            if self._shut or not self._rec.device.in_foreground:
                return None
        return self._config.check_if_due(now)

    def _tick(self) -> float | None:
        """Worker heartbeat: gate deadlines, uploads, clock persistence; returns the next wait."""
        now = time.monotonic()
        for p in list(self._rec.live):
            if now >= p.deadline:
                p.resolve(UNAVAILABLE, TIMED_OUT)
        state_wait = self._rec.save_state_if_due(now)
        store = self._rec.store
        if store.outbox.staged:
            with self._rec.lock:
                if not self._shut:
                    store.outbox.settle()
        if store.db.commits >= CHECKPOINT_EVERY and not self._shut:
            store.db.checkpoint()
        if not self._shut:
            self._rec.delivery.run()
        config_wait = self._check_config(time.monotonic())
        if self._rec.clock.offset_ms != self._saved_offset:
            with self._rec.lock:
                if not self._shut:
                    self._save_clock()
        waits = [p.deadline - time.monotonic() for p in self._rec.live]
        if state_wait is not None:
            waits.append(state_wait)
        delivery = self._rec.delivery.wait_s(time.monotonic())
        if delivery is not None:
            waits.append(delivery)
        if config_wait is not None:
            waits.append(config_wait)
        return max(0.0, min(waits)) if waits else None

    def _save_clock(self) -> None:
        self._rec.store.db.put_json("clockOffset", self._rec.clock.offset_ms)
        self._saved_offset = self._rec.clock.offset_ms

    def _at_exit(self) -> None:
        try:
            self.close(self._atexit_timeout)
        except Exception:
            log.exception("sdk: closing at exit failed")

    # --- fork ------------------------------------------------------------------------------------

    def _before_fork(self) -> None:
        self._rec.lock.acquire()
        self._rec.store.db.side_lock.acquire()

    def _after_fork_parent(self) -> None:
        self._rec.store.db.side_lock.release()
        self._rec.lock.release()

    def _after_fork_child(self) -> None:
        self._rec.lock = threading.RLock()
        self._rec.delivery.lock = self._rec.lock
        self._rec.delivery.flushes = []
        self._rec.live.clear()
        if self._shut:
            return
        self._rec.store.reopen()
        self._transport = Transport(self.config, self._rec.clock)
        self._rec.delivery.transport = self._transport
        self._config.transport = self._transport
        self._rec.worker.reset_after_fork()


__all__ = ["GateDecision", "Tidings", "TidingsError"]
