"""What every stream sink promises, and the cursor loop that drives one.

A sink takes *batches* of records in log order and returns only once the whole batch is safely
delivered (or dead-lettered with the reason). The loop stores the position of the last delivered
record only after that, so a crash anywhere re-delivers from the last stored position: at least
once, never a gap, and a re-delivered record carries the same ``event_id`` as the first copy.

The position store and the record source are small protocols so the same loop can run from a
position file today and from a named consumer cursor of the durable event log.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import orjson

from tidings.core.errors import TidingsError


class StreamError(TidingsError):
    """A stream sink could not do what was asked."""


class SinkUnavailableError(StreamError):
    """Delivery failed for now (network, 5xx, 429, timeout); retry the same batch later."""


class Sink(Protocol):
    """A destination for stream records."""

    name: str

    def deliver(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Deliver the batch in order, or raise :class:`SinkUnavailableError` (a retry is safe).

        Part of a failed batch may already have arrived; the retry sends it again (consumers
        deduplicate on ``event_id``).
        """
        ...

    def maintain(self) -> None:
        """Periodic housekeeping with no new records (time-based rotation, flushing)."""
        ...

    def close(self) -> None: ...


def deliver_isolating(
    deliver: Callable[[Sequence[Mapping[str, Any]]], None], records: Sequence[Mapping[str, Any]]
) -> list[tuple[str, str]]:
    """``deliver(records)``, and should the sink fail on something other than its own
    availability (a record it cannot encode or that is too large for it), deliver the halves
    again until the records it refuses alone are found: those are skipped, and returned as
    ``(event_id, reason)``. One bad record never holds the stream back; the rest is delivered,
    at least once, in order. :class:`SinkUnavailableError` passes through: the batch is retried.
    """
    try:
        deliver(records)
        return []
    except SinkUnavailableError:
        raise
    except Exception as exc:
        if len(records) == 1:
            reason = f"the sink cannot take it: {type(exc).__name__}: {exc}"
            return [(str(records[0].get("event_id", "")), reason)]
    middle = len(records) // 2
    return deliver_isolating(deliver, records[:middle]) + deliver_isolating(
        deliver, records[middle:]
    )


class PositionStore(Protocol):
    """Where a sink's position (the log position of its last delivered record) survives."""

    def load(self) -> int | None: ...

    def save(self, position: int) -> None: ...


class RecordSource(Protocol):
    """Ordered records with increasing integer positions (the event log, through a builder)."""

    def read_after(
        self, position: int | None, limit: int
    ) -> Sequence[tuple[int, Mapping[str, Any]]]: ...


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so a reader sees either the old or the new file, whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class FilePosition:
    """A position kept in a small JSON file, replaced atomically on every save."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def load(self) -> int | None:
        try:
            data = orjson.loads(self.path.read_bytes())
        except FileNotFoundError:
            return None
        position = data.get("position") if isinstance(data, dict) else None
        if position is not None and type(position) is not int:
            raise StreamError(f"{self.path}: position must be an integer")
        return position

    def save(self, position: int) -> None:
        write_atomic(self.path, orjson.dumps({"position": position}))


@dataclass(slots=True)
class RunStats:
    """What one :meth:`SinkRunner.run_until_idle` call did."""

    delivered: int = 0
    batches: int = 0
    position: int | None = None


class SinkRunner:
    """The cursor loop: read after the stored position, deliver, then store the new position."""

    def __init__(
        self, source: RecordSource, sink: Sink, positions: PositionStore, batch_size: int = 500
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.source = source
        self.sink = sink
        self.positions = positions
        self.batch_size = batch_size
        self.position = positions.load()

    def run_once(self) -> int:
        """Deliver one batch; returns how many records it held (0 when caught up).

        Raises :class:`SinkUnavailableError` with the position unchanged when the sink is down.
        """
        items = self.source.read_after(self.position, self.batch_size)
        if not items:
            self.sink.maintain()
            return 0
        self.sink.deliver([record for _, record in items])
        last = items[-1][0]
        self.positions.save(last)
        self.position = last
        return len(items)

    def run_until_idle(self, max_batches: int | None = None) -> RunStats:
        """Deliver batches until the source has nothing new (or ``max_batches`` were sent)."""
        stats = RunStats(position=self.position)
        while max_batches is None or stats.batches < max_batches:
            count = self.run_once()
            if count == 0:
                break
            stats.delivered += count
            stats.batches += 1
            stats.position = self.position
        return stats


class ListSource:
    """An in-memory :class:`RecordSource` (positions are list indexes): for replays and tests."""

    def __init__(self, records: Sequence[Mapping[str, Any]] = ()) -> None:
        self.records: list[Mapping[str, Any]] = list(records)

    def append(self, record: Mapping[str, Any]) -> None:
        self.records.append(record)

    def read_after(
        self, position: int | None, limit: int
    ) -> Sequence[tuple[int, Mapping[str, Any]]]:
        start = 0 if position is None else position + 1
        end = min(len(self.records), start + limit)
        return [(i, self.records[i]) for i in range(start, end)]
