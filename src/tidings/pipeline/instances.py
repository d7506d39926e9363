"""Amplitude destination instances: stored configuration, checked with the destination's parsers.

An instance is a document of the ``destinations`` collection (the same one the global admin
routes use), so the server, the CLI and every worker process read one source of truth:

``{kind: "amplitude" | "amplitude-currents", name, appIds: [...], settings: {apiKey, secretKey,
endpoint, baseUrl?, prefix?}, subscriptions?: [...], enabled: bool, paused: null | {reason, at}}``

* ``subscriptions`` absent: every preset (Segment's default for a new Amplitude destination).
* ``enabled: false`` stops both the consumer and the sender; the cursor keeps its place, so
  enabling it again catches up on what was logged meanwhile.
* ``paused`` is set by the sender when Amplitude refuses the instance itself (invalid API key,
  ``missing_field``), or by an operator: events keep flowing into the outbox, nothing is sent,
  nothing is dropped; resuming sends the backlog in order.

A new instance's cursor starts at the current end of the log: it receives what arrives from now
on; history is a replay (:func:`tidings.pipeline.amplitude.replay`).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tidings.core.errors import InvalidConfig, InvalidInput
from tidings.destinations.amplitude import Currents, Destination, currents_from_json
from tidings.destinations.amplitude.instance import MAX_SUBSCRIPTIONS
from tidings.storage import Document, NotFoundError, Store

COLLECTION = "destinations"
KINDS = ("amplitude", "amplitude-currents")
_FIELDS = ("kind", "name", "appIds", "settings", "subscriptions", "enabled", "paused", "id")


def cursor_name(instance_id: str) -> str:
    """The event-log cursor (and lease) of an instance's consumer: stable forever."""
    return f"destination:{instance_id}"


def sender_lease(instance_id: str) -> str:
    """The lease that lets one process at a time send an instance's outbox."""
    return f"sender:{instance_id}"


@dataclass(frozen=True, slots=True)
class Instance:
    """A stored instance, parsed."""

    id: str
    kind: str
    name: str
    app_ids: tuple[str, ...]
    enabled: bool
    paused: Mapping[str, Any] | None
    body: Mapping[str, Any]
    created_at: int
    updated_at: int

    @classmethod
    def from_document(cls, doc: Document) -> Instance:
        body = doc.body
        paused = body.get("paused")
        return cls(
            id=doc.id,
            kind=str(body.get("kind", "amplitude")),
            name=str(body.get("name") or doc.id),
            app_ids=tuple(body.get("appIds") or ()),
            enabled=bool(body.get("enabled", True)),
            paused=paused if isinstance(paused, Mapping) else None,
            body=body,
            created_at=doc.created_at,
            updated_at=doc.updated_at,
        )

    @property
    def active(self) -> bool:
        """Whether the sender should send now."""
        return self.enabled and self.paused is None

    def build(self) -> Destination | Currents:
        """The destination object that turns messages into work."""
        return build_destination(self.body)

    def to_json(self) -> dict[str, Any]:
        """The admin API shape."""
        return {
            **self.body,
            "id": self.id,
            "paused": dict(self.paused) if self.paused else None,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        }


def build_destination(body: Mapping[str, Any]) -> Destination | Currents:
    """Parse ``body`` with the destination layer's own parsers (raises :class:`InvalidConfig`)."""
    if body.get("kind") == "amplitude-currents":
        return currents_from_json({"settings": body.get("settings") or {}})
    return Destination.from_json(
        {"settings": body.get("settings") or {}, "subscriptions": body.get("subscriptions")}
    )


def validate_body(body: Mapping[str, Any], app_ids: list[str]) -> dict[str, Any]:
    """A checked instance body (what is stored is what a worker can run)."""
    unknown = sorted(set(body) - set(_FIELDS))
    if unknown:
        raise InvalidConfig(unknown[0], "unknown field")
    kind = body.get("kind", "amplitude")
    if kind not in KINDS:
        raise InvalidConfig("kind", f"must be one of {', '.join(KINDS)}")
    settings = body.get("settings", {})
    if not isinstance(settings, Mapping):
        raise InvalidConfig("settings", "must be an object")
    endpoint = settings.get("endpoint", "north_america")
    if endpoint not in ("north_america", "europe"):
        raise InvalidConfig("settings.endpoint", "must be north_america or europe")
    subscriptions = body.get("subscriptions")
    if subscriptions is not None and (
        not isinstance(subscriptions, list) or len(subscriptions) > MAX_SUBSCRIPTIONS
    ):
        raise InvalidConfig(
            "subscriptions", f"must be an array of at most {MAX_SUBSCRIPTIONS} objects"
        )
    name = body.get("name", "")
    if not isinstance(name, str):
        raise InvalidConfig("name", "must be a string")
    enabled = body.get("enabled", True)
    if not isinstance(enabled, bool):
        raise InvalidConfig("enabled", "must be a boolean")
    out: dict[str, Any] = {
        "kind": kind,
        "name": name,
        "appIds": list(dict.fromkeys(app_ids)),
        "settings": dict(settings),
        "enabled": enabled,
        "paused": None,
    }
    if subscriptions is not None:
        out["subscriptions"] = subscriptions
    try:
        build_destination(out)
    except InvalidInput as exc:
        raise InvalidConfig(exc.field, exc.reason) from None
    return out


