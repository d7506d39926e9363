"""Database URLs → backends.

``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db`` and ``sqlite:///:memory:``-style
paths select the embedded backend; ``postgresql://user@host:port/db`` (or ``postgres://``) selects
PostgreSQL. A ``schema=NAME`` query parameter on a PostgreSQL URL puts every table in that schema
(created if missing), which is how tests and several deployments share one database.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tidings.core.errors import InvalidConfig
from tidings.storage.keys import load_server_key
from tidings.storage.records import StoreOptions
from tidings.storage.roles import Store

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


async def open_store(
    url: str = DEFAULT_DB_URL,
    *,
    server_key: bytes | None = None,
    options: StoreOptions | None = None,
) -> Store:
    """Open (and migrate) the store a URL names; bound to the running event loop.

    ``server_key`` seals API secrets; by default it is found as :mod:`tidings.storage.keys`
    describes.
    """
    target = parse_db_url(url)
    opts = options or StoreOptions()
    if target.backend == "sqlite":
        from tidings.storage.sqlite import SqliteStore

        assert target.path is not None
        key = server_key or load_server_key(Path(f"{target.path}.key"))
        return await SqliteStore.open(target.path, server_key=key, options=opts)
    from tidings.storage.postgres import PostgresStore

    assert target.dsn is not None
    key = server_key or load_server_key(Path("tidings.key"))
    return await PostgresStore.open(target.dsn, schema=target.schema, server_key=key, options=opts)
