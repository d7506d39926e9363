"""Last-known device profiles: merged updates, counts, uniform samples with cohort membership."""

from __future__ import annotations

from storage_support import T0, Backend, new_app, run

from tidings.storage import CohortChange, ProfileUpdate
from tidings.storage.profilerecords import sample_key


def test_updates_merge_field_by_field(backend: Backend) -> None:
    async def go() -> None:
        async with await backend.open() as store:
            app_id = (await new_app(store)).app_id
            await store.upsert_profiles(
                [
                    ProfileUpdate(
                        app_id,
                        "d1",
                        T0,
                        platform="ios",
                        country="US",
                        app_version="1.0",
                        custom_properties={"tier": "free", "age": 3},
                    ),
                    # Within one batch, the later update wins field by field.
                    ProfileUpdate(app_id, "d1", T0 + 5, app_version="1.1"),
                ]
            )
            p = await store.get_profile(app_id, "d1")
            assert p is not None
            assert (p.platform, p.country, p.app_version, p.last_seen_ms) == (
                "ios",
                "US",
                "1.1",
                T0 + 5,
            )
            assert p.custom_properties == {"tier": "free", "age": 3}
            # Traits (merge) add keys; an upload's map replaces the whole map.
            await store.upsert_profiles(
                [
                    ProfileUpdate(
                        app_id,
                        "d1",
                        T0 + 9,
                        custom_properties={"tier": "pro"},
                        merge_properties=True,
                        user_id="u1",
                    )
                ]
            )
            p = await store.get_profile(app_id, "d1")
            assert p is not None and p.custom_properties == {"tier": "pro", "age": 3}
            assert p.user_id == "u1" and p.country == "US"
            await store.upsert_profiles(
                [ProfileUpdate(app_id, "d1", T0 + 1, custom_properties={"plan": "x"})]
            )
            p = await store.get_profile(app_id, "d1")
            assert p is not None and p.custom_properties == {"plan": "x"}
            assert p.last_seen_ms == T0 + 9  # an older update never moves "last seen" back
            assert await store.get_profile(app_id, "d2") is None

    run(go())


def test_counts_and_uniform_samples_with_cohorts(backend: Backend) -> None:
    async def go() -> None:
        async with await backend.open() as store:
            creds = await new_app(store)
            app_id = creds.app_id
            app = await store.get_app(app_id)
            assert app is not None
            other = (await new_app(store, "other")).app_id
            devices = [f"dev-{i}" for i in range(60)]
            await store.upsert_profiles(
                [ProfileUpdate(app_id, d, T0 + i, user_id=f"u{i}") for i, d in enumerate(devices)]
                + [ProfileUpdate(other, "elsewhere", T0)]
            )
            counts = await store.profile_counts(app_id, T0 + 50)
            assert (counts.total, counts.seen_since) == (60, 10)
            await store.upsert_cohort(app.project_id, "vip", "VIP")
            await store.apply_cohort_changes(
                app.project_id,
                "vip",
                [CohortChange(device_ids=["dev-1"]), CohortChange(user_ids=["u2"])],
            )
            everyone = await store.profile_sample(
                app_id, 1 << 32, 1000, project_id=app.project_id, cohort_ids=["vip", "none"]
            )
            assert sorted(p.device_id for p in everyone) == sorted(devices)
            keys = [sample_key(p.device_id) for p in everyone]
            assert keys == sorted(keys)
            vip = {p.device_id for p in everyone if "vip" in p.cohorts}
            assert vip == {"dev-1", "dev-2"}
            first = await store.profile_sample(app_id, 1 << 32, 7)
            assert [p.device_id for p in first] == [p.device_id for p in everyone[:7]]
            below = keys[20]
            assert [p.device_id for p in await store.profile_sample(app_id, below, 1000)] == [
                p.device_id for p in everyone[:20]
            ]

    run(go())
