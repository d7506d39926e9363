"""Projects, apps, campaigns, cohorts, catalogs, stats and documents."""

from __future__ import annotations

import pytest
from storage_support import T0, Backend, decision, event, new_app, run

from tidings.core.events import SYSTEM_EVENT_NAMES
from tidings.storage import CohortChange, NotFoundError, ProjectConfig, VersionConflict


def test_projects_and_settings(backend: Backend) -> None:
    async def go() -> None:
        async with await backend.open() as store:
            p = await store.create_project("Main")
            assert p.settings == ProjectConfig()
            assert p.settings.to_json() == {
                "sessionTimeoutSeconds": 60,
                "frequencyCapping": None,
                "configRefreshSeconds": 300,
                "deepLinkSchemes": None,
            }
            patched = p.settings.merged({"frequencyCapping": {"perSession": 2, "perDay": 3}})
            updated = await store.update_project_settings(p.id, patched)
            assert updated.settings.frequency_capping == {"perSession": 2, "perDay": 3}
            again = await store.get_project(p.id)
            assert again is not None and again.settings == updated.settings
            assert (await store.get_project_by_name("Main")) is not None
            assert await store.get_project("prj_missing") is None
            assert [x.id for x in await store.list_projects()] == [p.id]
            with pytest.raises(NotFoundError):
                await store.update_project_settings("prj_missing", patched)
            with pytest.raises(NotFoundError):
                await store.create_app("prj_missing", "a", "ios")

    run(go())


def test_replace_campaign_if_version(backend: Backend) -> None:
    async def go() -> None:
        async with await backend.open() as store:
            app_id = (await new_app(store)).app_id
            c = await store.create_campaign(app_id, {"name": "A", "type": "DeepLink"})
            opened = c.version
            assert (await store.get_campaign(c.id)) is not None
            same = await store.get_campaign(c.id)
            assert same is not None and same.version == opened  # a digest of what is stored
            theirs = await store.replace_campaign(c.id, {"name": "B"}, if_version=opened)
            assert theirs.version != opened
            with pytest.raises(VersionConflict) as caught:
                await store.replace_campaign(c.id, {"name": "C"}, if_version=opened)
            assert caught.value.current.body["name"] == "B"
            assert caught.value.current.version == theirs.version
            stored = await store.get_campaign(c.id)
            assert stored is not None and stored.body["name"] == "B"
            # Writing the same body back gives the same version; a state change gives another.
            again = await store.replace_campaign(c.id, {"name": "B"}, if_version=theirs.version)
            assert again.version == theirs.version
            started = await store.set_campaign_state(c.id, "Active")
            assert started.version != theirs.version
            with pytest.raises(NotFoundError):
                await store.replace_campaign("c_missing", {}, if_version=opened)

    run(go())


def test_apps_listing(backend: Backend) -> None:
    async def go() -> None:
        async with await backend.open() as store:
            p = await store.create_project("p")
            q = await store.create_project("q")
            a = await store.create_app(p.id, "a", "ios")
            b = await store.create_app(q.id, "b", "android")
            assert [x.id for x in await store.list_apps(p.id)] == [a.app_id]
            assert {x.id for x in await store.list_apps()} == {a.app_id, b.app_id}
            got = await store.get_app(b.app_id)
            assert got is not None and (got.project_id, got.name) == (q.id, "b")

    run(go())


