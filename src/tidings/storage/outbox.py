"""Destination outboxes and dead letters: rows, not memory.

A pipeline consumer turns log records into items and :func:`enqueue` writes them (and the
items refused at mapping time, straight into ``dead_letters``) in one transaction; only then is
its cursor committed. A sender takes :func:`due` items, sends them, and :func:`settle` applies
every item's outcome in one transaction: delivered rows go, retried rows get a later ``due_ms``,
given-up rows move to ``dead_letters`` with the request, the response and the reason.

**Per-device order.** ``due`` never returns a row while an earlier row (smaller ``id``) with the
same ``order_key`` is still waiting for a later time: a device's later events wait while an
earlier one is retrying, whatever the jitter of their backoffs.

Items are opaque JSON bytes here: the destination layer decides what they hold.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import orjson

from tidings.storage.engine import Tx
from tidings.storage.eventlog import now_ms
from tidings.storage.paging import keyset
from tidings.storage.sqlstore import SqlStore


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """An item to enqueue: ``item_key`` is unique per destination (a second enqueue is a no-op).

    ``due_ms`` (default: the enqueue time), ``attempts`` and ``last_reason`` let an item that
    already failed once elsewhere (sent straight from the log) enter the outbox as a retry.
    """

    item_key: str
    order_key: str
    log_seq: int
    enqueued_ms: int
    body: bytes
    due_ms: int | None = None
    attempts: int = 0
    last_reason: str = ""


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """A stored outbox row."""

    id: int
    destination_id: str
    item_key: str
    order_key: str
    log_seq: int
    enqueued_ms: int
    due_ms: int
    attempts: int
    last_reason: str
    body: bytes


@dataclass(frozen=True, slots=True)
class DeadLetterIn:
    """An item given up on, with what explains why (JSON-able request/response)."""

    item_key: str
    attempts: int
    reason: str
    item: bytes
    request: object = None
    response: object = None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A stored dead letter."""

    id: str
    destination_id: str
    item_key: str
    created_at: int
    attempts: int
    reason: str
    item: bytes
    request: object
    response: object

    def to_json(self) -> dict[str, object]:
        """The admin API shape (``item`` decoded: it is JSON)."""
        return {
            "id": self.id,
            "destinationId": self.destination_id,
            "itemKey": self.item_key,
            "createdAt": self.created_at,
            "attempts": self.attempts,
            "reason": self.reason,
            "item": orjson.loads(self.item),
            "request": self.request,
            "response": self.response,
        }


@dataclass(frozen=True, slots=True)
class Settle:
    """The outcome of one row: ``delete`` (delivered), ``retry_at`` or ``dead``."""

    row_id: int
    retry_at: int | None = None
    reason: str = ""
    attempts: int = 0
    dead: DeadLetterIn | None = None


_ROW = (
    "id, destination_id, item_key, order_key, log_seq, enqueued_ms, due_ms, attempts,"
    " last_reason, body"
)
_DEAD = "id, destination_id, item_key, created_at, attempts, reason, item, request, response"


def _row(r: tuple[object, ...]) -> OutboxRow:
    return OutboxRow(
        int(r[0]),  # type: ignore[call-overload]
        str(r[1]),
        str(r[2]),
        str(r[3]),
        int(r[4]),  # type: ignore[call-overload]
        int(r[5]),  # type: ignore[call-overload]
        int(r[6]),  # type: ignore[call-overload]
        int(r[7]),  # type: ignore[call-overload]
        str(r[8]),
        bytes(r[9]),  # type: ignore[call-overload]
    )


def _json_or_none(value: object) -> bytes | None:
    return None if value is None else orjson.dumps(value)


def _dead_row(destination_id: str, dead: DeadLetterIn, at: int, n: int) -> tuple[object, ...]:
    # Time first, then the position in its batch: ids sort in the order letters were written.
    return (
        f"dl_{at:012x}{n:05x}{uuid.uuid4().hex[:10]}",
        destination_id,
        dead.item_key,
        at,
        dead.attempts,
        dead.reason,
        dead.item,
        _json_or_none(dead.request),
        _json_or_none(dead.response),
    )


