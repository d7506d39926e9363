"""The event log's on-disk form: one row per appended batch, many records per row.

An upload of a hundred events used to be a hundred log rows, each maintained in four B-trees
and each repeating the upload's device block. Under load that index and page work was most of a
request's cost, and it set the server's latency. Now one ingest writes:

* one ``log_batches`` row per kind (events, decisions) holding every new record of the request:
  a small JSON document of per-record columns (``items``) and one blob (``bodies``) that holds
  each distinct payload prefix once followed by each record's own bytes;
* one narrow ``log_ids`` row per record, the (app, kind, id) key that makes appends idempotent
  (the app and kind folded into one small integer, see :func:`id_scope`).

Records keep one sequence number each, dense and in commit order: a batch row is keyed by the
``seq`` of its last record and knows its ``count``, so record ``i`` of a batch has
``last_seq - count + 1 + i``. Cursors, ``LogRecord.seq`` and paging are unchanged; a reader that
stops inside a batch reads that batch again next time and skips what it already returned.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import orjson

from tidings.storage.engine import Row, Tx
from tidings.storage.logrecords import DecisionIn, EventIn, LogKind, LogRecord

BATCH_COLUMNS = "last_seq, app_id, kind, count, arrival_ms, items, bodies"
"""Columns :func:`unpack` expects, in order."""

FETCH_BATCHES = 16
"""Batch rows fetched per query while a reader fills its limit."""

LogItem = tuple[str, str, int, str | None, str | None, bytes, bytes]
"""(item id, name, timestamp, device id, user id, payload prefix, payload rest)."""


def log_item(item: EventIn | DecisionIn) -> LogItem:
    """The columns one appended item is stored with (a decision is named by its campaign and
    has no shared prefix); the SQL batch row and the JetStream message alike."""
    if isinstance(item, EventIn):
        return (item.id, item.name, item.timestamp, item.device_id, item.user_id, item.prefix,
                item.payload)  # fmt: skip
    return (item.id, item.campaign_id, item.timestamp, item.device_id, item.user_id, b"",
            item.payload)  # fmt: skip


def pack(items: Sequence[LogItem]) -> tuple[bytes, bytes, int, int]:
    """Encode records as ``(items, bodies, min_ts, max_ts)`` for one ``log_batches`` row.

    Prefixes are deduplicated by value; uploads hand every event the same prefix object, whose
    hash Python computes once, so this costs one dictionary lookup per record.
    """
    prefix_index: dict[bytes, int] = {}
    prefixes: list[bytes] = []
    ids: list[str] = []
    names: list[str] = []
    stamps: list[int] = []
    devices: list[str | None] = []
    users: list[str | None] = []
    refs: list[int] = []
    rests: list[bytes] = []
    for item_id, name, ts, device_id, user_id, prefix, rest in items:
        ref = -1
        if prefix:
            found = prefix_index.get(prefix)
            if found is None:
                found = prefix_index[prefix] = len(prefixes)
                prefixes.append(prefix)
            ref = found
        ids.append(item_id)
        names.append(name)
        stamps.append(ts)
        devices.append(device_id)
        users.append(user_id)
        refs.append(ref)
        rests.append(rest)
    meta = {
        "prefixes": [len(p) for p in prefixes],
        "id": ids,
        "name": names,
        "ts": stamps,
        "device": devices,
        "user": users,
        "prefix": refs,
        "size": [len(r) for r in rests],
    }
    return orjson.dumps(meta), b"".join(prefixes) + b"".join(rests), min(stamps), max(stamps)


def unpack(row: Row, keep: Callable[[int, int], bool] | None = None) -> Iterator[LogRecord]:
    """The records of one batch row (selected as :data:`BATCH_COLUMNS`), in sequence order.

    ``keep(seq, timestamp)`` filters records before their payload is assembled.
    """
    last_seq, app_id, kind, count, arrival_ms, meta_raw, bodies_raw = row
    first = int(last_seq) - int(count) + 1
    return records_of(
        app_id,
        kind,
        int(arrival_ms),
        orjson.loads(bytes(meta_raw)),
        bytes(bodies_raw),
        seqs=range(first, first + int(count)),
        keep=keep,
    )


def records_of(
    app_id: str,
    kind: LogKind,
    arrival_ms: int,
    meta: dict[str, Any],
    bodies: bytes,
    *,
    seqs: Sequence[int],
    keep: Callable[[int, int], bool] | None = None,
) -> Iterator[LogRecord]:
    """The records :func:`pack` encoded as ``(meta, bodies)`` (``meta`` parsed), numbered by
    ``seqs`` (one per record, in order): the SQL log numbers a batch densely, the JetStream log
    by message.

    ``keep(seq, timestamp)`` filters records before their payload is assembled.
    """
    prefixes: list[bytes] = []
    offset = 0
    for size in meta["prefixes"]:
        prefixes.append(bodies[offset : offset + size])
        offset += size
    for seq, item_id, name, ts, device_id, user_id, ref, size in zip(
        seqs,
        meta["id"],
        meta["name"],
        meta["ts"],
        meta["device"],
        meta["user"],
        meta["prefix"],
        meta["size"],
        strict=True,
    ):
        end = offset + size
        if keep is None or keep(seq, ts):
            rest = bodies[offset:end]
            prefix = prefixes[ref] if ref >= 0 else b""
            yield LogRecord(
                seq,
                app_id,
                kind,
                item_id,
                name,
                ts,
                arrival_ms,
                prefix + rest,
                device_id,
                user_id,
                prefix,
            )
        offset = end


def last_seq(tx: Tx) -> int:
    """The highest sequence number written (0 for an empty log)."""
    value = tx.scalar("SELECT MAX(last_seq) FROM log_batches")
    return int(value) if value is not None else 0


def write_batch(
    tx: Tx,
    app_id: str,
    kind: LogKind,
    items: Sequence[LogItem],
    *,
    first_seq: int,
    arrival_ms: int,
) -> None:
    """Store ``items`` (all new) as one batch numbered from ``first_seq``."""
    meta, bodies, min_ts, max_ts = pack(items)
    tx.execute(
        "INSERT INTO log_batches (last_seq, app_id, kind, count, arrival_ms, min_ts, max_ts,"
        " items, bodies) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            first_seq + len(items) - 1,
            app_id,
            kind,
            len(items),
            arrival_ms,
            min_ts,
            max_ts,
            meta,
            bodies,
        ),
    )


def id_scope(tx: Tx, app_id: str, kind: LogKind) -> int:
    """The integer that stands for (app, kind) in ``log_ids`` keys.

    Keys of a small integer and the item id cost a third less to insert than keys that repeat
    the 36-character app id, and every logged record inserts one. Apps are numbered on their
    first append (inside the write transaction, so on PostgreSQL under the writers' lock).
    """
    number = tx.scalar("SELECT number FROM log_apps WHERE app_id = ?", (app_id,))
    if number is None:
        number = tx.scalar("SELECT COALESCE(MAX(number), 0) + 1 FROM log_apps")
        tx.execute("INSERT INTO log_apps (app_id, number) VALUES (?, ?)", (app_id, number))
    if kind == "conversion":  # a scope of its own that no event or decision key can take
        return -int(number)
    return int(number) * 2 + (1 if kind == "decision" else 0)


def claim_ids(tx: Tx, app_id: str, kind: LogKind, ids: Sequence[str], first_seq: int) -> set[str]:
    """Insert the (app, kind, id) keys; return the ids that were not stored before.

    ``ids`` must be distinct. ``first_seq`` is recorded with each new key (the batch it went
    into), which is also how SQLite tells the new ones apart when some already existed.
    """
    scope = id_scope(tx, app_id, kind)
    if tx.dialect.name == "postgresql":
        cur = tx.execute(
            "INSERT INTO log_ids (scope, item_id, first_seq)"
            " SELECT ?, unnest(?::text[]), ? ON CONFLICT (scope, item_id) DO NOTHING"
            " RETURNING item_id",
            (scope, list(ids), first_seq),
        )
        return {r[0] for r in cur.fetchall()}
    cur = tx.conn.cursor()
    cur.executemany(
        "INSERT INTO log_ids (scope, item_id, first_seq) VALUES (?, ?, ?)"
        " ON CONFLICT (scope, item_id) DO NOTHING",
        [(scope, item_id, first_seq) for item_id in ids],
    )
    if cur.rowcount == len(ids):
        return set(ids)
    fresh: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        marks = ", ".join("?" * len(chunk))
        fresh.update(
            r[0]
            for r in tx.all(
                f"SELECT item_id FROM log_ids WHERE scope = ? AND first_seq = ?"
                f" AND item_id IN ({marks})",
                (scope, first_seq, *chunk),
            )
        )
    return fresh


def _batch_rows(tx: Tx, sql: str, start: int, params: Sequence[Any]) -> Iterator[Row]:
    """Batch rows from ``sql`` (which takes the position, ``params`` and a limit, in that
    order), :data:`FETCH_BATCHES` per query, each query resuming after the last row seen."""
    position = start
    while True:
        rows = tx.all(sql, (position, *params, FETCH_BATCHES))
        yield from rows
        if len(rows) < FETCH_BATCHES:
            return
        position = int(rows[-1][0])


def read_forward(
    tx: Tx,
    after_seq: int,
    limit: int,
    *,
    where: str = "",
    params: Sequence[Any] = (),
    keep: Callable[[int, int], bool] | None = None,
) -> list[LogRecord]:
    """Up to ``limit`` records with ``seq > after_seq`` in sequence order.

    ``where`` narrows the batch rows (``AND ...`` SQL with ``params``); ``keep`` narrows the
    records inside them. Batch rows are fetched a few at a time until the limit is reached.
    """
    out: list[LogRecord] = []
    if limit <= 0:
        return out
    sql = (
        f"SELECT {BATCH_COLUMNS} FROM log_batches WHERE last_seq > ?{where}"
        " ORDER BY last_seq LIMIT ?"
    )
    for row in _batch_rows(tx, sql, after_seq, params):
        for record in unpack(row, keep):
            if record.seq > after_seq:
                out.append(record)
                if len(out) == limit:
                    return out
    return out


def read_backward(
    tx: Tx, app_id: str, kind: LogKind, limit: int, before: int | None = None
) -> list[LogRecord]:
    """The newest ``limit`` records of one app and kind, newest first; with ``before``, only
    records whose ``seq`` is smaller (the batch holding ``before - 1`` may end after it)."""
    out: list[LogRecord] = []
    if limit <= 0:
        return out
    rows: Iterator[Row] | list[Row] = []
    if before is not None:
        straddling = tx.one(
            f"SELECT {BATCH_COLUMNS} FROM log_batches WHERE last_seq >= ? AND app_id = ?"
            " AND kind = ? ORDER BY last_seq LIMIT 1",
            (before, app_id, kind),
        )
        rows = [straddling] if straddling is not None else []
    sql = (
        f"SELECT {BATCH_COLUMNS} FROM log_batches WHERE last_seq < ? AND app_id = ?"
        " AND kind = ? ORDER BY last_seq DESC LIMIT ?"
    )
    start = 2**63 - 1 if before is None else before
    for row in itertools.chain(rows, _batch_rows(tx, sql, start, (app_id, kind))):
        for record in reversed(list(unpack(row))):
            if before is not None and record.seq >= before:
                continue
            out.append(record)
            if len(out) == limit:
                return out
    return out
