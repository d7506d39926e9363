"""JSON Lines file sink: one directory per app, files rotated by size and age.

Readers (a log shipper, ``jq``, a Firehose-style loader) must never see half a file, so records go
to a hidden ``.partial`` file that is renamed to its final ``stream-*.jsonl`` name only when it is
complete. A batch is fsync'd before :meth:`JsonlSink.deliver` returns, which is what lets the
cursor loop store its position afterwards. After a crash the leftover partial files are completed
on start (a torn last line is cut off); records past the stored position are then written again,
so a duplicate can appear in a later file, always with the same ``event_id``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

import orjson

from tidings.streams.sink import SinkUnavailableError, StreamError, fsync_dir

PARTIAL_SUFFIX = ".partial"
FILE_PREFIX = "stream-"
FILE_SUFFIX = ".jsonl"


def app_directory_name(app_id: str) -> str:
    """A file-system-safe, reversible directory name for an app id (percent-encoded)."""
    name = quote(app_id, safe="-_")
    return name.replace(".", "%2E") if name.startswith(".") or name in ("", ".", "..") else name


@dataclass(slots=True)
class _OpenFile:
    handle: BinaryIO
    partial: Path
    final: Path
    opened_at: float
    size: int
    dirty: bool = False


class JsonlSink:
    """Append records to ``<root>/<app>/stream-<UTC time>-<random>.jsonl`` files.

    ``max_bytes`` and ``max_age_seconds`` bound each file; whichever is hit first completes it
    (as Firehose buffering hints do). ``clock`` is injectable so rotation by age can be driven
    deterministically.
    """

    name = "jsonl"

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        max_bytes: int = 64 * 1024 * 1024,
        max_age_seconds: float = 300.0,
        fsync: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_bytes < 1:
            raise ValueError("max_bytes must be at least 1")
        if max_age_seconds <= 0:
            raise ValueError("max_age_seconds must be positive")
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.max_age_seconds = max_age_seconds
        self.fsync = fsync
        self.clock = clock
        self._open: dict[str, _OpenFile] = {}
        self.completed: list[Path] = []
        self.root.mkdir(parents=True, exist_ok=True)
        self.recover()

    # --- recovery ----------------------------------------------------------------------------

    def recover(self) -> list[Path]:
        """Complete partial files left by a crash; returns the files it completed."""
        done: list[Path] = []
        for partial in sorted(self.root.glob(f"*/.{FILE_PREFIX}*{FILE_SUFFIX}{PARTIAL_SUFFIX}")):
            if any(f.partial == partial for f in self._open.values()):
                continue
            _cut_torn_tail(partial)
            if partial.stat().st_size == 0:
                partial.unlink()
                continue
            final = partial.with_name(partial.name[1 : -len(PARTIAL_SUFFIX)])
            os.replace(partial, final)
            fsync_dir(partial.parent)
            done.append(final)
        self.completed.extend(done)
        return done

    # --- writing -----------------------------------------------------------------------------

    def deliver(self, records: Sequence[Mapping[str, Any]]) -> None:
        try:
            now = self.clock()
            touched: set[str] = set()
            for record in records:
                app_id = _app_id(record)
                line = orjson.dumps(record) + b"\n"
                current = self._open.get(app_id)
                if current is not None and (
                    now - current.opened_at >= self.max_age_seconds
                    or (current.size > 0 and current.size + len(line) > self.max_bytes)
                ):
                    self._complete(app_id)
                    current = None
                if current is None:
                    current = self._start(app_id, now)
                current.handle.write(line)
                current.size += len(line)
                current.dirty = True
                touched.add(app_id)
            for app_id in touched:
                self._sync(self._open[app_id])
        except OSError as exc:
            raise SinkUnavailableError(f"jsonl sink at {self.root}: {exc}") from exc

    def maintain(self) -> None:
        """Complete files that reached their maximum age even though nothing new arrived."""
        now = self.clock()
        for app_id in [
            a for a, f in self._open.items() if now - f.opened_at >= self.max_age_seconds
        ]:
            self._complete(app_id)

    def close(self) -> None:
        """Complete every open file."""
        for app_id in list(self._open):
            self._complete(app_id)

    def _start(self, app_id: str, now: float) -> _OpenFile:
        directory = self.root / app_directory_name(app_id)
        directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.fromtimestamp(now, UTC).strftime("%Y%m%dT%H%M%S")
        stamp += f"{int(now * 1000) % 1000:03d}Z"
        # Names sort in write order: time first, then a counter for files opened in the same ms.
        taken = [
            p.name.lstrip(".").removeprefix(f"{FILE_PREFIX}{stamp}-")[:6]
            for p in directory.glob(f"*{FILE_PREFIX}{stamp}-*")
        ]
        seq = 1 + max((int(t) for t in taken if t.isdigit()), default=-1)
        final = directory / f"{FILE_PREFIX}{stamp}-{seq:06d}{FILE_SUFFIX}"
        partial = directory / f".{final.name}{PARTIAL_SUFFIX}"
        handle = open(partial, "xb")  # noqa: SIM115 - kept open across batches on purpose
        opened = _OpenFile(handle, partial, final, now, 0)
        self._open[app_id] = opened
        return opened

    def _sync(self, opened: _OpenFile) -> None:
        if opened.dirty:
            opened.handle.flush()
            if self.fsync:
                os.fsync(opened.handle.fileno())
            opened.dirty = False

    def _complete(self, app_id: str) -> None:
        opened = self._open.pop(app_id)
        self._sync(opened)
        opened.handle.close()
        if opened.size == 0:
            opened.partial.unlink(missing_ok=True)
            return
        os.replace(opened.partial, opened.final)
        if self.fsync:
            fsync_dir(opened.final.parent)
        self.completed.append(opened.final)


def _app_id(record: Mapping[str, Any]) -> str:
    application = record.get("application")
    app_id = application.get("app_id") if isinstance(application, Mapping) else None
    if not isinstance(app_id, str) or not app_id:
        raise StreamError("record has no application.app_id")
    return app_id


def _cut_torn_tail(path: Path) -> None:
    """Drop a last line that a crash left without its newline."""
    with open(path, "r+b") as handle:
        size = handle.seek(0, os.SEEK_END)
        if size == 0:
            return
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return
        # Walk back to the previous newline in modest chunks.
        end = size
        keep = 0
        while end > 0:
            start = max(0, end - 65536)
            handle.seek(start)
            chunk = handle.read(end - start)
            index = chunk.rfind(b"\n")
            if index >= 0:
                keep = start + index + 1
                break
            end = start
        handle.truncate(keep)
        handle.flush()
        os.fsync(handle.fileno())


def read_jsonl_dir(directory: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every record in the completed files of one app directory, oldest file first."""
    out: list[dict[str, Any]] = []
    files = sorted(Path(directory).glob(f"{FILE_PREFIX}*{FILE_SUFFIX}"))
    for path in files:
        with open(path, "rb") as handle:
            out.extend(orjson.loads(line) for line in handle if line.strip())
    return out
