"""Partitions of the event log: which partition a record belongs to, and partition cursors.

A scaled-out event log is split into ``P`` partitions so that several processes can append and
consume at once. Everything one device does must land in one partition, in order, so the
partition is a stable hash of ``(app id, device id)`` (else the user id, else nothing: an
anonymous record without a device goes to the app's partition for the empty key).

The hash is CRC-32 of ``app_id + "\\0" + key`` in UTF-8, modulo ``P``: stable across processes,
machines and versions (Python's ``hash`` is salted per process), cheap, and easy to compute in
any language that needs to agree with it.

A consumer that reads a partitioned log keeps one cursor per partition, named
``"<consumer>@p<index>"``; :func:`partition_cursor` and :func:`split_cursor` convert.
"""

from __future__ import annotations

import zlib

DEFAULT_PARTITIONS = 16
"""The partition count of a new log (``?partitions=`` on the log URL changes it)."""

MAX_PARTITIONS = 1024
"""An upper bound: every consumer holds a cursor and a lease per partition."""

_SEP = "@p"


def partition_key(device_id: str | None, user_id: str | None) -> str:
    """The key a record is partitioned by: its device id, else its user id, else empty."""
    return device_id or user_id or ""


def partition_of(app_id: str, key: str, partitions: int) -> int:
    """The partition (``0 <= p < partitions``) of an app's records with this key."""
    if partitions <= 1:
        return 0
    return zlib.crc32(f"{app_id}\0{key}".encode()) % partitions


def partition_cursor(consumer: str, partition: int) -> str:
    """The cursor name of one consumer on one partition."""
    return f"{consumer}{_SEP}{partition}"


def split_cursor(cursor: str) -> tuple[str, int | None]:
    """``(consumer, partition)`` of a cursor name; the partition is ``None`` for a cursor over
    the whole log."""
    head, sep, tail = cursor.rpartition(_SEP)
    if sep and head and tail.isdigit() and str(int(tail)) == tail:
        return head, int(tail)
    return cursor, None
