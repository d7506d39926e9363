"""The records of the event log: what an append takes and returns, and what a reader gets."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

LogKind = Literal["event", "decision", "conversion"]
"""An event-log row is an app event, a campaign decision, or a conversion the attribution
consumer found (an event that converted a decision); all share one sequence."""


class EventIn(NamedTuple):
    """One validated event to append.

    ``payload`` is the serialised (orjson) record the consumers will read back byte for byte:
    the caller decides what it holds (typically the event plus its device/user context). The other
    fields are the few that get indexed or counted. ``properties`` is read only for
    ``CampaignShown`` / ``CampaignResolved`` (``campaignId``, ``result``, ``unavailableReason``)
    to count campaign stats; pass ``None`` to skip stats for this event.

    A named tuple, not a dataclass: an upload makes one per event, and a tuple is built in a
    fraction of the time a frozen dataclass takes.
    """

    id: str
    name: str
    type: str
    timestamp: int
    payload: bytes
    device_id: str | None = None
    user_id: str | None = None
    properties: Mapping[str, Any] | None = None
    prefix: bytes = b""
    """Leading bytes of the payload shared by many events of one append (an upload's device,
    user and session block): the record reads back as ``prefix + payload``, and the log keeps
    each distinct prefix once per append instead of once per event."""


@dataclass(frozen=True, slots=True)
class DecisionIn:
    """One campaign decision to append (dedup key: app id + decision id)."""

    id: str
    campaign_id: str
    status: str
    timestamp: int
    payload: bytes
    device_id: str | None = None
    user_id: str | None = None


@dataclass(frozen=True, slots=True)
class IngestOutcome:
    """What happened to each item of one ingest call, in input order.

    ``events[i]`` / ``decisions[i]`` is ``True`` when the item was stored now and ``False`` when
    it was a duplicate of an item stored earlier (or earlier in the same call), or, for events,
    refused: ``refused`` lists the indices of events not stored because their name would have
    taken the app's events catalog past its limit.
    """

    events: Sequence[bool]
    decisions: Sequence[bool]
    refused: Sequence[int] = ()

    @property
    def accepted(self) -> int:
        """How many events were stored by this call."""
        return sum(self.events)

    @property
    def duplicates(self) -> int:
        """How many events were already stored."""
        return len(self.events) - self.accepted - len(self.refused)

    @property
    def decisions_accepted(self) -> int:
        """How many decisions were stored by this call."""
        return sum(self.decisions)


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """The response stored for a request id, returned verbatim when the request is retried.

    ``request_hash`` identifies the request body it answers (``None`` when it was stored
    without one): a retry must send the same body to be given this response.
    """

    status: int
    body: bytes
    request_hash: bytes | None = None

    def answers(self, request_hash: bytes | None) -> bool:
        """Whether this response is the answer to a request whose body hashes so."""
        return (
            self.request_hash is None or request_hash is None or self.request_hash == request_hash
        )


@dataclass(frozen=True, slots=True)
class IngestResult:
    """Result of :meth:`~tidings.storage.roles.EventLog.ingest`.

    When ``replayed`` is true the request id had been processed before: nothing was written,
    ``outcome`` is ``None`` and ``response`` is the first attempt's stored response.
    """

    response: StoredResponse | None
    outcome: IngestOutcome | None
    replayed: bool


RenderResponse = Callable[[IngestOutcome], StoredResponse]
"""Builds the response to store for a request from its outcome. It runs inside the write
transaction (possibly on the writer thread), so it must be quick and must not touch the store."""


def check_render(request_id: str | None, render: RenderResponse | None) -> None:
    """Every log's ``ingest`` precondition: a request id is only kept with a response, so it
    needs the function that renders one."""
    if request_id is not None and render is None:
        raise ValueError("ingest with a request_id needs render to build the stored response")


class LogRecord(NamedTuple):
    """One row of the event log as consumers read it.

    ``seq`` increases strictly in commit order, so a consumer that has processed everything up
    to ``seq`` never later sees a smaller one appear. ``arrival_ms`` is the server's stamp.
    ``item_id`` is the event id or the decision id; ``name`` is the event name, or for a
    decision its campaign id; ``timestamp`` is the event's (or decision's) own time.

    ``prefix`` is the start of ``payload`` that the other events of its upload (and session)
    share, the same bytes object for all of them in one read (``b""`` when nothing is shared):
    a consumer can do the work that depends on it once per upload.

    A named tuple: consumers read thousands per second, and a tuple is the cheapest record
    Python builds.
    """

    seq: int
    app_id: str
    kind: LogKind
    item_id: str
    name: str
    timestamp: int
    arrival_ms: int
    payload: bytes
    device_id: str | None = None
    user_id: str | None = None
    prefix: bytes = b""


class Counted(NamedTuple):
    """An item read back from the log at ``seq``, to be counted in the catalogs and stats.

    A store whose log is outside its database (JetStream) counts by reading the log: the
    counting consumer hands batches to ``count_batch(cursor, batch)``, which adds the counts of
    the items past the cursor and moves the cursor in one transaction, so a batch handed over
    twice (at least once) is counted once.

    ``custom_properties`` is the user's custom-property map the event was uploaded with (the
    same map object for every event of one upload), catalogued as an ingest on a SQL log does.
    """

    seq: int
    app_id: str
    item: EventIn | DecisionIn
    custom_properties: Mapping[str, Any] | None = None
