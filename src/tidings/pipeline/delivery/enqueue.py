"""The seam for payloads rendered elsewhere: hand a destination a finished message to deliver.

Another component (server-side campaigns: a decision rendered into a webhook call) does not go
through the event log's mapping: it gives a destination instance a :class:`RenderedItem`, its
payload and its id. The item enters the same outbox as the log's items, so it gets the same
order (per ``order_key``), retries, backoff, dead letters and pause handling. For the webhook
kind the payload is POSTed alone, as it is, with ``webhook-id`` set to the given id (the
receiver's idempotency key: the decision id, say); enqueueing the same id twice sends it once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from tidings.core.errors import InvalidInput
from tidings.destinations.kind import Clock, wall_ms
from tidings.pipeline.delivery.instances import get_instance
from tidings.storage import OutboxItem, Store


@dataclass(frozen=True, slots=True)
class RenderedItem:
    """A finished payload for one destination: ``id`` (the ``webhook-id``; unique per
    destination), the JSON ``payload``, and whose order it keeps (a device or user id)."""

    id: str
    payload: Mapping[str, Any] | bytes
    order_key: str = ""


def _body(item: RenderedItem) -> bytes:
    if isinstance(item.payload, bytes):
        orjson.loads(item.payload)  # JSON, or InvalidInput below
        return item.payload
    return orjson.dumps(item.payload)


async def enqueue_rendered(
    store: Store,
    instance_id: str,
    items: Sequence[RenderedItem],
    on_enqueued: Callable[[str], None] | None = None,
    *,
    clock: Clock = wall_ms,
) -> int:
    """Durably queue rendered payloads for the instance; returns how many distinct ids were
    handed over (an id already waiting is not queued twice).

    Raises :class:`InvalidInput` when the instance's kind takes no rendered payloads or an
    item's id or payload is unusable (nothing is queued then).
    """
    instance = await get_instance(store, instance_id)
    kind = instance.destination_kind
    render = getattr(kind, "rendered", None)
    if render is None:
        raise InvalidInput("kind", f"{kind.name} destinations take no rendered payloads")
    at = clock()
    rows: dict[str, OutboxItem] = {}
    for i, item in enumerate(items):
        if not item.id or "." in item.id or len(item.id) > 256:
            raise InvalidInput(f"items[{i}].id", "must be 1 to 256 characters without '.'")
        try:
            body = _body(item)
        except (orjson.JSONDecodeError, TypeError) as exc:
            raise InvalidInput(f"items[{i}].payload", f"is not JSON: {exc}") from None
        stored = render(item.id, body, item.order_key)
        rows.setdefault(item.id, OutboxItem(item.id, item.order_key, 0, at, stored))
    await store.enqueue(instance_id, list(rows.values()))
    if rows and on_enqueued is not None:
        on_enqueued(instance_id)
    return len(rows)
