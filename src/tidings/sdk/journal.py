"""The write-ahead journal in front of the SQLite outbox: what makes ``track()`` cheap and safe.

A SQLite commit costs ``track()`` about 10 µs; one ``os.write`` to a file opened with
``O_APPEND`` costs one or two. Once ``write`` returns, the bytes belong to the OS: a process killed
right after loses nothing (a power loss may, as with ``synchronous=NORMAL``). So ``track()``
appends its rows as one record here and keeps them in memory; the store moves them into SQLite in
one transaction whenever anything reads or rewrites the outbox (the worker does so at least once
per upload batch and per state save) and then empties the file.

Record layout (little-endian): ``u32 length, u32 crc32`` of the payload, then the payload
``u64 generation, u32 row count`` and per row ``u8 kind, u16 session length, u32 body length,
session, body``. A record whose length or checksum does not match (the process died inside the
``write``) ends the file: that call never returned.

Idempotence. Each move into SQLite stores, in the same transaction, the generation it covered under
``journal:<file name>`` in ``kv``; the file is then truncated and the generation incremented.
A process that dies between the commit and the truncation leaves records whose generation is
already marked, and recovery skips them, so nothing is inserted twice.

One file per process: ``journal-<pid>-<random>.bin`` in the data directory, held with an exclusive
``flock`` for the file's life. A forked child opens a file of its own (it never writes to or
truncates its parent's), and recovery at open takes over only files whose lock it can get, i.e.
whose process is gone. Where ``fcntl`` is missing (Windows) there is no journal and ``track()``
commits to SQLite directly.
"""

from __future__ import annotations

import contextlib
import os
import struct
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

AVAILABLE: Final = fcntl is not None

_HEAD: Final = struct.Struct("<II")
_PAYLOAD: Final = struct.Struct("<QI")
_ROW: Final = struct.Struct("<BHI")
PREFIX: Final = "journal-"
SUFFIX: Final = ".bin"

OutRow = tuple[int, str | None, bytes]
"""``(kind, session, body)``: an outbox row before SQLite gives it its ``seq``."""


def encode(generation: int, rows: Sequence[OutRow]) -> bytes:
    """One record holding every row of one call (one ``write``, all or nothing)."""
    parts = [_PAYLOAD.pack(generation, len(rows))]
    for kind, session, body in rows:
        sid = session.encode() if session else b""
        parts.append(_ROW.pack(kind, len(sid), len(body)))
        parts.append(sid)
        parts.append(body)
    payload = b"".join(parts)
    return _HEAD.pack(len(payload), zlib.crc32(payload)) + payload


def decode(data: bytes) -> Iterator[tuple[int, list[OutRow]]]:
    """``(generation, rows)`` of each whole record, stopping at the first torn or corrupt one."""
    pos, end = 0, len(data)
    while pos + _HEAD.size <= end:
        length, crc = _HEAD.unpack_from(data, pos)
        start = pos + _HEAD.size
        payload = data[start : start + length]
        if len(payload) != length or zlib.crc32(payload) != crc or length < _PAYLOAD.size:
            return
        generation, count = _PAYLOAD.unpack_from(payload, 0)
        at = _PAYLOAD.size
        rows: list[OutRow] = []
        for _ in range(count):
            kind, slen, blen = _ROW.unpack_from(payload, at)
            at += _ROW.size
            session = payload[at : at + slen].decode() if slen else None
            at += slen
            rows.append((kind, session, bytes(payload[at : at + blen])))
            at += blen
        yield generation, rows
        pos = start + length


class Journal:
    """This process's journal file: append records, truncate after they reached SQLite."""

    def __init__(self, directory: Path) -> None:
        self.name = f"{PREFIX}{os.getpid()}-{os.urandom(4).hex()}{SUFFIX}"
        self.path = directory / self.name
        self.generation = 1
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        assert fcntl is not None
        fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def write(self, rows: Sequence[OutRow]) -> None:
        """Hand one record to the OS; it survives this process from the moment this returns."""
        record = encode(self.generation, rows)
        done = os.write(self.fd, record)
        while done < len(record):  # a short write (a full disk gets an OSError at the retry)
            done += os.write(self.fd, record[done:])

    def truncate(self) -> None:
        """Everything written so far is in SQLite under the current generation: start a new one."""
        os.ftruncate(self.fd, 0)
        self.generation += 1

    def remove(self) -> None:
        """Delete the file (its rows are in SQLite) and release it."""
        with contextlib.suppress(OSError):
            self.path.unlink()
        self.abandon()

    def abandon(self) -> None:
        """Close without touching the file (a forked child dropping its parent's descriptor)."""
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = -1


def orphans(directory: Path, own: str | None) -> Iterator[tuple[str, bytes, int]]:
    """``(name, contents, fd)`` of every journal no live process holds; the caller closes ``fd``.

    The lock is kept while the caller moves the records and deletes the file, so two processes
    opening the same store at once never both take the same orphan.
    """
    assert fcntl is not None
    for path in sorted(directory.glob(f"{PREFIX}*{SUFFIX}")):
        if path.name == own:
            continue
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)  # a live process owns it
            continue
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except OSError:
            same = False
        if not same:  # taken over and deleted meanwhile by another process
            os.close(fd)
            continue
        with open(path, "rb") as fh:
            data = fh.read()
        yield path.name, data, fd