async def _check_apps(store: Store, app_ids: list[str]) -> None:
    if not app_ids:
        raise InvalidConfig("appIds", "is required (a non-empty array of app ids)")
    for i, app_id in enumerate(app_ids):
        if await store.get_app(app_id) is None:
            raise InvalidConfig(f"appIds[{i}]", f"no app {app_id!r}")


async def create_instance(
    store: Store, app_id: str, body: Mapping[str, Any], instance_id: str | None = None
) -> Instance:
    """Store a new instance of ``app_id``; its cursor starts at the end of the log."""
    return await create_instance_for_apps(store, [app_id], body, instance_id)


async def create_instance_for_apps(
    store: Store, app_ids: list[str], body: Mapping[str, Any], instance_id: str | None = None
) -> Instance:
    """Store a new instance fed by ``app_ids``; its cursor starts at the end of the log (a new
    destination receives what arrives from now on, as in Segment; history is a replay)."""
    await _check_apps(store, app_ids)
    checked = validate_body(body, app_ids)
    new_id = instance_id or f"dst_{secrets.token_hex(8)}"
    await store.reset_cursor(cursor_name(new_id), await store.last_seq())
    return Instance.from_document(await store.put_document(COLLECTION, new_id, checked))


async def replace_instance(
    store: Store, instance_id: str, body: Mapping[str, Any], app_ids: list[str]
) -> Instance:
    """Replace an instance's configuration whole (``PUT``); its pause state and cursor stay."""
    current = await get_instance(store, instance_id)
    await _check_apps(store, app_ids)
    checked = validate_body(body, app_ids)
    checked["paused"] = dict(current.paused) if current.paused else None
    return Instance.from_document(await store.put_document(COLLECTION, instance_id, checked))


async def get_instance(store: Store, instance_id: str, app_id: str | None = None) -> Instance:
    """The instance (of ``app_id`` when given); :class:`NotFoundError` otherwise."""
    doc = await store.get_document(COLLECTION, instance_id)
    if doc is None or doc.body.get("kind") not in KINDS:
        raise NotFoundError("destination", instance_id)
    instance = Instance.from_document(doc)
    if app_id is not None and app_id not in instance.app_ids:
        raise NotFoundError("destination", instance_id)
    return instance


async def list_instances(store: Store, app_id: str | None = None) -> list[Instance]:
    """Instances (of one app, or all), oldest first."""
    out = []
    for doc in await store.list_documents(COLLECTION):
        if doc.body.get("kind") not in KINDS:
            continue
        instance = Instance.from_document(doc)
        if app_id is None or app_id in instance.app_ids:
            out.append(instance)
    return out


async def update_instance(
    store: Store, instance_id: str, patch: Mapping[str, Any], app_id: str | None = None
) -> Instance:
    """Merge ``patch`` (top-level keys; ``settings`` merged key by key) and re-check."""
    current = await get_instance(store, instance_id, app_id)
    merged: dict[str, Any] = {k: v for k, v in current.body.items() if k != "paused"}
    for key, value in patch.items():
        if key == "settings" and isinstance(value, Mapping):
            merged["settings"] = {**merged.get("settings", {}), **value}
        elif key not in ("appIds", "id", "paused"):
            merged[key] = value
    checked = validate_body(merged, list(current.app_ids))
    checked["paused"] = dict(current.paused) if current.paused else None
    return Instance.from_document(await store.put_document(COLLECTION, instance_id, checked))


async def set_paused(
    store: Store, instance_id: str, reason: str | None, at_ms: int | None = None
) -> Instance:
    """Pause (``reason``) or resume (``None``) sending for an instance (``at_ms``: now)."""
    current = await get_instance(store, instance_id)
    if at_ms is None:
        at_ms = int(time.time() * 1000)
    body = dict(current.body)
    body["paused"] = {"reason": reason, "at": at_ms} if reason is not None else None
    return Instance.from_document(await store.put_document(COLLECTION, instance_id, body))


async def delete_instance(store: Store, instance_id: str, app_id: str | None = None) -> bool:
    """Delete the instance (its outbox and dead letters go with it, see ``pipeline.delivery``)."""
    await get_instance(store, instance_id, app_id)
    return await store.delete_document(COLLECTION, instance_id)
