"""Per-identity states: committed with the cursor, decisions and deliveries, or not at all."""

from __future__ import annotations

import pytest
from storage_support import T0, Backend, decision, event, new_app, run

from tidings.storage import DeadLetterIn, IdentityCommit, OutboxItem, Settle, StateConflict


def _item(key: str) -> OutboxItem:
    return OutboxItem(key, "u-1", 0, T0, b'{"order":"u-1","rendered":true,"body":{}}')


def test_a_batch_commits_states_decisions_deliveries_and_cursor_together(
    backend: Backend,
) -> None:
    async def go() -> None:
        async with await backend.open() as store:
            app = await new_app(store)
            await store.ingest(app.app_id, [event("e1"), event("e2")], arrival_ms=T0)
            first, last = [r.seq for r in await store.read_log(0)]
            commit = IdentityCommit(
                "server-campaigns",
                first,
                last,
                states=[("a|u:1", b"one"), ("a|d:2", b"two")],
                decisions=[(app.app_id, decision("d1", "c_9"))],
                deliveries=[("dst_1", _item("d1"))],
            )
            assert await store.commit_identity_batch(commit, T0)
            assert await store.get_cursor("server-campaigns") == last
            assert await store.load_identity_states(["a|u:1", "a|d:2", "a|x"]) == {
                "a|u:1": b"one",
                "a|d:2": b"two",
            }
            assert await store.identity_state_count() == 2
            log = await store.read_log(last)
            assert [(r.kind, r.item_id, r.name) for r in log] == [("decision", "d1", "c_9")]
            assert [r.item_key for r in await store.outbox_rows("dst_1")] == ["d1"]
            assert (await store.campaign_stats("c_9")).decisions == {"SUCCESS": 1}

            # The same batch again (a process that lost the race, or a redo): nothing written.
            again = IdentityCommit(
                "server-campaigns",
                first,
                last,
                states=[("a|u:1", b"changed")],
                decisions=[(app.app_id, decision("d2", "c_9"))],
                deliveries=[("dst_1", _item("d2"))],
            )
            assert not await store.commit_identity_batch(again, T0)
            assert (await store.load_identity_states(["a|u:1"]))["a|u:1"] == b"one"
            assert await store.outbox_size("dst_1") == 1
            assert (await store.campaign_stats("c_9")).decisions == {"SUCCESS": 1}
            assert len(await store.read_log(0)) == 3

    run(go())


def test_settle_appends_the_log_records_of_dead_items_in_its_transaction(
    backend: Backend,
) -> None:
    async def go() -> None:
        async with await backend.open() as store:
            app = await new_app(store)
            await store.enqueue("dst_1", [_item("d1")])
            row = (await store.outbox_rows("dst_1"))[0]
            dead = Settle(row.id, dead=DeadLetterIn("d1", 1, "HTTP 400", row.body))
            failure = decision("d1-failure", "c_9", "CUSTOM_DELIVERY_FAILURE")
            await store.settle("dst_1", [dead], log=[(app.app_id, failure)])
            # Settled twice (a sender that died before noticing): one record, counted once.
            await store.settle("dst_1", [], log=[(app.app_id, failure)])
            assert await store.outbox_size("dst_1") == 0
            assert [d.item_key for d in await store.list_dead_letters("dst_1")] == ["d1"]
            log = await store.read_log(0)
            assert [(r.kind, r.item_id) for r in log] == [("decision", "d1-failure")]
            stats = await store.campaign_stats("c_9")
            assert stats.decisions == {"CUSTOM_DELIVERY_FAILURE": 1}

    run(go())


def test_expected_states_are_compared_and_set_or_the_batch_writes_nothing(
    backend: Backend,
) -> None:
    async def go() -> None:
        async with await backend.open() as store:
            app = await new_app(store)
            await store.ingest(app.app_id, [event(f"e{i}") for i in range(4)], arrival_ms=T0)
            seqs = [r.seq for r in await store.read_log(0)]
            first = IdentityCommit(
                "server-campaigns@p0",
                seqs[0],
                seqs[0],
                states=[("a|u:1", b"one"), ("a|d:2", b"two")],
                expected={"a|u:1": None},
            )
            assert await store.commit_identity_batch(first, T0)
            # Another partition read u:1 before that commit: its batch conflicts, and nothing
            # of it (cursor, states, decisions, deliveries) is written.
            stale = IdentityCommit(
                "server-campaigns@p1",
                seqs[1],
                seqs[1],
                states=[("a|u:1", b"stale"), ("a|d:3", b"three")],
                decisions=[(app.app_id, decision("d9", "c_9"))],
                deliveries=[("dst_1", _item("d9"))],
                expected={"a|u:1": None},
            )
            with pytest.raises(StateConflict) as caught:
                await store.commit_identity_batch(stale, T0)
            assert caught.value.keys == ["a|u:1"]
            assert await store.get_cursor("server-campaigns@p1") == 0
            assert await store.load_identity_states(["a|u:1", "a|d:3"]) == {"a|u:1": b"one"}
            assert await store.outbox_size("dst_1") == 0
            assert [r.item_id for r in await store.read_log(0) if r.kind == "decision"] == []
            # Evaluated again from what is stored now, it commits.
            fresh = IdentityCommit(
                "server-campaigns@p1",
                seqs[1],
                seqs[1],
                states=[("a|u:1", b"one+1"), ("a|d:3", b"three")],
                expected={"a|u:1": b"one"},
            )
            assert await store.commit_identity_batch(fresh, T0)
            assert await store.load_identity_states(["a|u:1", "a|d:3"]) == {
                "a|u:1": b"one+1",
                "a|d:3": b"three",
            }
            again = IdentityCommit(
                "server-campaigns@p0",
                seqs[2],
                seqs[2],
                states=[("a|u:1", b"lost")],
                expected={"a|u:1": b"one"},
            )
            with pytest.raises(StateConflict):
                await store.commit_identity_batch(again, T0)
            assert (await store.load_identity_states(["a|u:1"]))["a|u:1"] == b"one+1"

    run(go())
