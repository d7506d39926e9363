"""Threads, transactions and group commit, shared by both SQL backends.

Both backends speak DB-API (``sqlite3`` and psycopg 3 in its synchronous mode) from threads, so
one implementation of the hard parts serves both:

* **One writer thread** owns the write connection. Write jobs are plain functions of a
  :class:`Tx`; the writer takes every job waiting in its queue (up to ``max_group``), runs each in
  its own savepoint inside one transaction and commits once. Under load many requests share one
  commit (one ``fsync``), yet a job that raises is rolled back alone and only its caller sees the
  error. Callers are resumed only after the commit, so an acknowledged write is durable.
* **Reader threads** each hold their own connection (thread-local); in WAL mode SQLite readers
  never wait for the writer.
* The SQL is written once with ``?`` placeholders; :class:`Dialect` rewrites them for psycopg.
* A driver error that means the database cannot serve (the dialect says which) reaches callers
  as :class:`~tidings.storage.records.StoreUnavailable`, and its state change is logged once
  (:mod:`tidings.storage.availability`).
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from tidings.storage.availability import Availability
from tidings.storage.records import StoreUnavailable

T = TypeVar("T")
Row = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Dialect:
    """What differs between the two SQL dialects, as far as the engine cares."""

    name: str
    begin: str
    """Statement that opens a write transaction (``BEGIN IMMEDIATE`` takes SQLite's write lock
    up front so a transaction never fails half-way on a busy database)."""
    group_lock: str | None = None
    """Statement run first in every write transaction. PostgreSQL takes a transaction-scoped
    advisory lock here so that, across processes, log sequence numbers are assigned in commit
    order: a consumer that has read up to ``seq`` can never later see a smaller one commit."""
    pyformat: bool = False
    transient: tuple[type[Exception], ...] = ()
    """Driver errors that mean "the connection broke", worth one retry of a read."""
    unavailable: Callable[[BaseException], str | None] = lambda _exc: None
    """Why a driver error means the database cannot serve now (connection lost or refused,
    disk full, read-only, lock timeout...), or ``None`` for any other error."""

    def sql(self, text: str) -> str:
        """Rewrite ``?`` placeholders for drivers that use ``%s``."""
        if not self.pyformat:
            return text
        cached = _SQL_CACHE.get(text)
        if cached is None:
            cached = text.replace("?", "%s")
            _SQL_CACHE[text] = cached
        return cached


_SQL_CACHE: dict[str, str] = {}


class Tx:
    """A connection plus the dialect: the only thing store functions touch."""

    __slots__ = ("conn", "dialect")

    def __init__(self, conn: Any, dialect: Dialect) -> None:
        self.conn = conn
        self.dialect = dialect

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement; returns the driver's cursor."""
        cur = self.conn.cursor()
        cur.execute(self.dialect.sql(sql), params)
        return cur

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement for many parameter rows."""
        if rows:
            cur = self.conn.cursor()
            cur.executemany(self.dialect.sql(sql), rows)

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """The first row or ``None``."""
        row = self.execute(sql, params).fetchone()
        return tuple(row) if row is not None else None

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Every row."""
        return [tuple(r) for r in self.execute(sql, params).fetchall()]

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first column of the first row, or ``None``."""
        row = self.execute(sql, params).fetchone()
        return row[0] if row is not None else None


@dataclass(slots=True)
class WriteStats:
    """Counters that show group commit at work: ``jobs / groups`` is the mean group size."""

    groups: int = 0
    jobs: int = 0
    largest_group: int = 0


class _Job(Generic[T]):
    __slots__ = ("fn", "future", "loop")

    def __init__(
        self, fn: Callable[[Tx], T], future: asyncio.Future[T], loop: asyncio.AbstractEventLoop
    ) -> None:
        self.fn = fn
        self.future = future
        self.loop = loop


_STOP = object()


def _roll_back(tx: Tx, statement: str, *, cause: Exception) -> None:
    """Undo a failed job; if that is impossible, fail the whole group for the job's reason.

    SQLite rolls the whole transaction back by itself on some errors (a full disk, an I/O
    error): then there is nothing left to roll back to, every job of the group is lost, and
    the reason all of them are told is the job's error, not the failed rollback.
    """
    try:
        tx.execute(statement)
    except Exception:
        raise cause from None


_Outcome = tuple[asyncio.Future[Any], Any, BaseException | None]


def _notify(job: _Job[Any], result: Any, error: BaseException | None) -> None:
    """Hand a result back to the job's event loop, which may be gone (its caller gave up)."""
    with contextlib.suppress(RuntimeError):
        job.loop.call_soon_threadsafe(_settle_all, [(job.future, result, error)])


