"""The session state machine (docs/spec/events.md, "Sessions"), as a pure object.

A session is a continuous period of foreground use. Short background trips merge into the same
session; a trip of ``timeout_ms`` or longer finishes it. The machine owns no clock and makes no
ids: every call takes ``now_ms`` and, where a session may start, a ``new_id`` function.

Stamps of ``SessionFinished``:

- a background trip of ``timeout_ms`` or more: the moment the app went to the background (the
  contract's ``t``), even when events were recorded while it was there;
- ``terminate`` in the foreground: now; ``terminate`` while backgrounded: the background moment,
  for the same reason (the foreground use ended there);
- a session left unfinished by a crashed process: its **last activity**, the latest of its start,
  its background moment and the events recorded in it (the contract's "last activity time").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from tidings.core.errors import InvalidInput

DEFAULT_SESSION_TIMEOUT_MS = 60_000

StartType = Literal["cold", "warm"]


@dataclass(frozen=True, slots=True)
class SessionStart:
    """A session began at ``at``; it is the device's ``counter``-th session."""

    session_id: str
    at: int
    type: StartType
    counter: int


@dataclass(frozen=True, slots=True)
class SessionEnd:
    """The session ``session_id`` ended; ``at`` is the stamp of its ``SessionFinished``."""

    session_id: str
    at: int


SessionChange = SessionStart | SessionEnd


@dataclass(slots=True)
class SessionState:
    """Everything the machine persists between calls and across process restarts."""

    counter: int = 0
    session_id: str | None = None
    started_at: int | None = None
    paused_at: int | None = None
    last_activity: int | None = None
    event_count: int = 0

    @property
    def in_session(self) -> bool:
        """A session exists (active or paused) and has not been finished."""
        return self.session_id is not None

    @property
    def foreground(self) -> bool:
        """A session is active, not paused."""
        return self.session_id is not None and self.paused_at is None

    def to_json(self) -> dict[str, Any]:
        return {
            "counter": self.counter,
            "sessionId": self.session_id,
            "startedAt": self.started_at,
            "pausedAt": self.paused_at,
            "lastActivity": self.last_activity,
            "eventCount": self.event_count,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SessionState:
        return cls(
            counter=int(data.get("counter", 0)),
            session_id=data.get("sessionId"),
            started_at=data.get("startedAt"),
            paused_at=data.get("pausedAt"),
            last_activity=data.get("lastActivity"),
            event_count=int(data.get("eventCount", 0)),
        )


class SessionMachine:
    """Drives a :class:`SessionState` through launch, background, foreground and terminate."""

    __slots__ = ("state", "timeout_ms")

    def __init__(
        self, state: SessionState | None = None, timeout_ms: int = DEFAULT_SESSION_TIMEOUT_MS
    ) -> None:
        if timeout_ms < 0:
            raise InvalidInput("sessionTimeout", "must not be negative")
        self.state = state if state is not None else SessionState()
        self.timeout_ms = timeout_ms

    def launch(self, now_ms: int, new_id: Callable[[int], str]) -> list[SessionChange]:
        """A process starts: finish a session left over by a crash, then start a cold one."""
        changes: list[SessionChange] = []
        if self.state.in_session:
            changes.append(self._finish())
        changes.append(self._start(now_ms, "cold", new_id))
        return changes

    def background(self, now_ms: int) -> list[SessionChange]:
        """The app leaves the foreground: the session pauses (nothing is emitted)."""
        st = self.state
        if st.foreground:
            st.paused_at = now_ms
            self._touch(now_ms)
        return []

    def foreground(self, now_ms: int, new_id: Callable[[int], str]) -> list[SessionChange]:
        """The app returns: resume within the timeout, else finish and start a warm session."""
        st = self.state
        if not st.in_session:
            return [self._start(now_ms, "warm", new_id)]
        if st.paused_at is None:
            return []
        if now_ms - st.paused_at < self.timeout_ms:
            st.paused_at = None
            self._touch(now_ms)
            return []
        return [self._finish(st.paused_at), self._start(now_ms, "warm", new_id)]

    def terminate(self, now_ms: int) -> list[SessionChange]:
        """The process ends cleanly: finish the session, active (now) or paused (last activity)."""
        st = self.state
        if not st.in_session:
            return []
        return [self._finish(now_ms if st.paused_at is None else st.paused_at)]

    def record(self, now_ms: int) -> None:
        """An event was recorded in the current session (active or paused)."""
        self._touch(now_ms)
        self.state.event_count += 1

    def _touch(self, now_ms: int) -> None:
        st = self.state
        if st.last_activity is None or now_ms > st.last_activity:
            st.last_activity = now_ms

    def _start(self, now_ms: int, kind: StartType, new_id: Callable[[int], str]) -> SessionStart:
        st = self.state
        st.counter += 1
        st.session_id = new_id(now_ms)
        st.started_at = now_ms
        st.paused_at = None
        st.last_activity = now_ms
        st.event_count = 0
        return SessionStart(st.session_id, now_ms, kind, st.counter)

    def _finish(self, at: int | None = None) -> SessionEnd:
        """End the session, stamped ``at`` (default: its last activity)."""
        st = self.state
        assert st.session_id is not None
        if at is None:
            at = st.last_activity if st.last_activity is not None else st.started_at or 0
        end = SessionEnd(st.session_id, at)
        st.session_id = None
        st.started_at = None
        st.paused_at = None
        st.event_count = 0
        return end
