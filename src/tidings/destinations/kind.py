"""What a destination kind is: the protocol the one delivery pipeline drives for every kind.

A **kind** (``amplitude``, ``amplitude-currents``, ``webhook``...) parses and checks its part
of a destination's configuration and builds a :class:`Destination` from it. A destination
turns event-log records into **items** (one per unit the receiver accepts or refuses: an
Amplitude event, a webhook message), encodes them for the outbox, and makes a **sender** that
posts batches of items and says what happened to each one: delivered, retry at a time, dead with
a reason, or paused (the receiver refuses the destination itself).

Everything else is the pipeline's and the same for every kind (``tidings.pipeline.delivery``):
the log consumer, sending straight from it, the outbox with per-device (else per-user) order,
backoff, dead letters, retry and discard, replay, pause and resume, leases. The request loop
that keeps that order inside one send (batches, 413 halves, immediate resends) is
:class:`~tidings.destinations.sending.BatchSender`, which every kind's sender extends.

This layer knows nothing of the storage package: records come in as :class:`LogEntry` (what
``tidings.storage.LogRecord`` provides), and refusals go out as :class:`Refused`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar

Clock = Callable[[], int]
"""Epoch milliseconds. Delivery reads time only through one of these, handed down from the
pipeline's options (tests and benchmarks bring their own); :func:`wall_ms` is the default."""


def wall_ms() -> int:
    """The wall clock in epoch milliseconds: the one place delivery reads it (the default
    :data:`Clock`)."""
    return int(time.time() * 1000)


DAY_MS = 86_400_000
DEFAULT_MAX_AGE_MS = DAY_MS
"""An item that has not been delivered after this long is dead (retrying stops)."""

OutcomeKind = Literal["delivered", "retry", "dead", "paused", "held"]
"""``held``: not sent, because an earlier item of its order key waits for a retry; it keeps
its place (in the outbox, or queued behind that item) and goes out after it."""


@dataclass(frozen=True, slots=True)
class BatchPolicy:
    """When an outbox should hand its due events to the sender: enough of them, or old enough."""

    max_events: int = 500
    max_wait_ms: int = 10_000

    def should_flush(self, due_events: int, oldest_enqueued_ms: int | None, now_ms: int) -> bool:
        if due_events <= 0 or oldest_enqueued_ms is None:
            return False
        return due_events >= self.max_events or now_ms - oldest_enqueued_ms >= self.max_wait_ms


class Item(Protocol):
    """What the pipeline needs of any kind's item: its key, age and failed attempts."""

    key: str
    enqueued_ms: int
    attempts: int


ItemT = TypeVar("ItemT", bound=Item)


@dataclass(slots=True)
class Outcome:
    """What happened to one item (a value; not ``frozen``, which costs three times as much to
    make, and one is made per item that is not simply delivered).

    ``retry_at_ms`` is set for ``retry``; ``reason`` says why for everything but ``delivered``;
    ``request``/``response`` keep the exchange that decided it (for the dead letter).
    """

    key: str
    kind: OutcomeKind
    retry_at_ms: int | None = None
    reason: str = ""
    request: dict[str, Any] | None = None
    response: dict[str, Any] | None = None
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class Plan(Generic[ItemT]):
    """The decision for one response: final outcomes, plus what to resend at once (the valid
    rest of a partial refusal) or whether to split the batch in halves (too large)."""

    outcomes: list[Outcome]
    resend_now: list[ItemT]
    split: bool = False
    pause_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Refused:
    """A record a destination cannot use (unreadable, unmappable): dead-lettered at once, with
    ``item`` (JSON bytes) showing what it was."""

    key: str
    reason: str
    item: bytes = b"{}"


