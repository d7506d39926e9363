"""Log records as JetStream messages: subjects, message ids, bodies and record positions.

**One message per (append, kind, partition).** An upload's new records of one partition (an
upload comes from one device, so usually all of them) travel as one message, laid out as the SQL
log lays out one batch row (:func:`tidings.storage.logbatch.pack`): a short orjson header line
``[2, kind, app id, arrival ms, len(meta)]``, a newline, the per-record columns (``meta``), then
each distinct payload prefix once followed by each record's own bytes. Consumers get back exactly
the bytes the server appended. Publishing and acknowledging a hundred messages per upload cost
a server more than the rest of the upload together; one message costs what one does.

**Positions.** A record's sequence number (``LogRecord.seq``, what cursors store) is its
message's stream sequence shifted left by :data:`INDEX_BITS`, plus its index in the message —
except the message's last record, which takes the highest index (:data:`LAST`). Positions grow
strictly in the log's order, a cursor at a message's last record says "this message is done"
(the next read starts at the next message), and a cursor inside a message says where to resume
in it. The log's end is the last message's :func:`end_position`.

**Subjects** are ``<prefix>.<partition>.<app>``: a partition's consumer filters on
``<prefix>.<p>.*`` and a replay of one app on ``<prefix>.*.<app>``, both served by JetStream's
subject index. The **message id** is ``<app>:<kind>:<hash of the message's item ids>``, so a
retried upload (the same records, as a client resends a batch) is stored once within the
stream's duplicate window.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from typing import Any

import orjson

from tidings.storage.jetstream.config import LAYOUT
from tidings.storage.logbatch import LogItem, pack, records_of
from tidings.storage.logrecords import LogKind, LogRecord

INDEX_BITS = 16
LAST = (1 << INDEX_BITS) - 1
"""The index a message's last record takes in its position."""

MAX_RECORDS = LAST
"""Records one message may hold (indices ``0 .. LAST - 1`` for the others, ``LAST`` for the
last one)."""

_UNSAFE = re.compile(r"[^A-Za-z0-9_\-]")
_KINDS: dict[str, LogKind] = {"event": "event", "decision": "decision", "conversion": "conversion"}
_ITEM_OVERHEAD = 48
"""Bytes of per-record columns beyond the strings' own lengths (numbers, quotes, commas)."""


def subject_token(app_id: str) -> str:
    """An app id as one subject token (ids are already safe; anything else is replaced, and
    readers check the app id in the header, so a collision only costs a skipped record)."""
    return _UNSAFE.sub("_", app_id) or "_"


def subject(prefix: str, partition: int, app_id: str) -> str:
    return f"{prefix}.{partition}.{subject_token(app_id)}"


def message_id(app_id: str, kind: LogKind, items: Sequence[LogItem]) -> str:
    """The id JetStream deduplicates by: the same records sent again make the same id."""
    digest = hashlib.blake2b(digest_size=16)
    for item in items:
        digest.update(item[0].encode())
        digest.update(b"\0")
    return f"{app_id}:{kind[0]}:{digest.hexdigest()}"


# ---------------------------------------------------------------------------- positions


def end_position(stream_seq: int) -> int:
    """The position of message ``stream_seq``'s last record (0 for an empty stream)."""
    return (stream_seq << INDEX_BITS) | LAST if stream_seq > 0 else 0


def positions(stream_seq: int, count: int) -> list[int]:
    """The positions of the ``count`` records of message ``stream_seq``."""
    if not 0 < count <= MAX_RECORDS:
        raise ValueError(f"a log message holds 1 to {MAX_RECORDS} records, not {count}")
    base = stream_seq << INDEX_BITS
    out = list(range(base, base + count - 1))
    out.append(base | LAST)
    return out


def resume_at(after: int) -> int:
    """The stream sequence a read of everything after position ``after`` starts at: the
    position's own message unless the position is that message's last record."""
    seq, index = after >> INDEX_BITS, after & LAST
    return max(1, seq + 1 if index == LAST else seq)


def message_of(position: int) -> int:
    """The stream sequence of the message that holds the record at ``position``."""
    return position >> INDEX_BITS


# ---------------------------------------------------------------------------- bodies


def chunks(items: Sequence[LogItem], max_bytes: int) -> Iterator[Sequence[LogItem]]:
    """``items`` cut, in order, into runs that fit one message: at most :data:`MAX_RECORDS`
    records and about ``max_bytes`` of body (an item bigger than that goes alone)."""
    start, size = 0, 0
    seen: set[bytes] = set()
    for i, (item_id, name, _, device_id, user_id, prefix, rest) in enumerate(items):
        cost = len(rest) + len(item_id) + len(name) + _ITEM_OVERHEAD
        cost += len(device_id or "") + len(user_id or "")
        shared = len(prefix) if prefix and prefix not in seen else 0
        if i > start and (size + cost + shared > max_bytes or i - start >= MAX_RECORDS):
            yield items[start:i]
            start, size = i, 0
            seen = set()
            shared = len(prefix)
        size += cost + shared
        if prefix:
            seen.add(prefix)
    if start < len(items):
        yield items[start:]


def encode(app_id: str, kind: LogKind, arrival_ms: int, items: Sequence[LogItem]) -> bytes:
    """One message's body holding ``items`` (1 .. :data:`MAX_RECORDS` of them)."""
    meta, bodies, _, _ = pack(items)
    head = orjson.dumps([LAYOUT, kind, app_id, arrival_ms, len(meta)])
    return b"".join((head, b"\n", meta, bodies))


def decode(stream_seq: int, body: bytes, after: int = 0) -> Iterator[LogRecord]:
    """The records of message ``stream_seq`` whose position is past ``after``, in order."""
    cut = body.index(b"\n")
    head: list[Any] = orjson.loads(body[:cut])
    layout, kind, app_id, arrival_ms, meta_len = head
    if layout != LAYOUT:
        raise ValueError(f"log message {stream_seq} has layout {layout}, expected {LAYOUT}")
    meta_end = cut + 1 + meta_len
    meta: dict[str, Any] = orjson.loads(body[cut + 1 : meta_end])
    seqs = positions(stream_seq, len(meta["id"]))
    keep = None
    if after >= seqs[0]:  # resuming inside this message
        keep = lambda seq, _ts: seq > after  # noqa: E731
    return records_of(app_id, _KINDS[kind], arrival_ms, meta, body[meta_end:], seqs=seqs, keep=keep)
