"""One log record as one JetStream message: subject, message id and body.

The body is a short orjson header line (kind, ids, name, times, device, user, prefix length), a
newline, then the record's bytes (``prefix + payload``) untouched: consumers get back exactly what
the server appended, and nothing but the header is parsed on the way out.

Subjects are ``<prefix>.<partition>.<app>``: a partition's consumer filters on
``<prefix>.<p>.*`` and a replay of one app on ``<prefix>.*.<app>``, both served by JetStream's
subject index. The message id is ``<app>:<e|d>:<item id>``, so JetStream's duplicate window
stores an item once however often a client retries its upload.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from tidings.storage.logrecords import LogKind, LogRecord

_UNSAFE = re.compile(r"[^A-Za-z0-9_\-]")
_KINDS: dict[str, LogKind] = {"e": "event", "d": "decision"}


def subject_token(app_id: str) -> str:
    """An app id as one subject token (ids are already safe; anything else is replaced, and
    readers check the app id in the header, so a collision only costs a skipped record)."""
    return _UNSAFE.sub("_", app_id) or "_"


def subject(prefix: str, partition: int, app_id: str) -> str:
    return f"{prefix}.{partition}.{subject_token(app_id)}"


def message_id(app_id: str, kind: LogKind, item_id: str) -> str:
    return f"{app_id}:{kind[0]}:{item_id}"


def encode(
    app_id: str,
    kind: LogKind,
    *,
    item_id: str,
    name: str,
    timestamp: int,
    arrival_ms: int,
    device_id: str | None,
    user_id: str | None,
    prefix: bytes,
    payload: bytes,
) -> bytes:
    head = orjson.dumps(
        [kind[0], app_id, item_id, name, timestamp, arrival_ms, device_id, user_id, len(prefix)]
    )
    return b"".join((head, b"\n", prefix, payload))


def decode(seq: int, body: bytes, prefixes: dict[bytes, bytes] | None = None) -> LogRecord:
    """The record stored at stream sequence ``seq``. ``prefixes`` interns shared prefixes, so
    the records of one read that share one hold the same bytes object."""
    cut = body.index(b"\n")
    head: list[Any] = orjson.loads(body[:cut])
    kind, app_id, item_id, name, timestamp, arrival_ms, device_id, user_id, plen = head
    payload = body[cut + 1 :]
    prefix = b""
    if plen:
        prefix = payload[:plen]
        if prefixes is not None:
            prefix = prefixes.setdefault(prefix, prefix)
    return LogRecord(
        seq,
        app_id,
        _KINDS[kind],
        item_id,
        name,
        timestamp,
        arrival_ms,
        payload,
        device_id,
        user_id,
        prefix,
    )
