"""The events and custom-property catalogs: bounded per app, paged when read.

Every distinct custom event name an app sends becomes a catalog row, and every custom-property
key too. Left alone, one app sending made-up names (a user id in the event name, a timestamp as
a property key) grows its catalog without end, and every listing of it with it. So each app
gets at most :attr:`CatalogLimits.event_names` custom event names and
:attr:`CatalogLimits.property_keys` property keys:

* an event whose name would be a new name past the limit is **refused**: it is not stored, and
  the ingest outcome lists it so the uploader is told why, item by item. Names already in the
  catalog keep working. System event names are a fixed list and never count.
* a custom-property key past the limit is only **not catalogued**: the user's map still travels
  in every event's payload to streams and destinations; refusing the upload for it would make a
  device retry the same data for ever.

The check runs inside the ingest transaction (writes are serialised, on PostgreSQL across
processes too), so the limit holds exactly. Names and keys known to be in the catalog are
remembered by the writer, so the common upload, which brings no new name, costs one set
difference and no query.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from tidings.core.events import SYSTEM_EVENT_NAMES
from tidings.storage.counting import infer_type
from tidings.storage.engine import Engine, Tx
from tidings.storage.logrecords import EventIn
from tidings.storage.paging import After, keyset
from tidings.storage.records import EventCatalogEntry, PropertyCatalogEntry

DEFAULT_MAX_EVENT_NAMES: Final = 1000
DEFAULT_MAX_PROPERTY_KEYS: Final = 1000
_CHUNK: Final = 500
"""Values per ``IN (...)`` list (well under every driver's parameter limit)."""
_MAX_CACHED_APPS: Final = 10_000


@dataclass(frozen=True, slots=True)
class CatalogLimits:
    """How many distinct custom event names and custom-property keys one app may have."""

    event_names: int = DEFAULT_MAX_EVENT_NAMES
    property_keys: int = DEFAULT_MAX_PROPERTY_KEYS


def _existing(tx: Tx, sql: str, app_id: str, values: Sequence[str]) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` (``... WHERE app_id = ? AND col IN ({})``) for ``values``, chunked."""
    rows: list[tuple[Any, ...]] = []
    for start in range(0, len(values), _CHUNK):
        chunk = values[start : start + _CHUNK]
        rows += tx.all(sql.format(", ".join("?" for _ in chunk)), (app_id, *chunk))
    return rows


def refused_indices(events: Sequence[EventIn], fresh: Sequence[str], room: int) -> list[int]:
    """Indices of the custom ``events`` whose name is among the ``fresh`` (new, in order of
    first appearance) names past the first ``room``: every event of a refused name."""
    refused = set(fresh[max(0, room) :])
    if not refused:
        return []
    return [i for i, e in enumerate(events) if e.name in refused and e.type == "custom"]


class CatalogGuard:
    """The writer's memory of what each app's catalogs already hold, and the limit checks.

    Used only on the writer thread. Only what a query found is remembered (never what this
    transaction is inserting), so a rolled-back write leaves nothing wrong behind.
    """

    __slots__ = ("_keys", "_names")

    def __init__(self) -> None:
        self._names: dict[str, set[str]] = {}
        self._keys: dict[str, dict[str, str]] = {}

    def _app_names(self, app_id: str) -> set[str]:
        names = self._names.get(app_id)
        if names is None:
            if len(self._names) >= _MAX_CACHED_APPS:
                self._names.clear()
            names = self._names[app_id] = set(SYSTEM_EVENT_NAMES)
        return names

    def refused_events(
        self, tx: Tx, app_id: str, events: Sequence[EventIn], limit: int
    ) -> list[int]:
        """Indices of ``events`` whose custom name would take the catalog past ``limit``.

        New names are admitted in the order they first appear until the catalog is full;
        every event of a refused name is refused.
        """
        known = self._app_names(app_id)
        unknown = {e.name for e in events} - known
        if not unknown:
            return []
        candidates = list(dict.fromkeys(e.name for e in events if e.name in unknown))
        found = _existing(
            tx,
            "SELECT name FROM event_catalog WHERE app_id = ? AND type = 'custom' AND name IN ({})",
            app_id,
            candidates,
        )
        known.update(row[0] for row in found)
        fresh = [name for name in candidates if name not in known]
        if not fresh:
            return []
        count = int(
            tx.scalar(
                "SELECT COUNT(*) FROM event_catalog WHERE app_id = ? AND type = 'custom'",
                (app_id,),
            )
        )
        return refused_indices(events, fresh, limit - count)

    def record_properties(
        self, tx: Tx, app_id: str, properties: Mapping[str, Any], limit: int
    ) -> None:
        """Catalogue the keys of a user's custom-property map (new keys up to ``limit``), and
        mark a key ``mixed`` once a second type is seen."""
        types = {k: t for k, v in properties.items() if (t := infer_type(v)) is not None}
        cached = self._keys.get(app_id)
        if cached is None:
            if len(self._keys) >= _MAX_CACHED_APPS:
                self._keys.clear()
            cached = self._keys[app_id] = {}
        unknown = [k for k in types if k not in cached]
        fresh: list[str] = []
        if unknown:
            found = _existing(
                tx,
                "SELECT key, type FROM property_catalog WHERE app_id = ? AND key IN ({})",
                app_id,
                unknown,
            )
            cached.update((row[0], row[1]) for row in found)
            fresh = [k for k in unknown if k not in cached]
            if fresh:
                count = int(
                    tx.scalar("SELECT COUNT(*) FROM property_catalog WHERE app_id = ?", (app_id,))
                )
                fresh = fresh[: max(0, limit - count)]
        changed = [k for k, t in types.items() if cached.get(k) not in (None, t, "mixed")]
        rows = [(app_id, k, types[k]) for k in (*fresh, *changed)]
        # The WHERE keeps a key's row unchanged unless a second type turns it mixed.
        tx.executemany(
            "INSERT INTO property_catalog (app_id, key, type) VALUES (?, ?, ?)"
            " ON CONFLICT (app_id, key) DO UPDATE SET type = 'mixed'"
            " WHERE property_catalog.type <> excluded.type AND property_catalog.type <> 'mixed'",
            rows,
        )
        for key in changed:
            cached[key] = "mixed"


def _system_entries(stored: Iterable[str], after: After) -> list[EventCatalogEntry]:
    """The system events never received, as count-0 rows after ``after``."""
    seen = set(stored)
    return [
        EventCatalogEntry(name, "system", 0, None)
        for name in sorted(SYSTEM_EVENT_NAMES - seen)
        if after is None or ("system", name) > tuple(after)
    ]


class CatalogMixin:
    """Catalog reads of :class:`~tidings.storage.roles.Store` for the SQL backends."""

    _engine: Engine

    async def event_catalog(
        self, app_id: str, *, after: After = None, limit: int | None = None
    ) -> list[EventCatalogEntry]:
        page, params = keyset(("type", "name"), after, limit)

        def run(tx: Tx) -> list[EventCatalogEntry]:
            rows = tx.all(
                f"SELECT name, type, count, last_seen FROM event_catalog WHERE app_id = ?{page}",
                (app_id, *params),
            )
            system = tx.all(
                "SELECT name FROM event_catalog WHERE app_id = ? AND type = 'system'", (app_id,)
            )
            entries = [EventCatalogEntry(r[0], r[1], int(r[2]), int(r[3])) for r in rows]
            merged = sorted(
                entries + _system_entries((r[0] for r in system), after),
                key=lambda e: (e.type, e.name),
            )
            return merged[:limit] if limit is not None else merged

        return await self._engine.read(run)

    async def property_catalog(
        self, app_id: str, *, after: After = None, limit: int | None = None
    ) -> list[PropertyCatalogEntry]:
        page, params = keyset(("key",), after, limit)
        rows = await self._engine.read(
            lambda tx: tx.all(
                f"SELECT key, type FROM property_catalog WHERE app_id = ?{page}",
                (app_id, *params),
            )
        )
        return [PropertyCatalogEntry(r[0], r[1]) for r in rows]

    async def catalog_sizes(self, app_id: str) -> tuple[int, int]:
        def run(tx: Tx) -> tuple[int, int]:
            names = tx.scalar(
                "SELECT COUNT(*) FROM event_catalog WHERE app_id = ? AND type = 'custom'",
                (app_id,),
            )
            keys = tx.scalar("SELECT COUNT(*) FROM property_catalog WHERE app_id = ?", (app_id,))
            return int(names or 0), int(keys or 0)

        return await self._engine.read(run)