def test_campaign_lifecycle_and_config_revision(backend: Backend) -> None:
    async def go() -> None:
        async with await backend.open() as store:
            creds = await new_app(store)
            app_id = creds.app_id
            rev0 = await store.config_revision(app_id)
            body = {"name": "Welcome", "type": "DeepLink", "state": "Active", "priority": 1}
            c = await store.create_campaign(app_id, body)
            assert c.state == "Draft" and c.body["state"] == "Draft"
            assert c.body["id"] == c.id and c.body["createdAt"] == c.created_at
            # A Draft is in no device's manifest: creating or editing one leaves the revision.
            assert await store.config_revision(app_id) == rev0
            await store.replace_campaign(c.id, {**body, "priority": 2})
            assert await store.config_revision(app_id) == rev0
            active = await store.set_campaign_state(c.id, "Active")
            rev1 = await store.config_revision(app_id)
            assert rev1 > rev0
            assert active.state == "Active" and active.body["name"] == "Welcome"
            assert [x.id for x in await store.list_campaigns(app_id, "Active")] == [c.id]
            assert await store.list_campaigns(app_id, "Draft") == []
            replaced = await store.replace_campaign(c.id, {"name": "Hello", "id": "other"})
            assert replaced.id == c.id and replaced.state == "Active"
            assert replaced.body["name"] == "Hello" and replaced.created_at == c.created_at
            assert await store.config_revision(app_id) > rev1
            named = await store.create_campaign(app_id, {"id": "c_fixed"}, "Active")
            assert named.id == "c_fixed"
            clash = await store.create_campaign(app_id, {"id": "c_fixed"})
            assert clash.id != "c_fixed"
            rev2 = await store.config_revision(app_id)
            assert await store.delete_campaign(c.id)  # an Active one: devices must drop it
            assert await store.config_revision(app_id) > rev2
            assert not await store.delete_campaign(c.id)
            assert await store.get_campaign(c.id) is None
            with pytest.raises(NotFoundError):
                await store.set_campaign_state(c.id, "Cancel")
            with pytest.raises(NotFoundError):
                await store.config_revision("app_missing")

    run(go())


def test_cohorts(backend: Backend) -> None:
    async def go() -> None:
        async with await backend.open() as store:
            p = await store.create_project("p")
            q = await store.create_project("q")
            app = await store.create_app(p.id, "a", "ios")
            rev = await store.config_revision(app.app_id)
            c = await store.upsert_cohort(p.id, "coh1", "Buyers", created_at=T0)
            assert (c.name, c.member_count, c.created_at) == ("Buyers", 0, T0)
            assert c.display_name == "[Amplitude] Buyers: coh1"
            renamed = await store.upsert_cohort(p.id, "coh1", "Big buyers")
            assert renamed.name == "Big buyers" and renamed.created_at == T0
            await store.upsert_cohort(p.id, "coh2", "Others")
            await store.upsert_cohort(q.id, "coh1", "Same id, other project")
            changed = await store.apply_cohort_changes(
                p.id,
                "coh1",
                [
                    CohortChange(user_ids=["u1", "u2"], device_ids=["d1"]),
                    CohortChange(user_ids=["u2"], should_remove=True),
                    CohortChange(user_ids=["u1"]),  # adding twice is a no-op
                ],
            )
            assert changed.member_count == 2
            await store.apply_cohort_changes(p.id, "coh2", [CohortChange(device_ids=["d1"])])
            assert await store.cohorts_for(p.id, "u1", None) == ["coh1"]
            assert await store.cohorts_for(p.id, "u2", None) == []
            assert await store.cohorts_for(p.id, None, "d1") == ["coh1", "coh2"]
            assert await store.cohorts_for(p.id, "u1", "d1") == ["coh1", "coh2"]
            assert await store.cohorts_for(q.id, "u1", "d1") == []
            assert await store.cohorts_for(p.id, None, None) == []
            listed = {(x.project_id, x.id): x.member_count for x in await store.list_cohorts()}
            assert listed == {(p.id, "coh1"): 2, (p.id, "coh2"): 1, (q.id, "coh1"): 0}
            assert len(await store.list_cohorts(p.id)) == 2
            assert await store.config_revision(app.app_id) > rev
            with pytest.raises(NotFoundError):
                await store.apply_cohort_changes(p.id, "nope", [])

    run(go())


