"""Device profiles of the memory store (the same rules as :mod:`tidings.storage.profilestore`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from tidings.storage.memory.state import MemoryState
from tidings.storage.profilerecords import (
    DeviceProfileRecord,
    ProfileCounts,
    ProfileUpdate,
    sample_key,
)
from tidings.storage.profilestore import MAX_SAMPLE_COHORTS, coalesce


class MemoryProfiles:
    _state: MemoryState

    async def upsert_profiles(self, updates: Sequence[ProfileUpdate]) -> None:
        merged = coalesce(updates)
        with self._state.lock:
            for key, update in merged.items():
                stored = self._state.profiles.get(key)
                base = stored or DeviceProfileRecord(key[0], key[1], update.seen_ms)
                self._state.profiles[key] = base.updated(update)

    async def profile_counts(self, app_id: str, seen_since_ms: int) -> ProfileCounts:
        with self._state.lock:
            seen = [p.last_seen_ms for (a, _), p in self._state.profiles.items() if a == app_id]
        return ProfileCounts(len(seen), sum(1 for s in seen if s >= seen_since_ms))

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
        with self._state.lock:
            chosen = sorted(
                (
                    (k, p)
                    for (a, _), p in self._state.profiles.items()
                    if a == app_id and (k := sample_key(p.device_id)) < below
                ),
                key=lambda kp: kp[0],
            )[:limit]
            out = []
            for _, p in chosen:
                cohorts = frozenset(
                    c
                    for c in wanted
                    if ("d", p.device_id)
                    in (m := self._state.members.get((project_id or "", c), set()))
                    or (p.user_id is not None and ("u", p.user_id) in m)
                )
                out.append(replace(p, cohorts=cohorts))
        return out

    async def get_profile(self, app_id: str, device_id: str) -> DeviceProfileRecord | None:
        with self._state.lock:
            return self._state.profiles.get((app_id, device_id))