def _notify_group(results: list[tuple[_Job[Any], Any, BaseException | None]]) -> None:
    """Hand a group's results back with one wake-up per event loop, not one per job: each
    wake-up is a write to the loop's self-pipe and a turn of the loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
    for job, value, error in results:
        by_loop.setdefault(job.loop, []).append((job.future, value, error))
    for loop, outcomes in by_loop.items():
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle_all, outcomes)


def _settle_all(outcomes: list[_Outcome]) -> None:
    for future, result, error in outcomes:
        if future.done():  # cancelled by its caller, or already failed with its group
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)


class Engine:
    """The writer thread with its queue, and the reader pool."""

    def __init__(
        self,
        dialect: Dialect,
        connect_writer: Callable[[], Any],
        connect_reader: Callable[[], Any],
        *,
        max_group: int = 256,
        read_threads: int = 4,
        name: str = "tidings-store",
        after_commit: Callable[[], None] | None = None,
    ) -> None:
        self.dialect = dialect
        self.stats = WriteStats()
        self.availability = Availability(name)
        self._after_commit = after_commit
        self._connect_writer = connect_writer
        self._connect_reader = connect_reader
        self._max_group = max(1, max_group)
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._gate = threading.Event()
        self._gate.set()
        self._readers: list[Any] = []
        self._readers_lock = threading.Lock()
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(max_workers=read_threads, thread_name_prefix=f"{name}-r")
        self._closed = False
        self._writer_conn: Any = None
        self._writer_ready = threading.Event()
        self._writer_error: BaseException | None = None
        self._thread = threading.Thread(target=self._writer_main, name=f"{name}-w", daemon=True)
        self._thread.start()
        self._writer_ready.wait()
        if self._writer_error is not None:
            self._pool.shutdown(wait=False)
            raise self._writer_error

    # ------------------------------------------------------------------------------- public API

    async def write(self, fn: Callable[[Tx], T]) -> T:
        """Run ``fn`` in the next write group; resolves after that group's commit."""
        if self._closed:
            raise StoreUnavailable("the store is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Job(fn, future, loop))
        return await future

    async def read(self, fn: Callable[[Tx], T]) -> T:
        """Run ``fn`` on a reader thread with that thread's own connection."""
        if self._closed:
            raise StoreUnavailable("the store is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._run_read, fn)

    def hold(self) -> None:
        """Stop the writer from starting new groups (queued jobs wait) until :meth:`release`.

        Lets tests and benchmarks show deterministically that waiting jobs share one commit.
        """
        self._gate.clear()

    def release(self) -> None:
        """Undo :meth:`hold`."""
        self._gate.set()

    async def close(self) -> None:
        """Commit what is queued, then stop the writer and close every connection."""
        if self._closed:
            return
        self._closed = True
        self._gate.set()
        self._queue.put(_STOP)
        await asyncio.to_thread(self._thread.join)
        self._pool.shutdown(wait=True)
        with self._readers_lock:
            for conn in self._readers:
                with contextlib.suppress(Exception):
                    conn.close()
            self._readers.clear()

    # ------------------------------------------------------------------------------- internals

    def _run_read(self, fn: Callable[[Tx], T]) -> T:
        try:
            try:
                value = fn(self._reader_tx())
            except self.dialect.transient:
                # The connection may have died while idle (database restart): reads are
                # idempotent, so try once more on a fresh connection before giving up.
                self._drop_reader()
                value = fn(self._reader_tx())
        except Exception as exc:
            self._drop_reader()
            failure = self.dialect.unavailable(exc)
            if failure is None:
                raise
            self.availability.read(failure)
            raise StoreUnavailable(failure) from exc
        if self.availability.read_failure is not None:
            self.availability.read(None)
        return value

    def _refusal(self, exc: BaseException) -> tuple[BaseException, str | None]:
        """What a caller is told about a failed write, and why the database refused it (``None``
        when the failure was the job's own: a missing row, a bug)."""
        failure = self.dialect.unavailable(exc)
        if failure is None:
            return exc, None
        refusal = StoreUnavailable(failure)
        refusal.__cause__ = exc
        return refusal, failure

    def _reader_tx(self) -> Tx:
        tx: Tx | None = getattr(self._local, "tx", None)
        if tx is None:
            conn = self._connect_reader()
            with self._readers_lock:
                self._readers.append(conn)
            tx = Tx(conn, self.dialect)
            self._local.tx = tx
        return tx

    def _drop_reader(self) -> None:
        """Forget this thread's connection so a broken one never poisons the thread."""
        tx: Tx | None = getattr(self._local, "tx", None)
        self._local.tx = None
        if tx is None:
            return
        with self._readers_lock, contextlib.suppress(ValueError):
            self._readers.remove(tx.conn)
        with contextlib.suppress(Exception):
            tx.conn.close()

    def _writer_main(self) -> None:
        try:
            self._writer_conn = self._connect_writer()
        except BaseException as exc:
            self._writer_error = exc
            self._writer_ready.set()
            return
        self._writer_ready.set()
        stopping = False
        while not stopping:
            first = self._queue.get()
            self._gate.wait()
            if first is _STOP:
                break
            batch: list[_Job[Any]] = [first]
            while len(batch) < self._max_group:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stopping = True
                    break
                batch.append(nxt)
            self._run_group(batch)
        with contextlib.suppress(Exception):
            self._writer_conn.close()

    def _run_group(self, batch: list[_Job[Any]]) -> None:
        results: list[tuple[_Job[Any], Any, BaseException | None]] = []
        failure: str | None = None
        try:
            tx = self._begin()
            if len(batch) == 1:
                job = batch[0]
                try:
                    results.append((job, job.fn(tx), None))
                except Exception as exc:
                    _roll_back(tx, "ROLLBACK", cause=exc)
                    refusal, failure = self._refusal(exc)
                    if failure is not None:
                        self._refused(failure)
                    _notify(job, None, refusal)
                    return
            else:
                for job in batch:
                    tx.execute("SAVEPOINT tidings_job")
                    try:
                        value = job.fn(tx)
                    except Exception as exc:
                        _roll_back(tx, "ROLLBACK TO SAVEPOINT tidings_job", cause=exc)
                        tx.execute("RELEASE SAVEPOINT tidings_job")
                        refusal, refused = self._refusal(exc)
                        failure = failure or refused
                        results.append((job, None, refusal))
                        continue
                    tx.execute("RELEASE SAVEPOINT tidings_job")
                    results.append((job, value, None))
            tx.execute("COMMIT")
        except Exception as exc:
            # The transaction itself failed (connection lost, disk full...): nothing in this
            # group is durable, so every caller gets the error and may retry.
            self._abandon_connection()
            refusal, refused = self._refusal(exc)
            if refused is not None:
                self.availability.wrote(refused)
            for job in batch:
                _notify(job, None, refusal)
            return
        if failure is not None:
            self._refused(failure)
        elif self.availability.write_failure is not None:
            self.availability.wrote(None)
        self.stats.groups += 1
        self.stats.jobs += len(batch)
        self.stats.largest_group = max(self.stats.largest_group, len(batch))
        _notify_group(results)
        if self._after_commit is not None:
            self._after_commit()

    def _refused(self, failure: str) -> None:
        """The database refused a job: note it, and start the next group on a fresh connection
        (this one may hold what caused it: a broken session, a file opened read-only)."""
        self.availability.wrote(failure)
        self._abandon_connection()

    def _begin(self) -> Tx:
        """Open the group's transaction. A connection found dead here (database restarted,
        idle connection dropped) has had nothing run on it yet, so reconnect once and retry
        instead of failing the requests that happened to arrive first."""
        for attempt in (1, 2):
            try:
                if self._writer_conn is None:
                    self._writer_conn = self._connect_writer()
                tx = Tx(self._writer_conn, self.dialect)
                tx.execute(self.dialect.begin)
                if self.dialect.group_lock:
                    tx.execute(self.dialect.group_lock)
                return tx
            except Exception:
                self._abandon_connection()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _abandon_connection(self) -> None:
        conn, self._writer_conn = self._writer_conn, None
        if conn is None:
            return
        with contextlib.suppress(Exception):
            conn.rollback()
        with contextlib.suppress(Exception):
            conn.close()
