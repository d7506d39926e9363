"""Dead letters: one per item, however often a batch is handed over again."""

from __future__ import annotations

from storage_support import Backend, run

from tidings.storage import DeadLetterIn


def _letter(key: str, reason: str = "invalid field device_id") -> DeadLetterIn:
    return DeadLetterIn(key, 1, reason, b'{"event": {}}', {"url": "x"}, {"status": 400})


def test_a_batch_handed_over_twice_leaves_one_dead_letter_per_item(backend: Backend) -> None:
    async def go() -> None:
        async with await backend.open() as store:
            await store.enqueue("dst_1", [], [_letter("e-1"), _letter("e-2")])
            # The same batch again (a consumer killed before its cursor moved), plus a repeat
            # inside one call, plus one new item.
            await store.enqueue("dst_1", [], [_letter("e-1"), _letter("e-3"), _letter("e-3")])
            letters = await store.list_dead_letters("dst_1")
            assert sorted(d.item_key for d in letters) == ["e-1", "e-2", "e-3"]
            # Another destination's letter for the same item is its own.
            await store.enqueue("dst_2", [], [_letter("e-1")])
            assert [d.item_key for d in await store.list_dead_letters("dst_2")] == ["e-1"]

    run(go())


def test_an_item_that_dies_again_after_a_retry_is_recorded_again(backend: Backend) -> None:
    async def go() -> None:
        async with await backend.open() as store:
            await store.enqueue("dst_1", [], [_letter("e-1", "first death")])
            assert await store.retry_dead_letters("dst_1", None) == 1
            assert await store.list_dead_letters("dst_1") == []
            assert await store.outbox_size("dst_1") == 1
            await store.enqueue("dst_1", [], [_letter("e-1", "second death")])
            letters = await store.list_dead_letters("dst_1")
            assert [(d.item_key, d.reason) for d in letters] == [("e-1", "second death")]

    run(go())
