"""The admin API's check of what a server campaign calls: destinations of its own app that take
rendered calls. The core validator cannot know the destinations; this is the one place that does
(creation, replacement and activation all go through it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidings.core.campaigns import is_server_campaign
from tidings.core.errors import InvalidInput
from tidings.server.errors import invalid_input
from tidings.storage import NotFoundError, Store


async def check_destinations(store: Store, app_id: str, body: Mapping[str, Any]) -> None:
    """A server campaign calls destinations of its own app whose kind takes rendered calls
    (the webhook kind); every content that names another is refused, naming its path."""
    if not is_server_campaign(body):
        return
    from tidings.pipeline.delivery import get_instance

    named: list[tuple[str, object]] = []
    content = body.get("content")
    if isinstance(content, Mapping):
        named.append(("content.destinationId", content.get("destinationId")))
    for i, treatment in enumerate(body.get("treatments") or []):
        inner = treatment.get("content") if isinstance(treatment, Mapping) else None
        if isinstance(inner, Mapping):
            named.append((f"treatments[{i}].content.destinationId", inner.get("destinationId")))
    errors: list[InvalidInput] = []
    for path, destination_id in named:
        if not isinstance(destination_id, str):
            continue
        try:
            instance = await get_instance(store, destination_id)
        except NotFoundError:
            errors.append(InvalidInput(path, f"no destination {destination_id!r}"))
            continue
        if app_id not in instance.app_ids:
            errors.append(InvalidInput(path, f"destination {destination_id!r} is not this app's"))
        elif getattr(instance.destination_kind, "rendered", None) is None:
            kind = instance.destination_kind.name
            errors.append(InvalidInput(path, f"a {kind} destination takes no campaign calls"))
    if errors:
        raise invalid_input(errors, "invalid_campaign")
