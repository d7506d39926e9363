"""Per-identity state of server-side campaigns, committed with the evaluating consumer's cursor.

The server-campaign consumer keeps one small blob per identity (its engine state, traits, the
device as last seen). :meth:`commit_identity_batch` writes one batch's outcome in **one**
transaction: the changed states, the decisions appended to the event log (with their stats),
the rendered deliveries queued in the destinations' outboxes, and the cursor moved past the
batch. The cursor only moves when it is still before the batch's first record, so a batch that
another process already committed (or a redone batch after a crash) writes nothing: an event
is never counted twice and a decision never made twice.

**Compare and set.** On a partitioned log one person's events can arrive in several partitions
(a user on two devices) and so at several consumers at once. Their states are then committed
with ``expected``: each such key is written only if its stored body is still the one the batch
was evaluated from (absent stays absent); otherwise :class:`StateConflict` is raised and nothing
of the batch is written, so the consumer evaluates it again from the fresh state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from tidings.storage.catalogs import CatalogGuard, CatalogLimits
from tidings.storage.clock import now_ms, wall_ms
from tidings.storage.deliveryrecords import OutboxItem
from tidings.storage.engine import Engine, Tx
from tidings.storage.logrecords import DecisionIn

MAX_KEYS_PER_READ = 500
"""Keys per ``IN (...)`` query when states are loaded."""


@dataclass(frozen=True, slots=True)
class IdentityCommit:
    """What one handled batch of the consumer named ``cursor`` changes, written together.

    ``first_seq`` / ``last_seq`` are the batch's first and last record: the commit happens only
    when the cursor is still before ``first_seq``. ``decisions`` are ``(app id, decision)``,
    ``deliveries`` ``(destination id, outbox item)``. ``expected`` maps state keys to the body
    the batch read (``None``: none was stored); those keys are compared and set (see the module
    docstring), the others written as they are.
    """

    cursor: str
    first_seq: int
    last_seq: int
    states: Sequence[tuple[str, bytes]] = ()
    decisions: Sequence[tuple[str, DecisionIn]] = ()
    deliveries: Sequence[tuple[str, OutboxItem]] = field(default_factory=tuple)
    expected: Mapping[str, bytes | None] = field(default_factory=dict)


class StateConflict(RuntimeError):
    """A state the batch was evaluated from changed meanwhile (another partition's consumer
    committed the same person): nothing was written; evaluate the batch again."""

    def __init__(self, keys: Sequence[str]) -> None:
        super().__init__(f"identity states changed meanwhile: {', '.join(keys[:5])}")
        self.keys = list(keys)


def compare_and_set(
    tx: Tx, expected: Mapping[str, bytes | None], states: Sequence[tuple[str, bytes]], at: int
) -> None:
    """Write the ``expected`` keys of ``states`` only if each is still as read; raise
    :class:`StateConflict` (rolling the job back) when one is not. Keys go in sorted order, so
    two commits touching the same persons lock them in the same order."""
    conflicts: list[str] = []
    for key, body in sorted((k, b) for k, b in states if k in expected):
        before = expected[key]
        if before is None:
            cur = tx.execute(
                "INSERT INTO identity_states (state_key, body, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (state_key) DO NOTHING",
                (key, body, at),
            )
        else:
            cur = tx.execute(
                "UPDATE identity_states SET body = ?, updated_at = ? WHERE state_key = ?"
                " AND body = ?",
                (body, at, key, before),
            )
        if cur.rowcount != 1:
            conflicts.append(key)
    if conflicts:
        raise StateConflict(conflicts)


def group_decisions(
    decisions: Sequence[tuple[str, DecisionIn]],
) -> dict[str, list[DecisionIn]]:
    """Decisions by app, in order (an append is per app)."""
    out: dict[str, list[DecisionIn]] = {}
    for app_id, decision in decisions:
        out.setdefault(app_id, []).append(decision)
    return out


class IdentityStatesMixin:
    """The identity-state role of ``SqlStore``."""

    _engine: Engine
    _catalogs: CatalogGuard

    _wake_appended: Callable[[], None]

    async def load_identity_states(self, keys: Sequence[str]) -> dict[str, bytes]:
        if not keys:
            return {}

        def run(tx: Tx) -> dict[str, bytes]:
            out: dict[str, bytes] = {}
            for i in range(0, len(keys), MAX_KEYS_PER_READ):
                chunk = list(keys[i : i + MAX_KEYS_PER_READ])
                marks = ", ".join("?" * len(chunk))
                for key, body in tx.all(
                    f"SELECT state_key, body FROM identity_states WHERE state_key IN ({marks})",
                    chunk,
                ):
                    out[str(key)] = bytes(body)
            return out

        return await self._engine.read(run)

    async def commit_identity_batch(self, commit: IdentityCommit, arrival_ms: int) -> bool:
        from tidings.storage.eventlog import ingest_tx
        from tidings.storage.outbox import _insert_items

        guard, limits = self._catalogs, CatalogLimits()
        at, due = now_ms(), wall_ms()

        def run(tx: Tx) -> bool:
            moved = tx.one(
                "INSERT INTO cursors (name, seq, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET seq = excluded.seq,"
                " updated_at = excluded.updated_at WHERE cursors.seq < ?"
                " RETURNING name",
                (commit.cursor, commit.last_seq, at, commit.first_seq),
            )
            if moved is None:
                return False
            expected = commit.expected
            if expected:
                compare_and_set(tx, expected, commit.states, at)
            tx.executemany(
                "INSERT INTO identity_states (state_key, body, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (state_key) DO UPDATE SET body = excluded.body,"
                " updated_at = excluded.updated_at",
                [(key, body, at) for key, body in commit.states if key not in expected],
            )
            for app_id, decisions in group_decisions(commit.decisions).items():
                ingest_tx(
                    tx,
                    app_id,
                    events=[],
                    decisions=decisions,
                    arrival_ms=arrival_ms,
                    request_id=None,
                    render=None,
                    custom_properties=None,
                    guard=guard,
                    limits=limits,
                )
            by_destination: dict[str, list[OutboxItem]] = {}
            for destination_id, item in commit.deliveries:
                by_destination.setdefault(destination_id, []).append(item)
            for destination_id, items in by_destination.items():
                _insert_items(tx, destination_id, items, due)
            return True

        done = await self._engine.write(run)
        if done and commit.decisions:
            self._wake_appended()
        return bool(done)

    async def identity_state_count(self) -> int:
        value = await self._engine.read(
            lambda tx: tx.scalar("SELECT COUNT(*) FROM identity_states")
        )
        return int(value or 0)