def _insert_dead(tx: Tx, destination_id: str, dead: Sequence[DeadLetterIn], at: int) -> None:
    # One dead letter per item: a batch handed over again after a crash (at-least-once) finds
    # its item's letter already written and adds no second one. A retried letter is deleted
    # when its item goes back to the outbox, so a later death is recorded afresh.
    tx.executemany(
        f"INSERT INTO dead_letters ({_DEAD}) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?"
        " WHERE NOT EXISTS (SELECT 1 FROM dead_letters WHERE destination_id = ? AND item_key = ?)",
        [
            (*_dead_row(destination_id, d, at, n), destination_id, d.item_key)
            for n, d in enumerate(dead)
        ],
    )


def _insert_items(tx: Tx, destination_id: str, items: Sequence[OutboxItem], due: int) -> None:
    tx.executemany(
        "INSERT INTO outbox (destination_id, item_key, order_key, log_seq, enqueued_ms, due_ms,"
        " attempts, last_reason, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (destination_id, item_key) DO NOTHING",
        [
            (
                destination_id,
                i.item_key,
                i.order_key,
                i.log_seq,
                i.enqueued_ms,
                due if i.due_ms is None else i.due_ms,
                i.attempts,
                i.last_reason,
                i.body,
            )
            for i in items
        ],
    )


def enqueue_tx(
    tx: Tx,
    destination_id: str,
    items: Sequence[OutboxItem],
    dead: Sequence[DeadLetterIn] = (),
    at_ms: int | None = None,
) -> None:
    """:func:`enqueue` inside a caller's transaction (to commit a cursor along with it)."""
    at = now_ms() if at_ms is None else at_ms
    _insert_items(tx, destination_id, items, at)
    _insert_dead(tx, destination_id, dead, at)


async def enqueue(
    store: SqlStore,
    destination_id: str,
    items: Sequence[OutboxItem],
    dead: Sequence[DeadLetterIn] = (),
) -> None:
    """Durably add items (due now) and mapping-time dead letters; duplicates are ignored."""
    if not items and not dead:
        return
    await store.engine.write(lambda tx: enqueue_tx(tx, destination_id, items, dead))


async def due(store: SqlStore, destination_id: str, at_ms: int, limit: int) -> list[OutboxRow]:
    """Rows due at ``at_ms`` in enqueue order, never past an earlier row of the same order key
    that is still waiting (per-device order)."""
    rows = await store.engine.read(
        lambda tx: tx.all(
            # Walk the queue in id order (``+`` keeps the planner off the due_ms index, which
            # would sort the whole backlog on every call); the blocked check is an index seek
            # on (order_key, due_ms) that finds nothing in the common case.
            f"SELECT {_ROW} FROM outbox o WHERE o.destination_id = ? AND +o.due_ms <= ?"
            " AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.destination_id = o.destination_id"
            " AND p.order_key = o.order_key AND p.due_ms > ? AND p.id < o.id)"
            " ORDER BY o.id LIMIT ?",
            (destination_id, at_ms, at_ms, limit),
        )
    )
    return [_row(r) for r in rows]


async def waiting_order_keys(store: SqlStore, destination_id: str, limit: int) -> set[str] | None:
    """The order keys (devices, else users) with rows in the outbox, or ``None`` past ``limit``.

    Events of these keys must queue behind their rows; any other key's events may be sent
    straight away without breaking its order. ``None`` means "too many to list: queue all".
    """
    rows = await store.engine.read(
        lambda tx: tx.all(
            "SELECT DISTINCT order_key FROM outbox WHERE destination_id = ? LIMIT ?",
            (destination_id, limit + 1),
        )
    )
    if len(rows) > limit:
        return None
    return {str(r[0]) for r in rows}


async def next_due_ms(store: SqlStore, destination_id: str) -> int | None:
    """The earliest ``due_ms`` of the destination's outbox, or ``None`` when it is empty."""
    value = await store.engine.read(
        lambda tx: tx.scalar(
            "SELECT MIN(due_ms) FROM outbox WHERE destination_id = ?", (destination_id,)
        )
    )
    return int(value) if value is not None else None


async def settle(store: SqlStore, destination_id: str, outcomes: Sequence[Settle]) -> None:
    """Apply the outcomes of one send in one transaction."""
    at = now_ms()
    delivered = [o.row_id for o in outcomes if o.retry_at is None and o.dead is None]
    retries = [
        (o.retry_at, o.attempts, o.reason, o.row_id)
        for o in outcomes
        if o.retry_at is not None and o.dead is None
    ]
    dead = [o for o in outcomes if o.dead is not None]

    def run(tx: Tx) -> None:
        for i in range(0, len(delivered), 500):
            chunk = delivered[i : i + 500]
            marks = ", ".join("?" * len(chunk))
            tx.execute(f"DELETE FROM outbox WHERE id IN ({marks})", chunk)
        tx.executemany(
            "UPDATE outbox SET due_ms = ?, attempts = ?, last_reason = ? WHERE id = ?", retries
        )
        _insert_dead(tx, destination_id, [o.dead for o in dead if o.dead is not None], at)
        tx.executemany("DELETE FROM outbox WHERE id = ?", [(o.row_id,) for o in dead])

    await store.engine.write(run)


