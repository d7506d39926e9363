"""Database URLs → backends.

``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db`` and ``sqlite:///:memory:``-style
paths select the embedded backend; ``postgresql://user@host:port/db`` (or ``postgres://``) selects
PostgreSQL. A ``schema=NAME`` query parameter on a PostgreSQL URL puts every table in that schema
(created if missing), which is how tests and several deployments share one database.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tidings.core.errors import InvalidConfig
from tidings.storage.records import DatabaseMissing, OpenError, StoreOptions, StoreUnavailable
from tidings.storage.roles import Store
from tidings.storage.serverkey import FoundKey, bind_server_key, find_server_key, postgres_key_file

if TYPE_CHECKING:
    from tidings.storage.sqlstore import SqlStore

DEFAULT_DB_URL = "sqlite:///./tidings.db"


@dataclass(frozen=True, slots=True)
class DatabaseUrl:
    """A parsed database URL: ``backend`` plus a SQLite ``path`` or a PostgreSQL ``dsn``."""

    backend: str
    path: Path | None = None
    dsn: str | None = None
    schema: str | None = None


def parse_db_url(url: str) -> DatabaseUrl:
    """Split a URL into backend and target; an unknown scheme raises :class:`InvalidConfig`."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        if parts.netloc:
            raise InvalidConfig("db", "a sqlite URL has three slashes: sqlite:///path/to.db")
        raw = parts.path[1:] if parts.path.startswith("/") else parts.path
        if not raw:
            raise InvalidConfig("db", "a sqlite URL needs a file path")
        return DatabaseUrl(backend="sqlite", path=Path(raw))
    if scheme in ("postgresql", "postgres"):
        query = parse_qsl(parts.query, keep_blank_values=True)
        schema = next((v for k, v in query if k == "schema"), None)
        if schema is not None and not schema.replace("_", "").isalnum():
            raise InvalidConfig("db", "schema must be letters, digits and underscores")
        rest = urlencode([(k, v) for k, v in query if k != "schema"])
        dsn = urlunsplit(("postgresql", parts.netloc, parts.path, rest, parts.fragment))
        return DatabaseUrl(backend="postgresql", dsn=dsn, schema=schema)
    raise InvalidConfig("db", f"unsupported database URL scheme {parts.scheme!r}")


def display_url(url: str) -> str:
    """The URL to show people: no password (in the authority or a ``password=`` parameter), and
    a SQLite path made absolute, so a message says which file it means."""
    try:
        target = parse_db_url(url)
    except InvalidConfig:
        target = None
    if target is not None and target.path is not None:
        return f"sqlite:///{target.path.absolute()}"
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        netloc = f"{userinfo.partition(':')[0]}@{hostport}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "password"])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _reason(exc: BaseException) -> str:
    """A driver error as one line (psycopg's connection errors span several)."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    lines = [" ".join(line.split()) for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    return text.removeprefix("connection failed: ")


async def open_store(
    url: str = DEFAULT_DB_URL,
    *,
    server_key: bytes | None = None,
    key_file: Path | None = None,
    options: StoreOptions | None = None,
    create: bool = True,
    notify: Callable[[str], None] | None = None,
    log: str | None = None,
) -> Store:
    """Open (and migrate) the store a URL names; bound to the running event loop.

    ``server_key`` (or ``key_file``) seals API secrets; by default the key is found as
    :mod:`tidings.storage.serverkey` describes, and it must be the database's own key. With
    ``create=False`` a missing SQLite file is an error (:class:`DatabaseMissing`) instead of a
    new, empty database. ``notify`` hears about what was made (a database, a key file).
    Anything that keeps the database from opening raises :class:`OpenError`, one line long.

    ``log`` (a ``nats://`` URL) puts the event log on a JetStream stream (made when missing)
    beside the database, which keeps everything else: see :mod:`tidings.storage.jetstream`.
    """
    target = parse_db_url(url)
    shown = display_url(url)
    opts = options or StoreOptions()
    path = target.path.absolute() if target.path is not None else None
    existed = path is None or path.exists()
    if not existed and not create:
        raise DatabaseMissing(
            f"no database at {path} (tidings serve or tidings migrate creates one)"
        )
    if server_key is not None:
        found = FoundKey(server_key, "the given key")
    else:
        beside = Path(f"{path}.key")
        found = find_server_key((lambda: beside) if path else postgres_key_file, key_file)
    backend: type[SqlStore]
    opening: Coroutine[Any, Any, SqlStore]
    if path is not None:
        from tidings.storage.sqlite import SqliteStore

        backend = SqliteStore
        opening = SqliteStore.open(path, server_key=found.key, options=opts)
    else:
        from tidings.storage.postgres import PostgresStore

        assert target.dsn is not None
        backend = PostgresStore
        opening = PostgresStore.open(
            target.dsn, schema=target.schema, server_key=found.key, options=opts
        )
    try:
        store = await opening
    except backend.open_errors as exc:
        raise OpenError(f"cannot open {shown}: {_reason(exc)}") from exc
    try:
        bound = await bind_server_key(store, found, shown)
        store.use_server_key(bound.key)
    except BaseException:
        await store.close()
        raise
    if notify is not None:
        if not existed:
            notify(f"created new database at {path}")
        if bound.new_file is not None:
            notify(f"created server key file {bound.new_file} (keep it: {shown} needs it)")
    return await _with_log(store, log) if log else store


async def _with_log(store: SqlStore, url: str) -> Store:
    """The store with its event log on JetStream; the database is closed if that fails."""
    from tidings.storage.jetstream import AdmittingJetStreamStore, LogConfigMismatch, parse_log_url

    try:
        target = parse_log_url(url)
        # Ingest refuses new event names past the catalog limit, as on a SQL log.
        return cast(Store, await AdmittingJetStreamStore.open(store, target))
    except (LogConfigMismatch, StoreUnavailable) as exc:
        await store.close()
        raise OpenError(str(exc)) from exc
    except BaseException:
        await store.close()
        raise
