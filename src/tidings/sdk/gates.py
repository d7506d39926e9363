"""Gates: blocking, outcome-bearing DeepLink actions (Amply's gated deep links).

A gate is a presenter registered for a URL prefix. When a DeepLink campaign whose URL starts with
that prefix wins, the presenter gets ``(params, info, resolution)`` on the worker thread and
reports the outcome through ``resolution`` at most once, from any thread, now or later. The
outcome becomes a ``CampaignResolved`` event and, for ``track_gated``, a :class:`GateDecision`.

Collapse of results to decisions (docs/spec/sdk.md): Completed → proceed/completed; Dismissed →
cancelled under ``on_abort="cancel"``, proceed/fail_open under ``"proceed"``; Unavailable (the
presenter said so, raised, or missed the deadline) → proceed/fail_open.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal

from tidings.core.actions import url_params
from tidings.core.errors import InvalidConfig

COMPLETED: Final = "Completed"
DISMISSED: Final = "Dismissed"
UNAVAILABLE: Final = "Unavailable"
SKIPPED_NO_PRESENTER: Final = "SkippedNoPresenter"
SKIPPED_NO_CONTINUATION: Final = "SkippedNoContinuation"
TIMED_OUT: Final = "TimedOut"
PRESENTER_FAILED: Final = "PresenterFailed"
PRESENTER_REPORTED: Final = "PresenterReported"

Presenter = Callable[[dict[str, str], dict[str, Any], "Resolution"], object]


@dataclass(frozen=True, slots=True)
class GateDecision:
    """What ``track_gated`` tells its caller: go on (and why) or stop."""

    outcome: Literal["proceed", "cancelled"]
    reason: Literal["completed", "fail_open"] | None

    @property
    def proceed(self) -> bool:
        return self.outcome == "proceed"


PROCEED_COMPLETED: Final = GateDecision("proceed", "completed")
FAIL_OPEN: Final = GateDecision("proceed", "fail_open")
CANCELLED: Final = GateDecision("cancelled", None)


@dataclass(slots=True)
class Gate:
    """One registered presenter."""

    token: int
    base_url: str
    presenter: Presenter
    on_abort: Literal["cancel", "proceed"]
    timeout_s: float
    live: Presentation | None = None


def check_gate_args(base_url: object, presenter: object, on_abort: object, timeout: object) -> None:
    if not isinstance(base_url, str) or not base_url:
        raise InvalidConfig("base_url", "is required (a non-empty string)")
    if not callable(presenter):
        raise InvalidConfig("presenter", "must be callable as presenter(params, info, resolution)")
    if on_abort not in ("cancel", "proceed"):
        raise InvalidConfig("on_abort", "must be 'cancel' or 'proceed'")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise InvalidConfig("timeout", "must be a positive number of seconds")


class Presentation:
    """One live presentation of a gate campaign; resolved at most once."""

    def __init__(  # noqa: PLR0917
        self,
        gate: Gate,
        campaign_id: str,
        url: str,
        info: dict[str, Any],
        timeout_s: float,
        on_resolved: Callable[[Presentation], None],
    ) -> None:
        self.gate = gate
        self.campaign_id = campaign_id
        self.url = url
        self.info = info
        self.params = url_params(url)
        self.deadline = time.monotonic() + timeout_s
        self.done = threading.Event()
        self.result: str | None = None
        self.reason: str | None = None
        self._lock = threading.Lock()
        self._on_resolved = on_resolved

    def resolve(self, result: str, reason: str | None = None) -> bool:
        """Settle the outcome; later reports are ignored. True for the report that counted."""
        with self._lock:
            if self.result is not None:
                return False
            self.result = result
            self.reason = reason
        try:
            self._on_resolved(self)
        finally:
            self.done.set()
        return True

    def decision(self) -> GateDecision:
        """The caller's :class:`GateDecision` for the settled result."""
        if self.result == COMPLETED:
            return PROCEED_COMPLETED
        if self.result == DISMISSED and self.gate.on_abort == "cancel":
            return CANCELLED
        return FAIL_OPEN


class Resolution:
    """Handed to the presenter: report the outcome once, from any thread."""

    __slots__ = ("_presentation",)

    def __init__(self, presentation: Presentation) -> None:
        self._presentation = presentation

    def completed(self) -> bool:
        """The gate's condition is satisfied: the caller proceeds."""
        return self._presentation.resolve(COMPLETED)

    def dismissed(self) -> bool:
        """The user declined: the caller is cancelled under ``on_abort="cancel"``."""
        return self._presentation.resolve(DISMISSED)

    def unavailable(self) -> bool:
        """The presenter cannot show it now (no fill, not ready): the caller proceeds."""
        return self._presentation.resolve(UNAVAILABLE, PRESENTER_REPORTED)

    @property
    def resolved(self) -> bool:
        return self._presentation.result is not None


class GateRegistry:
    """Registered gates, matched by URL prefix (longest prefix wins)."""

    def __init__(self) -> None:
        self._gates: dict[int, Gate] = {}
        self._next = 1

    def register(
        self,
        base_url: str,
        presenter: Presenter,
        on_abort: Literal["cancel", "proceed"],
        timeout_s: float,
    ) -> int:
        """One presenter per base URL: registering the same URL again replaces the old one."""
        for token, gate in list(self._gates.items()):
            if gate.base_url == base_url:
                del self._gates[token]
        token = self._next
        self._next += 1
        self._gates[token] = Gate(token, base_url, presenter, on_abort, timeout_s)
        return token

    def unregister(self, token: int) -> bool:
        return self._gates.pop(token, None) is not None

    def match(self, url: str) -> Gate | None:
        best: Gate | None = None
        for gate in self._gates.values():
            if url.startswith(gate.base_url) and (
                best is None or len(gate.base_url) > len(best.base_url)
            ):
                best = gate
        return best

    def live(self) -> list[Presentation]:
        return [g.live for g in self._gates.values() if g.live is not None]
