"""Destination outboxes and dead letters for the SQL backends: rows, not memory.

The :class:`~tidings.storage.roles.Outbox` and :class:`~tidings.storage.roles.DeadLetters` roles
of ``SqlStore``. Per-key order is the ``due`` query's job: it never returns a row while an
earlier row (smaller ``id``) with the same ``order_key`` still waits for a later time.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence

import orjson

from tidings.storage.catalogs import CatalogGuard, CatalogLimits
from tidings.storage.clock import now_ms, wall_ms
from tidings.storage.deliveryrecords import (
    DeadLetter,
    DeadLetterIn,
    OutboxItem,
    OutboxRow,
    Settle,
    dead_letter_id,
)
from tidings.storage.engine import Engine, Tx
from tidings.storage.logrecords import DecisionIn
from tidings.storage.paging import keyset

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
    return (
        dead_letter_id(at, n, uuid.uuid4().hex),
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


def _append_log(tx: Tx, log: Sequence[tuple[str, DecisionIn]], guard: CatalogGuard) -> None:
    from tidings.storage.eventlog import ingest_tx
    from tidings.storage.identitystates import group_decisions

    for app_id, decisions in group_decisions(log).items():
        ingest_tx(
            tx,
            app_id,
            events=[],
            decisions=decisions,
            arrival_ms=wall_ms(),
            request_id=None,
            render=None,
            custom_properties=None,
            guard=guard,
            limits=CatalogLimits(),
        )


class OutboxMixin:
    """The outbox and dead-letter roles of ``SqlStore``."""

    _engine: Engine
    _catalogs: CatalogGuard
    _wake_appended: Callable[[], None]

    async def enqueue(
        self,
        destination_id: str,
        items: Sequence[OutboxItem],
        dead: Sequence[DeadLetterIn] = (),
    ) -> None:
        if not items and not dead:
            return
        due, at = wall_ms(), now_ms()

        def run(tx: Tx) -> None:
            _insert_items(tx, destination_id, items, due)
            _insert_dead(tx, destination_id, dead, at)

        await self._engine.write(run)

    async def due(self, destination_id: str, at_ms: int, limit: int) -> list[OutboxRow]:
        rows = await self._engine.read(
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

    async def waiting_order_keys(self, destination_id: str, limit: int) -> set[str] | None:
        rows = await self._engine.read(
            lambda tx: tx.all(
                "SELECT DISTINCT order_key FROM outbox WHERE destination_id = ? LIMIT ?",
                (destination_id, limit + 1),
            )
        )
        if len(rows) > limit:
            return None
        return {str(r[0]) for r in rows}

    async def next_due_ms(self, destination_id: str) -> int | None:
        value = await self._engine.read(
            lambda tx: tx.scalar(
                "SELECT MIN(due_ms) FROM outbox WHERE destination_id = ?", (destination_id,)
            )
        )
        return int(value) if value is not None else None

    async def settle(
        self,
        destination_id: str,
        outcomes: Sequence[Settle],
        log: Sequence[tuple[str, DecisionIn]] = (),
    ) -> None:
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
            if log:
                _append_log(tx, log, self._catalogs)

        await self._engine.write(run)
        if log:
            self._wake_appended()

    async def outbox_rows(self, destination_id: str, limit: int = 1000) -> list[OutboxRow]:
        rows = await self._engine.read(
            lambda tx: tx.all(
                f"SELECT {_ROW} FROM outbox WHERE destination_id = ? ORDER BY id LIMIT ?",
                (destination_id, limit),
            )
        )
        return [_row(r) for r in rows]

    async def outbox_size(self, destination_id: str) -> int:
        value = await self._engine.read(
            lambda tx: tx.scalar(
                "SELECT COUNT(*) FROM outbox WHERE destination_id = ?", (destination_id,)
            )
        )
        return int(value or 0)

    async def drop_outbox(self, destination_id: str) -> int:
        def run(tx: Tx) -> int:
            cur = tx.execute("DELETE FROM outbox WHERE destination_id = ?", (destination_id,))
            return int(cur.rowcount or 0)

        return await self._engine.write(run)

    # dead letters ------------------------------------------------------------------------------

    async def list_dead_letters(
        self,
        destination_id: str,
        limit: int = 1000,
        *,
        after: tuple[int, str] | None = None,
    ) -> list[DeadLetter]:
        page, params = keyset(("created_at", "id"), after, limit)
        rows = await self._engine.read(
            lambda tx: tx.all(
                f"SELECT {_DEAD} FROM dead_letters WHERE destination_id = ?{page}",
                (destination_id, *params),
            )
        )
        return [_dead_letter(r) for r in rows]

    async def retry_dead_letters(
        self,
        destination_id: str,
        ids: Sequence[str] | None,
        order_key: Callable[[bytes], str] | None = None,
    ) -> int:
        at = wall_ms()

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

        return await self._engine.write(run)

    async def discard_dead_letters(self, destination_id: str, ids: Sequence[str] | None) -> int:
        def run(tx: Tx) -> int:
            letters = _selected(tx, destination_id, ids)
            tx.executemany("DELETE FROM dead_letters WHERE id = ?", [(d.id,) for d in letters])
            return len(letters)

        return await self._engine.write(run)
