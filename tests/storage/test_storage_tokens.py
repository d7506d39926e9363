"""Admin tokens (name, last use, expiry, project scope, revocation by id), the migration that
gave existing tokens an id, and keyset paging of every listing."""

from __future__ import annotations

from typing import Any

import pytest
from storage_support import T0, Backend, event, new_app, run

from tidings.storage import NotFoundError
from tidings.storage.migrations.postgres import MIGRATIONS as POSTGRES_MIGRATIONS
from tidings.storage.migrations.sqlite import MIGRATIONS as SQLITE_MIGRATIONS
from tidings.storage.postgres import PostgresStore
from tidings.storage.sqlite import SqliteStore
from tidings.storage.tokens import LAST_USE_RESOLUTION_MS

NOW = 1_800_000_000_000


def test_tokens_carry_name_expiry_and_scope(backend: Backend) -> None:
    async def go() -> None:
        async with await backend.open() as store:
            project = await store.create_project("A")
            issued = await store.issue_admin_token(
                "ci", expires_at=NOW + 1000, project_ids=[project.id, project.id]
            )
            info = issued.info
            assert issued.token.startswith("tat_") and info.id.startswith("tok_")
            assert (info.name, info.expires_at, info.project_ids) == (
                "ci",
                NOW + 1000,
                (project.id,),
            )
            assert info.scoped and info.allows(project.id) and not info.allows("prj_other")
            assert await store.admin_token(issued.token, NOW) is not None
            assert await store.admin_token(issued.token, NOW + 1000) is None  # expired
            assert await store.get_admin_token(info.id) is not None  # still listed
            with pytest.raises(NotFoundError):
                await store.issue_admin_token("x", project_ids=["prj_missing"])
            listed = await store.list_admin_tokens()
            assert [t.id for t in listed] == [info.id]
            assert issued.token not in repr(listed)
            assert await store.revoke_admin_token_id(info.id)
            assert not await store.revoke_admin_token_id(info.id)
            assert await store.admin_token(issued.token, NOW) is None
            revoked = await store.get_admin_token(info.id)
            assert revoked is not None and revoked.revoked_at is not None

    run(go())


def test_last_use_is_written_at_most_once_a_minute(sql_backend: Backend) -> None:
    async def go() -> None:
        async with await sql_backend.open() as store:
            token = await store.create_admin_token("dashboard")
            writes = store.engine.stats.jobs
            for offset in range(0, 50_000, 1000):  # fifty uses within one minute
                assert await store.admin_token(token, NOW + offset) is not None
            assert store.engine.stats.jobs - writes == 1
            (info,) = await store.list_admin_tokens()
            assert info.last_used_at == NOW
            later = NOW + LAST_USE_RESOLUTION_MS
            assert await store.admin_token(token, later) is not None
            assert store.engine.stats.jobs - writes == 2
            (info,) = await store.list_admin_tokens()
            assert info.last_used_at == later

    run(go())


def test_tokens_made_before_ids_existed_keep_working(
    sql_backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_class = SqliteStore if sql_backend.name == "sqlite" else PostgresStore
    migrations = SQLITE_MIGRATIONS if sql_backend.name == "sqlite" else POSTGRES_MIGRATIONS
    assert [m[0] for m in migrations][:5] == [1, 2, 3, 4, 5]

    async def write_old() -> None:
        monkeypatch.setattr(store_class, "migrations", migrations[:4])
        async with await sql_backend.open() as store:
            from tidings.storage import keys

            def insert(tx: Any) -> None:
                tx.execute(
                    "INSERT INTO admin_tokens (token_hash, label, created_at) VALUES (?, ?, ?)",
                    (keys.digest("tat_old"), "old ops", T0),
                )

            await store.engine.write(insert)

    run(write_old())
    monkeypatch.undo()

    async def read_new() -> None:
        async with await sql_backend.open() as store:
            info = await store.admin_token("tat_old", NOW)
            assert info is not None and info.id.startswith("tok_")
            assert (info.name, info.project_ids, info.expires_at) == ("old ops", None, None)
            assert [t.id for t in await store.list_admin_tokens()] == [info.id]
            assert await store.revoke_admin_token_id(info.id)
            assert not await store.verify_admin_token("tat_old")

    run(read_new())


def test_listings_page_by_their_sort_keys(backend: Backend) -> None:
    async def go() -> None:
        async with await backend.open() as store:
            projects = [await store.create_project(f"p{i}") for i in range(5)]
            page = await store.list_projects(after=None, limit=2)
            assert [p.id for p in page] == [p.id for p in projects[:2]]
            rest = await store.list_projects(after=(page[-1].created_at, page[-1].id), limit=10)
            assert [p.id for p in rest] == [p.id for p in projects[2:]]
            chosen = [projects[3].id, projects[1].id]
            assert [p.id for p in await store.list_projects(ids=chosen)] == sorted(
                chosen, key=[p.id for p in projects].index
            )
            assert await store.list_projects(ids=[]) == []

            apps = [
                (await store.create_app(projects[0].id, f"a{i}", "ios")).app_id for i in range(3)
            ]
            first = await store.list_apps(projects[0].id, limit=2)
            after = (first[-1].created_at, first[-1].id)
            assert [
                a.id for a in first + await store.list_apps(projects[0].id, after=after)
            ] == apps

            campaigns = [
                (await store.create_campaign(apps[0], {"name": f"c{i}"}, state)).id
                for i, state in enumerate(["Draft", "Active", "Draft", "Active"])
            ]
            assert await store.campaign_counts(apps[0]) == {"Draft": 2, "Active": 2}
            drafts = await store.list_campaigns(apps[0], "Draft", limit=1)
            more = await store.list_campaigns(
                apps[0], "Draft", after=(drafts[0].created_at, drafts[0].id)
            )
            assert [c.id for c in drafts + more] == [campaigns[0], campaigns[2]]

            for i, project in enumerate(projects[:3]):
                await store.upsert_cohort(project.id, f"co{i}", f"cohort {i}", created_at=T0 + i)
            scoped = await store.list_cohorts(project_ids=[projects[0].id, projects[2].id])
            assert [c.id for c in scoped] == ["co0", "co2"]
            first_cohort = scoped[0]
            after_first = (first_cohort.created_at, first_cohort.project_id, first_cohort.id)
            assert [c.id for c in await store.list_cohorts(after=after_first, limit=1)] == ["co1"]

            for i in range(4):
                await store.put_document("things", f"d{i}", {"n": i})
            docs = await store.list_documents("things", limit=3)
            tail = await store.list_documents("things", after=(docs[-1].created_at, docs[-1].id))
            assert [d.id for d in docs + tail] == ["d0", "d1", "d2", "d3"]

    run(go())


def test_recent_events_page_back_through_batches(backend: Backend) -> None:
    async def go() -> None:
        async with await backend.open() as store:
            app = await new_app(store)
            ids: list[str] = []
            for n in range(12):
                batch = [event(f"e{n}-{i}") for i in range(n % 4 + 1)]
                ids += [e.id for e in batch]
                await store.ingest(app.app_id, batch, arrival_ms=T0)
            for size in (1, 3, 7):
                seen: list[str] = []
                before = None
                while page := await store.recent_events(app.app_id, size, before_seq=before):
                    seen += [r.item_id for r in page]
                    before = page[-1].seq
                assert seen == ids[::-1]

    run(go())