def test_event_and_property_catalogs(backend: Backend) -> None:
    async def go() -> None:
        async with await backend.open() as store:
            creds = await new_app(store)
            app_id = creds.app_id
            await store.ingest(
                app_id,
                [
                    event("e1", ts=T0 + 5),
                    event("e2", ts=T0 + 1),
                    event("s1", "SessionStarted", type_="system", ts=T0),
                ],
                arrival_ms=T0,
                custom_properties={"plan": "gold", "age": 30, "vip": True, "score": 1.5},
            )
            await store.ingest(
                app_id,
                [event("e1", ts=T0 + 99)],  # duplicate: neither count nor lastSeen moves
                arrival_ms=T0,
                custom_properties={"plan": "gold", "age": "thirty"},
            )
            catalog = {(e.name, e.type): e for e in await store.event_catalog(app_id)}
            assert catalog[("PurchaseCompleted", "custom")].count == 2
            assert catalog[("PurchaseCompleted", "custom")].last_seen == T0 + 5
            assert catalog[("SessionStarted", "system")].count == 1
            assert {n for n, t in catalog if t == "system"} == set(SYSTEM_EVENT_NAMES)
            assert catalog[("SdkInitialized", "system")].to_json() == {
                "name": "SdkInitialized",
                "type": "system",
                "count": 0,
                "lastSeen": None,
            }
            props = [p.to_json() for p in await store.property_catalog(app_id)]
            assert props == [
                {"key": "age", "type": "mixed"},
                {"key": "plan", "type": "string"},
                {"key": "score", "type": "number"},
                {"key": "vip", "type": "boolean"},
            ]

    run(go())


def test_campaign_stats_count_each_stored_item_once(backend: Backend) -> None:
    async def go() -> None:
        async with await backend.open() as store:
            creds = await new_app(store)
            day2 = T0 + 86_400_000
            shown = event("s1", "CampaignShown", type_="system", properties={"campaignId": "c_1"})
            resolved = [
                event(
                    "r1",
                    "CampaignResolved",
                    type_="system",
                    properties={"campaignId": "c_1", "result": "Completed"},
                ),
                event(
                    "r2",
                    "CampaignResolved",
                    type_="system",
                    ts=day2,
                    properties={
                        "campaignId": "c_1",
                        "result": "Unavailable",
                        "unavailableReason": "TimedOut",
                    },
                ),
            ]
            decisions = [
                decision("d1"),
                decision("d2", status="HOLDOUT"),
                decision("d3", ts=day2),
                decision("d4", campaign_id="c_2", status="LOWER_PRIORITY"),
            ]
            for _ in range(2):  # the retry must not double count
                await store.ingest(creds.app_id, [shown, *resolved], decisions, arrival_ms=T0)
            stats = (await store.campaign_stats("c_1")).to_json()
            assert stats["decisions"] == {"SUCCESS": 2, "HOLDOUT": 1}
            assert stats["shown"] == 1
            assert stats["resolved"] == {"Completed": 1, "Unavailable": 1}
            assert stats["unavailableReasons"] == {"TimedOut": 1}
            assert [d["day"] for d in stats["byDay"]] == ["2025-11-28", "2025-11-29"]
            assert stats["byDay"][0]["decisions"] == {"SUCCESS": 1, "HOLDOUT": 1}
            assert stats["byDay"][0]["shown"] == 1
            assert stats["byDay"][1]["resolved"] == {"Unavailable": 1}
            empty = (await store.campaign_stats("c_none")).to_json()
            assert empty == {
                "decisions": {},
                "shown": 0,
                "resolved": {},
                "unavailableReasons": {},
                "byDay": [],
            }

    run(go())


def test_documents(backend: Backend) -> None:
    async def go() -> None:
        async with await backend.open() as store:
            d = await store.put_document("destinations", "d1", {"kind": "amplitude"})
            again = await store.put_document("destinations", "d1", {"kind": "amplitude-currents"})
            assert again.created_at == d.created_at
            got = await store.get_document("destinations", "d1")
            assert got is not None and got.body == {"kind": "amplitude-currents"}
            await store.put_document("streams", "d1", {"kind": "jsonl"})
            assert [x.id for x in await store.list_documents("destinations")] == ["d1"]
            assert await store.delete_document("destinations", "d1")
            assert not await store.delete_document("destinations", "d1")
            assert await store.get_document("destinations", "d1") is None
            assert await store.get_document("streams", "d1") is not None
            assert await store.ping()

    run(go())