async def outbox_size(store: SqlStore, destination_id: str) -> int:
    """How many rows wait for the destination."""
    value = await store.engine.read(
        lambda tx: tx.scalar(
            "SELECT COUNT(*) FROM outbox WHERE destination_id = ?", (destination_id,)
        )
    )
    return int(value or 0)


async def drop_outbox(store: SqlStore, destination_id: str) -> int:
    """Forget everything waiting for a deleted destination; returns how many rows."""

    def run(tx: Tx) -> int:
        cur = tx.execute("DELETE FROM outbox WHERE destination_id = ?", (destination_id,))
        return int(cur.rowcount or 0)

    return await store.engine.write(run)


# ----------------------------------------------------------------------------- dead letters


def _dead_letter(r: tuple[object, ...]) -> DeadLetter:
    return DeadLetter(
        id=str(r[0]),
        destination_id=str(r[1]),
        item_key=str(r[2]),
        created_at=int(r[3]),  # type: ignore[call-overload]
        attempts=int(r[4]),  # type: ignore[call-overload]
        reason=str(r[5]),
        item=bytes(r[6]),  # type: ignore[call-overload]
        request=orjson.loads(bytes(r[7])) if r[7] is not None else None,  # type: ignore[call-overload]
        response=orjson.loads(bytes(r[8])) if r[8] is not None else None,  # type: ignore[call-overload]
    )


async def list_dead_letters(
    store: SqlStore,
    destination_id: str,
    limit: int = 1000,
    *,
    after: tuple[int, str] | None = None,
) -> list[DeadLetter]:
    """The destination's dead letters, oldest first (after ``(created_at, id)`` when given)."""
    page, params = keyset(("created_at", "id"), after, limit)
    rows = await store.engine.read(
        lambda tx: tx.all(
            f"SELECT {_DEAD} FROM dead_letters WHERE destination_id = ?{page}",
            (destination_id, *params),
        )
    )
    return [_dead_letter(r) for r in rows]


def _selected(tx: Tx, destination_id: str, ids: Sequence[str] | None) -> list[DeadLetter]:
    rows = tx.all(
        f"SELECT {_DEAD} FROM dead_letters WHERE destination_id = ? ORDER BY created_at, id",
        (destination_id,),
    )
    letters = [_dead_letter(r) for r in rows]
    if ids is None:
        return letters
    wanted = set(ids)
    return [d for d in letters if d.id in wanted]


async def retry_dead_letters(
    store: SqlStore,
    destination_id: str,
    ids: Sequence[str] | None,
    order_key: Callable[[bytes], str] | None = None,
) -> int:
    """Move dead letters (all, or ``ids``) back into the outbox, due now with a fresh age.

    ``order_key`` is a function of the item bytes giving its order key (default: empty).
    """
    at = now_ms()

    def run(tx: Tx) -> int:
        letters = _selected(tx, destination_id, ids)
        items = [
            OutboxItem(
                d.item_key,
                order_key(d.item) if order_key is not None else "",
                0,
                at,
                d.item,
            )
            for d in letters
        ]
        # An item still (or again) waiting under the same key is replaced by the retried one.
        tx.executemany(
            "DELETE FROM outbox WHERE destination_id = ? AND item_key = ?",
            [(destination_id, d.item_key) for d in letters],
        )
        _insert_items(tx, destination_id, items, at)
        tx.executemany("DELETE FROM dead_letters WHERE id = ?", [(d.id,) for d in letters])
        return len(letters)

    return await store.engine.write(run)


async def discard_dead_letters(
    store: SqlStore, destination_id: str, ids: Sequence[str] | None
) -> int:
    """Delete dead letters (all, or ``ids``); returns how many."""

    def run(tx: Tx) -> int:
        letters = _selected(tx, destination_id, ids)
        tx.executemany("DELETE FROM dead_letters WHERE id = ?", [(d.id,) for d in letters])
        return len(letters)

    return await store.engine.write(run)
