"""Everything the engine remembers about one device, compact and serialisable.

- **History**: per event signature (name, type, params) a count, the first and last timestamps
  and the count within the current session. The plain ``(name, type)`` signature is kept for every
  event name the device records; param-filtered signatures only for the filters the engine's
  campaigns (triggers and eventCount/eventDate slots) or its extra watches use. No event list.
- **Shows**: per campaign the lifetime and current-session show counts and, for campaigns with a
  rolling-window limit, the timestamps of the shows still inside that window.
- **Project**: shows across all campaigns in the current session and on the current local day.

All of it is plain ints and strings, so :meth:`EngineState.to_bytes` is a small JSON document and
restoring it mid-sequence changes no decision.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

import orjson

from tidings.core.campaigns.trigger import Signature, parse_data_set_params
from tidings.core.errors import InvalidInput

FORMAT_VERSION: Final = 1

HistoryRecord = list[Any]
"""``[count, first_ms, last_ms, session_id, session_count]``"""
ShowRecord = list[Any]
"""``[lifetime, session_id, session_count, [[ts, session_id], ...] (inside the widest window)]``"""


class EngineState:
    """Mutable per-device state; :meth:`CampaignEngine.process` updates it for every event."""

    __slots__ = ("history", "project", "session_id", "shows")

    def __init__(self) -> None:
        self.history: dict[Signature, HistoryRecord] = {}
        self.shows: dict[str, ShowRecord] = {}
        self.project: list[Any] = [None, 0, None, 0]
        """``[session_id, shows this session, local day ordinal, shows that day]``"""
        self.session_id: str | None = None
        """Session of the last processed event."""

    # --- history -------------------------------------------------------------------------------

    def record(self, signature: Signature, now_ms: int, session_id: str | None) -> None:
        rec = self.history.get(signature)
        if rec is None:
            self.history[signature] = [1, now_ms, now_ms, session_id, 1]
            return
        rec[0] += 1
        rec[2] = now_ms
        if rec[3] == session_id:
            rec[4] += 1
        else:
            rec[3] = session_id
            rec[4] = 1

    def count_of(self, signature: Signature) -> int:
        rec = self.history.get(signature)
        return 0 if rec is None else int(rec[0])

    def first_last_of(self, signature: Signature) -> tuple[int, int] | None:
        rec = self.history.get(signature)
        return None if rec is None else (int(rec[1]), int(rec[2]))

    def session_count_of(self, signature: Signature, session_id: str | None) -> int:
        rec = self.history.get(signature)
        return int(rec[4]) if rec is not None and rec[3] == session_id else 0

    def event_aggregate(
        self, name: str, type: str, params: Iterable[Mapping[str, Any]] = ()
    ) -> tuple[int, int, int] | None:
        """``(count, first_ms, last_ms)`` of matching events, ``None`` if none was recorded.

        ``params`` is the data-set form ``[{name, value}]`` (equality on text). Filtered
        aggregates exist for the signatures the engine watches (campaign filters and
        ``CampaignEngine(watch=...)``); an unwatched filter reads as never happened.
        """
        rec = self.history.get(parse_data_set_params(name, type, list(params)).signature)
        return None if rec is None else (int(rec[0]), int(rec[1]), int(rec[2]))

    def session_event_count(
        self,
        name: str,
        type: str,
        params: Iterable[Mapping[str, Any]] = (),
        session_id: str | None = None,
    ) -> int:
        """Matching events within the current session (``@triggeredEvent``, ``session`` strategy).

        ``session_id`` defaults to the session of the last processed event. Only the current
        session's count is kept: any other session id reads 0. The ``global`` strategy is the
        count of :meth:`event_aggregate`.
        """
        signature = parse_data_set_params(name, type, list(params)).signature
        return self.session_count_of(signature, session_id if session_id else self.session_id)

    # --- shows ---------------------------------------------------------------------------------

    def record_show(
        self, campaign_id: str, now_ms: int, session_id: str | None, window_ms: int | None
    ) -> None:
        rec = self.shows.get(campaign_id)
        if rec is None:
            rec = self.shows[campaign_id] = [0, session_id, 0, []]
        rec[0] += 1
        if rec[1] == session_id:
            rec[2] += 1
        else:
            rec[1] = session_id
            rec[2] = 1
        if window_ms is not None:
            recent: list[list[Any]] = rec[3]
            cutoff = now_ms - window_ms
            recent[:] = [item for item in recent if item[0] > cutoff]
            recent.append([now_ms, session_id])
        elif rec[3]:
            rec[3] = []

    def record_project_show(self, session_id: str | None, day: int) -> None:
        project = self.project
        if project[0] == session_id:
            project[1] += 1
        else:
            project[0] = session_id
            project[1] = 1
        if project[2] == day:
            project[3] += 1
        else:
            project[2] = day
            project[3] = 1

    # --- serialisation -------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "sessionId": self.session_id,
            "history": [
                [name, type_, [list(p) for p in params], *rec]
                for (name, type_, params), rec in self.history.items()
            ],
            "shows": {
                cid: [rec[0], rec[1], rec[2], [list(x) for x in rec[3]]]
                for cid, rec in self.shows.items()
            },
            "project": list(self.project),
        }

    @classmethod
    def from_json(cls, data: Any) -> EngineState:
        try:
            if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
                raise InvalidInput("version", f"unsupported engine state (want {FORMAT_VERSION})")
            state = cls()
            state.session_id = data.get("sessionId")
            for row in data["history"]:
                name, type_, params, *rec = row
                signature: Signature = (name, type_, tuple(tuple(p) for p in params))
                state.history[signature] = list(rec)
            for cid, rec in data["shows"].items():
                state.shows[cid] = [rec[0], rec[1], rec[2], [list(x) for x in rec[3]]]
            state.project = list(data["project"])
            return state
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, InvalidInput):
                raise
            raise InvalidInput("state", f"malformed engine state: {exc}") from None

    def to_bytes(self) -> bytes:
        return orjson.dumps(self.to_json())

    @classmethod
    def from_bytes(cls, data: bytes) -> EngineState:
        try:
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise InvalidInput("state", f"not JSON: {exc}") from None
        return cls.from_json(parsed)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EngineState) and self.to_json() == other.to_json()

    __hash__ = None  # type: ignore[assignment]
