"""Dead letters of a destination instance: list, retry (back into the outbox), discard.

One place for the admin API, the CLI and the dashboard, so every entry point means the same
thing: a retried dead letter goes back to the outbox due now, with a fresh maximum age and its
original id (the receiver counts it at most once); a discarded one is gone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tidings.pipeline.delivery.instances import get_instance
from tidings.storage import DeadLetter, Store


async def dead_letters(store: Store, instance_id: str, limit: int = 1000) -> list[DeadLetter]:
    """The instance's dead letters, oldest first."""
    await get_instance(store, instance_id)
    return await store.list_dead_letters(instance_id, limit)


async def retry(
    store: Store,
    instance_id: str,
    ids: Sequence[str] | None = None,
    on_enqueued: Callable[[str], None] | None = None,
) -> int:
    """Move dead letters (all, or ``ids``) back into the outbox; returns how many."""
    instance = await get_instance(store, instance_id)
    kind = instance.destination_kind
    count = await store.retry_dead_letters(instance_id, ids, kind.order_key_of)
    if count and on_enqueued is not None:
        on_enqueued(instance_id)
    return count


async def discard(store: Store, instance_id: str, ids: Sequence[str] | None = None) -> int:
    """Delete dead letters (all, or ``ids``); returns how many."""
    await get_instance(store, instance_id)
    return await store.discard_dead_letters(instance_id, ids)


async def pending(store: Store, instance_id: str) -> int:
    """How many items wait in the instance's outbox."""
    return await store.outbox_size(instance_id)


async def forget(store: Store, instance_id: str) -> None:
    """Drop the outbox and the dead letters of a deleted instance."""
    await store.drop_outbox(instance_id)
    await store.discard_dead_letters(instance_id, None)
