"""Reading records, not messages: a consumer asks for up to ``limit`` records after a position.

A message holds an upload's records of one partition, from one to thousands, so a read fetches
as many messages as should fill the limit (from the records per message seen so far), decodes
them, and keeps what is over the limit for the next read of the same cursor. One
:class:`Tail` is kept per cursor and reused while the next read starts where the last one
ended; a cursor moved elsewhere (a replay, a reset) opens a fresh one at the position's message.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import OrderedDict
from collections.abc import Callable, Iterable

from nats.aio.client import Client

from tidings.storage.jetstream import codec
from tidings.storage.jetstream.client import Reader, Readers
from tidings.storage.logrecords import LogRecord

_log = logging.getLogger("tidings.storage.jetstream")


def decode_messages(messages: Iterable[tuple[int, bytes]], after: int) -> list[LogRecord]:
    """The records past position ``after`` of ``(stream sequence, body)`` messages. A message
    Tidings did not write (another layout, or not ours at all) is logged and skipped: one bad
    message never stops a consumer."""
    out: list[LogRecord] = []
    for seq, body in messages:
        try:
            out.extend(codec.decode(seq, body, after))
        except Exception as exc:
            _log.warning("skipped log message %d: not a tidings record batch (%r)", seq, exc)
    return out


class Tail:
    """A cursor's open reader, the records it decoded past the last read, and the records per
    message it has seen (to size the next fetch)."""

    def __init__(self, reader: Reader, position: int) -> None:
        self.reader = reader
        self.position = position
        self.leftover: list[LogRecord] = []
        self.records = 0
        self.messages = 0
        self.pending = 0

    def per_message(self) -> float:
        return self.records / self.messages if self.messages else 1.0

    async def read(self, limit: int) -> list[LogRecord]:
        """Up to ``limit`` records after :attr:`position` (what the stream holds now)."""
        out, self.leftover = self.leftover[:limit], self.leftover[limit:]
        while len(out) < limit and not self.leftover:
            want = max(1, min(limit, math.ceil((limit - len(out)) / self.per_message())))
            fetched = await self.reader.fetch(want)
            self.pending = fetched.pending
            found = decode_messages(fetched.messages, self.position)
            self.records += len(found)
            self.messages += len(fetched.messages)
            room = limit - len(out)
            out.extend(found[:room])
            self.leftover = found[room:]
            if len(fetched.messages) < want:
                break  # the stream holds nothing more for now
        if out:
            self.position = out[-1].seq
        return out


class Tails:
    """Tails kept per key (a cursor), at most ``capacity``, the least recently used closed."""

    def __init__(self, nc: Client, readers: Readers, capacity: int = 256) -> None:
        self._nc = nc
        self._readers = readers
        self._capacity = capacity
        self._tails: OrderedDict[str, Tail] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}

    async def read(
        self, key: str, filter_subject: str, after: int, limit: int
    ) -> tuple[list[LogRecord], Tail]:
        """Up to ``limit`` records past position ``after`` matching the filter, and the tail
        that read them (its ``pending`` is the messages still waiting after them)."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            tail = self._tails.pop(key, None)
            if tail is not None and tail.position != after:
                await tail.reader.close()
                tail = None
            if tail is None:
                reader = await self._readers.open(filter_subject, codec.resume_at(after))
                tail = Tail(reader, after)
            try:
                records = await tail.read(limit)
            except BaseException:
                await tail.reader.close()
                raise
            self._tails[key] = tail
            while len(self._tails) > self._capacity:
                _, old = self._tails.popitem(last=False)
                await old.reader.close()
            return records, tail

    async def close(self) -> None:
        tails, self._tails = list(self._tails.values()), OrderedDict()
        for tail in tails:
            await tail.reader.close()


async def scan(
    readers: Readers,
    filter_subject: str,
    after: int,
    keep: Callable[[LogRecord], bool],
    *,
    limit: int,
    upto: int | None = None,
    page: int = 200,
) -> list[LogRecord]:
    """Up to ``limit`` records past position ``after`` (and at most ``upto``) that ``keep``
    accepts, read a page of messages at a time with one-off readers (replays, time ranges)."""
    out: list[LogRecord] = []
    start = codec.resume_at(after)
    while len(out) < limit:
        fetched = await readers.scan(filter_subject, start - 1, page)
        if not fetched.messages:
            break
        for record in decode_messages(fetched.messages, after):
            if upto is not None and record.seq > upto:
                return out
            if keep(record):
                out.append(record)
                if len(out) == limit:
                    return out
        start = fetched.messages[-1][0] + 1
        if fetched.pending == 0:
            break
    return out
