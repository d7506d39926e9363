"""Device profiles on the SQL backends (the :class:`~tidings.storage.roles.Profiles` role)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import orjson

from tidings.storage.engine import Engine, Row, Tx
from tidings.storage.profilerecords import (
    DeviceProfileRecord,
    ProfileCounts,
    ProfileUpdate,
    sample_key,
)

_COLUMNS: Final = (
    "app_id, device_id, last_seen, user_id, platform, os_version, app_version,"
    " app_install_version, country, install_time, custom_properties"
)
_UPSERT: Final = (
    f"INSERT INTO device_profiles ({_COLUMNS}, sample_key)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (app_id, device_id) DO UPDATE SET last_seen = excluded.last_seen,"
    " user_id = excluded.user_id, platform = excluded.platform,"
    " os_version = excluded.os_version, app_version = excluded.app_version,"
    " app_install_version = excluded.app_install_version, country = excluded.country,"
    " install_time = excluded.install_time, custom_properties = excluded.custom_properties"
)
_CHUNK: Final = 500
"""Device ids per ``IN (...)`` when reading the stored profiles a batch updates."""
MAX_SAMPLE_COHORTS: Final = 50
"""Cohorts a sample reports membership of at most (a campaign names few)."""


def coalesce(updates: Sequence[ProfileUpdate]) -> dict[tuple[str, str], ProfileUpdate]:
    """One update per device, in first-seen order (later updates win field by field)."""
    out: dict[tuple[str, str], ProfileUpdate] = {}
    for update in updates:
        key = (update.app_id, update.device_id)
        earlier = out.get(key)
        out[key] = update if earlier is None else earlier.combined(update)
    return out


def _record(row: Row, cohorts: frozenset[str] = frozenset()) -> DeviceProfileRecord:
    return DeviceProfileRecord(
        app_id=row[0],
        device_id=row[1],
        last_seen_ms=int(row[2]),
        user_id=row[3],
        platform=row[4],
        os_version=row[5],
        app_version=row[6],
        app_install_version=row[7],
        country=row[8],
        install_time=None if row[9] is None else int(row[9]),
        custom_properties=orjson.loads(row[10]),
        cohorts=cohorts,
    )


def _row(p: DeviceProfileRecord) -> tuple[Any, ...]:
    return (
        p.app_id,
        p.device_id,
        p.last_seen_ms,
        p.user_id,
        p.platform,
        p.os_version,
        p.app_version,
        p.app_install_version,
        p.country,
        p.install_time,
        orjson.dumps(p.custom_properties).decode(),
        sample_key(p.device_id),
    )


class ProfilesMixin:
    """Profile methods of the SQL store."""

    _engine: Engine

    async def upsert_profiles(self, updates: Sequence[ProfileUpdate]) -> None:
        merged = coalesce(updates)
        if not merged:
            return

        def run(tx: Tx) -> None:
            by_app: dict[str, list[str]] = {}
            for app_id, device_id in merged:
                by_app.setdefault(app_id, []).append(device_id)
            stored: dict[tuple[str, str], DeviceProfileRecord] = {}
            for app_id, devices in by_app.items():
                for i in range(0, len(devices), _CHUNK):
                    chunk = devices[i : i + _CHUNK]
                    marks = ", ".join("?" * len(chunk))
                    for row in tx.all(
                        f"SELECT {_COLUMNS} FROM device_profiles"
                        f" WHERE app_id = ? AND device_id IN ({marks})",
                        (app_id, *chunk),
                    ):
                        stored[(row[0], row[1])] = _record(row)
            rows = []
            for key, update in merged.items():
                base = stored.get(key) or DeviceProfileRecord(key[0], key[1], update.seen_ms)
                rows.append(_row(base.updated(update)))
            tx.executemany(_UPSERT, rows)

        await self._engine.write(run)

    async def profile_counts(self, app_id: str, seen_since_ms: int) -> ProfileCounts:
        row = await self._engine.read(
            lambda tx: tx.one(
                "SELECT COUNT(*), COALESCE(SUM(CASE WHEN last_seen >= ? THEN 1 ELSE 0 END), 0)"
                " FROM device_profiles WHERE app_id = ?",
                (seen_since_ms, app_id),
            )
        )
        assert row is not None
        return ProfileCounts(int(row[0]), int(row[1]))

    async def profile_sample(
        self,
        app_id: str,
        below: int,
        limit: int,
        *,
        project_id: str | None = None,
        cohort_ids: Sequence[str] = (),
    ) -> list[DeviceProfileRecord]:
        wanted = list(dict.fromkeys(cohort_ids))[:MAX_SAMPLE_COHORTS] if project_id else []
        member = (
            "EXISTS (SELECT 1 FROM cohort_members m WHERE m.project_id = ? AND m.cohort_id = ?"
            " AND ((m.kind = 'd' AND m.member_id = p.device_id)"
            " OR (m.kind = 'u' AND m.member_id = p.user_id)))"
        )
        extra = "".join(f", {member}" for _ in wanted)
        params: list[Any] = []
        for cohort in wanted:
            params += [project_id, cohort]
        sql = (
            f"SELECT {', '.join('p.' + c.strip() for c in _COLUMNS.split(','))}{extra}"
            " FROM device_profiles p WHERE p.app_id = ? AND p.sample_key < ?"
            " ORDER BY p.sample_key LIMIT ?"
        )
        rows = await self._engine.read(lambda tx: tx.all(sql, (*params, app_id, below, limit)))
        out = []
        for row in rows:
            flags = row[11:]
            cohorts = frozenset(c for c, f in zip(wanted, flags, strict=True) if f)
            out.append(_record(row, cohorts))
        return out

    async def get_profile(self, app_id: str, device_id: str) -> DeviceProfileRecord | None:
        row = await self._engine.read(
            lambda tx: tx.one(
                f"SELECT {_COLUMNS} FROM device_profiles WHERE app_id = ? AND device_id = ?",
                (app_id, device_id),
            )
        )
        return None if row is None else _record(row)