class LogEntry(Protocol):
    """The fields of an event-log record a destination reads (``tidings.storage.LogRecord``)."""

    @property
    def seq(self) -> int: ...

    @property
    def app_id(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def item_id(self) -> str: ...

    @property
    def timestamp(self) -> int: ...

    @property
    def arrival_ms(self) -> int: ...

    @property
    def payload(self) -> bytes: ...

    @property
    def prefix(self) -> bytes: ...

    @property
    def device_id(self) -> str | None: ...

    @property
    def user_id(self) -> str | None: ...


Mapped = tuple[Any, str, int]
"""One item of a mapped log record: the item, its order key and the record's ``seq``."""


@dataclass(frozen=True, slots=True)
class SendOptions:
    """How a destination's sender sends: request timeout, the maximum age after which an item
    is dead, events per request, and the retry backoff (``backoff_base_ms`` doubling up to
    ``backoff_cap_ms``; tests shorten it)."""

    timeout_s: float = 10.0
    max_age_ms: int = DEFAULT_MAX_AGE_MS
    max_request_events: int = 1000
    backoff_base_ms: int = 1_000
    backoff_cap_ms: int = 600_000
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Kind-specific knobs (e.g. Amplitude's throttle wait), by name."""
    clock: Clock = wall_ms
    """The sender's clock (due times, ages, signature timestamps)."""


class Sender(Protocol):
    """A destination's sender: posts items, one outcome per item that was not delivered."""

    paused: str | None

    def send(self, items: Sequence[Any], now_ms: int | None = None) -> list[Outcome]:
        """Send every item once (plus immediate resends); one outcome per item."""
        ...

    def send_counted(
        self, items: Sequence[Any], now_ms: int | None = None
    ) -> tuple[int, list[Outcome]]:
        """How many items were delivered, and the outcome of every other one."""
        ...

    def resume(self) -> None: ...

    def close(self) -> None: ...


class UsesCampaigns(Protocol):
    """A destination whose items name campaigns (their names, variations): before mapping, the
    pipeline hands it the campaigns of the destination's apps as ``(id, campaign JSON)``."""

    def load_campaigns(self, campaigns: Iterable[tuple[str, Mapping[str, Any]]]) -> None: ...


class UsesAccounts(Protocol):
    """A destination whose items carry the account they were sent from (Pinpoint records'
    ``awsAccountId``): before mapping, the pipeline hands it ``{app id: awsAccountId}`` for the
    destination's apps (the project's setting, else the project id)."""

    def load_accounts(self, accounts: Mapping[str, str]) -> None: ...


class Destination(Protocol):
    """A configured destination: its records become items, its items go out."""

    def map(self, records: Sequence[LogEntry], at_ms: int) -> tuple[list[Mapped], list[Refused]]:
        """The items ``records`` give (with order key and ``seq``), and the records it cannot
        use. Pure CPU; the pipeline runs it on a worker thread and, should it raise, maps the
        records one at a time to find the one that cannot be used."""
        ...

    def encode(self, item: Any) -> bytes:
        """The outbox bytes of an item (its key, age and attempts live beside them)."""
        ...

    def order_key(self, item: Any) -> str:
        """Whose items must keep their order: the device id, else the user id, else ``""``."""
        ...

    def sender(self, options: SendOptions) -> Sender:
        """A sender for this destination (connection, limiter: kept while settings stay)."""
        ...

    def dead_request(self, outcome: Outcome, item: Any) -> Any:
        """The request kept with an item's dead letter (narrowed to that item)."""
        ...


class DestinationKind(Protocol):
    """One kind of destination: its name, its configuration, how stored items decode."""

    name: str
    """What ``"kind"`` says in a destination's configuration."""
    title: str
    """How people call it (dashboard, CLI)."""
    example: Mapping[str, Any]
    """A configuration to start from (the dashboard's form)."""
    log_kinds: tuple[str, ...]
    """Which event-log rows its destinations read: ``("event",)``, or ``("event",
    "decision")`` for a kind that exports decisions too (replay reads only these)."""

    def check(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """The kind's part of a configuration (``settings``, and for some kinds
        ``subscriptions``), checked and normalised; :class:`~tidings.core.errors.InvalidConfig`
        names the field otherwise."""
        ...

    def public(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """The configuration as the API shows it (secrets masked where the kind has any)."""
        ...

    def build(self, body: Mapping[str, Any]) -> Destination:
        """The destination a checked configuration describes."""
        ...

    def decode(self, key: str, data: bytes, enqueued_ms: int, attempts: int) -> Any:
        """The item :meth:`Destination.encode` stored."""
        ...

    def order_key_of(self, data: bytes) -> str:
        """The order key of stored item bytes (retrying a dead letter)."""
        ...
