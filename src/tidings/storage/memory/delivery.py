"""The lease, outbox and dead-letter roles of the memory store, with the SQL store's rules:
fenced cursor commits, per-key order in ``due``, one dead letter per item."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Sequence

from tidings.storage.clock import now_ms, wall_ms
from tidings.storage.deliveryrecords import (
    DeadLetter,
    DeadLetterIn,
    Lease,
    OutboxItem,
    OutboxRow,
    Settle,
    dead_letter_id,
)
from tidings.storage.identitystates import group_decisions
from tidings.storage.logrecords import DecisionIn
from tidings.storage.memory.state import MemoryState
from tidings.storage.paging import page_of


class MemoryDelivery:
    """Leases, outboxes and dead letters over a :class:`MemoryState`."""

    _state: MemoryState
    _append_decisions: Callable[[str, Sequence[DecisionIn], int], bool]
    _wake_appended: Callable[[], None]

    # leases ----------------------------------------------------------------------------------

    def _holds(self, name: str, holder: str, at: int) -> bool:
        lease = self._state.leases.get(name)
        return lease is not None and lease[0] == holder and lease[1] > at

    async def acquire_lease(self, name: str, holder: str, ttl_ms: int) -> bool:
        at = now_ms()
        with self._state.lock:
            lease = self._state.leases.get(name)
            if lease is None or lease[0] == holder or lease[1] <= at:
                self._state.leases[name] = (holder, at + ttl_ms)
            return self._holds(name, holder, at)

    async def release_lease(self, name: str, holder: str) -> None:
        with self._state.lock:
            lease = self._state.leases.get(name)
            if lease is not None and lease[0] == holder:
                del self._state.leases[name]

    async def commit_cursor_leased(self, cursor: str, seq: int, holder: str) -> bool:
        with self._state.lock:
            if not self._holds(cursor, holder, now_ms()):
                return False
            if self._state.cursors.get(cursor, -1) < seq:
                self._state.cursors[cursor] = seq
            return True

    async def list_leases(self) -> list[Lease]:
        with self._state.lock:
            return [Lease(n, h, e) for n, (h, e) in sorted(self._state.leases.items())]

    # outbox ----------------------------------------------------------------------------------

    def _rows(self, destination_id: str) -> list[OutboxRow]:
        return [r for r in self._state.outbox.values() if r.destination_id == destination_id]

    def _insert(self, destination_id: str, items: Sequence[OutboxItem], at: int) -> None:
        state = self._state
        for item in items:
            if (destination_id, item.item_key) in state.outbox_keys:
                continue
            row_id = state.next_outbox_id
            state.next_outbox_id += 1
            state.outbox[row_id] = OutboxRow(
                row_id,
                destination_id,
                item.item_key,
                item.order_key,
                item.log_seq,
                item.enqueued_ms,
                at if item.due_ms is None else item.due_ms,
                item.attempts,
                item.last_reason,
                item.body,
            )
            state.outbox_keys[(destination_id, item.item_key)] = row_id

    def _remove(self, row_id: int) -> None:
        row = self._state.outbox.pop(row_id, None)
        if row is not None:
            self._state.outbox_keys.pop((row.destination_id, row.item_key), None)

    def _bury(self, destination_id: str, dead: Sequence[DeadLetterIn], at: int) -> None:
        letters = self._state.dead_letters
        present = {(d.destination_id, d.item_key) for d in letters.values()}
        for n, d in enumerate(dead):
            if (destination_id, d.item_key) in present:
                continue
            present.add((destination_id, d.item_key))
            letter_id = dead_letter_id(at, n, uuid.uuid4().hex)
            letters[letter_id] = DeadLetter(
                letter_id,
                destination_id,
                d.item_key,
                at,
                d.attempts,
                d.reason,
                d.item,
                d.request,
                d.response,
            )

    async def enqueue(
        self,
        destination_id: str,
        items: Sequence[OutboxItem],
        dead: Sequence[DeadLetterIn] = (),
    ) -> None:
        with self._state.lock:
            self._insert(destination_id, items, wall_ms())
            self._bury(destination_id, dead, now_ms())

    async def due(self, destination_id: str, at_ms: int, limit: int) -> list[OutboxRow]:
        out: list[OutboxRow] = []
        waiting: set[str] = set()
        with self._state.lock:
            for row in self._rows(destination_id):
                if row.due_ms > at_ms:
                    waiting.add(row.order_key)
                elif row.order_key not in waiting:
                    out.append(row)
                    if len(out) >= limit:
                        break
        return out

    async def waiting_order_keys(self, destination_id: str, limit: int) -> set[str] | None:
        with self._state.lock:
            keys = {r.order_key for r in self._rows(destination_id)}
        return None if len(keys) > limit else keys

    async def next_due_ms(self, destination_id: str) -> int | None:
        with self._state.lock:
            return min((r.due_ms for r in self._rows(destination_id)), default=None)

    async def settle(
        self,
        destination_id: str,
        outcomes: Sequence[Settle],
        log: Sequence[tuple[str, DecisionIn]] = (),
    ) -> None:
        at = now_ms()
        appended = False
        with self._state.lock:
            for app_id, decisions in group_decisions(log).items():
                appended |= self._append_decisions(app_id, decisions, wall_ms())
            outbox = self._state.outbox
            for o in outcomes:
                if o.dead is not None:
                    self._bury(destination_id, [o.dead], at)
                    self._remove(o.row_id)
                elif o.retry_at is not None:
                    row = outbox.get(o.row_id)
                    if row is not None:
                        outbox[o.row_id] = dataclasses.replace(
                            row, due_ms=o.retry_at, attempts=o.attempts, last_reason=o.reason
                        )
                else:
                    self._remove(o.row_id)
        if appended:
            self._wake_appended()

    async def outbox_rows(self, destination_id: str, limit: int = 1000) -> list[OutboxRow]:
        with self._state.lock:
            return self._rows(destination_id)[:limit]

    async def outbox_size(self, destination_id: str) -> int:
        with self._state.lock:
            return len(self._rows(destination_id))

    async def drop_outbox(self, destination_id: str) -> int:
        with self._state.lock:
            rows = self._rows(destination_id)
            for row in rows:
                self._remove(row.id)
        return len(rows)

    # dead letters ----------------------------------------------------------------------------

    def _letters(self, destination_id: str, ids: Sequence[str] | None) -> list[DeadLetter]:
        letters = sorted(
            (d for d in self._state.dead_letters.values() if d.destination_id == destination_id),
            key=lambda d: (d.created_at, d.id),
        )
        if ids is None:
            return letters
        wanted = set(ids)
        return [d for d in letters if d.id in wanted]

    async def list_dead_letters(
        self,
        destination_id: str,
        limit: int = 1000,
        *,
        after: tuple[int, str] | None = None,
    ) -> list[DeadLetter]:
        with self._state.lock:
            letters = self._letters(destination_id, None)
        return page_of(letters, lambda d: (d.created_at, d.id), after, limit)

    async def retry_dead_letters(
        self,
        destination_id: str,
        ids: Sequence[str] | None,
        order_key: Callable[[bytes], str] | None = None,
    ) -> int:
        at = wall_ms()
        with self._state.lock:
            letters = self._letters(destination_id, ids)
            for d in letters:
                row_id = self._state.outbox_keys.get((destination_id, d.item_key))
                if row_id is not None:
                    self._remove(row_id)
                key = order_key(d.item) if order_key is not None else ""
                self._insert(destination_id, [OutboxItem(d.item_key, key, 0, at, d.item)], at)
                del self._state.dead_letters[d.id]
        return len(letters)

    async def discard_dead_letters(self, destination_id: str, ids: Sequence[str] | None) -> int:
        with self._state.lock:
            letters = self._letters(destination_id, ids)
            for d in letters:
                del self._state.dead_letters[d.id]
        return len(letters)
