"""Destination instances of every kind: stored configuration, checked by the kind's own parsers.

An instance is a document of the ``destinations`` collection (the one both admin route trees
and the CLI use), so the server, the CLI and every worker process read one source of truth:

``{kind, name, appIds: [...], settings: {...}, subscriptions?: [...], enabled: bool,
paused: null | {reason, at}}``: ``kind`` names a kind of the registry
(:data:`tidings.destinations.kinds.KINDS`), which checks ``settings`` (and ``subscriptions``
where it has them); the rest is the same for every kind.

* ``enabled: false`` stops both the consumer and the sender; the cursor keeps its place, so
  enabling it again catches up on what was logged meanwhile.
* ``paused`` is set by the sender when Amplitude refuses the instance itself (invalid API key,
  ``missing_field``), or by an operator: events keep flowing into the outbox, nothing is sent,
  nothing is dropped; resuming sends the backlog in order.

A new instance's cursor starts at the current end of the log (on a partitioned log, each of its
partition cursors): it receives what arrives from now on; history is a replay
(:func:`tidings.pipeline.delivery.replay`).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tidings.core.errors import InvalidConfig
from tidings.destinations.kind import Destination, DestinationKind, wall_ms
from tidings.destinations.kinds import KINDS, get_kind
from tidings.storage import Document, NotFoundError, Store
from tidings.storage.consumercursors import move_consumer

COLLECTION = "destinations"
_COMMON = ("kind", "name", "appIds", "enabled", "paused", "id")


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

    @property
    def destination_kind(self) -> DestinationKind:
        """The kind of this instance (every stored instance's kind was checked on the way in)."""
        kind = get_kind(self.kind)
        if kind is None:
            raise NotFoundError("destination kind", self.kind)
        return kind

    def build(self) -> Destination:
        """The destination object that turns records into items and sends them."""
        return self.destination_kind.build(self.body)

    def to_json(self) -> dict[str, Any]:
        """The admin API shape (the kind decides what of its settings is shown)."""
        return {
            **self.destination_kind.public(self.body),
            "id": self.id,
            "paused": dict(self.paused) if self.paused else None,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        }


def validate_body(body: Mapping[str, Any], app_ids: list[str]) -> dict[str, Any]:
    """A checked instance body (what is stored is what a worker can run)."""
    kind = get_kind(body.get("kind", "amplitude"))
    known = [kind] if kind is not None else list(KINDS.values())
    allowed = set(_COMMON).union(*(getattr(k, "fields", ("settings",)) for k in known))
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise InvalidConfig(unknown[0], "unknown field")
    if kind is None:
        raise InvalidConfig("kind", f"must be one of {', '.join(KINDS)}")
    name = body.get("name", "")
    if not isinstance(name, str):
        raise InvalidConfig("name", "must be a string")
    enabled = body.get("enabled", True)
    if not isinstance(enabled, bool):
        raise InvalidConfig("enabled", "must be a boolean")
    own = kind.check({k: v for k, v in body.items() if k not in _COMMON})
    return {
        "kind": kind.name,
        "name": name,
        "appIds": list(dict.fromkeys(app_ids)),
        **own,
        "enabled": enabled,
        "paused": None,
    }


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
    await move_consumer(store, cursor_name(new_id), await store.last_seq())
    return Instance.from_document(await store.put_document(COLLECTION, new_id, checked))


def _kept_secrets(current: Instance, sent: Mapping[str, Any]) -> dict[str, Any]:
    """``sent`` settings with every masked secret echoed back as it was shown replaced by the
    stored value: secrets are write-only, so a form that shows them masked can be saved."""
    stored = current.body.get("settings") or {}
    shown = current.destination_kind.public(current.body).get("settings") or {}
    return {
        k: stored[k] if k in stored and v == shown.get(k) != stored[k] else v
        for k, v in sent.items()
    }


async def replace_instance(
    store: Store, instance_id: str, body: Mapping[str, Any], app_ids: list[str]
) -> Instance:
    """Replace an instance's configuration whole (``PUT``); its pause state and cursor stay."""
    current = await get_instance(store, instance_id)
    await _check_apps(store, app_ids)
    sent = body.get("settings")
    if isinstance(sent, Mapping):
        body = {**body, "settings": _kept_secrets(current, sent)}
    checked = validate_body(body, app_ids)
    checked["paused"] = dict(current.paused) if current.paused else None
    return Instance.from_document(await store.put_document(COLLECTION, instance_id, checked))


async def get_instance(store: Store, instance_id: str, app_id: str | None = None) -> Instance:
    """The instance (of ``app_id`` when given); :class:`NotFoundError` otherwise."""
    doc = await store.get_document(COLLECTION, instance_id)
    if doc is None or get_kind(doc.body.get("kind")) is None:
        raise NotFoundError("destination", instance_id)
    instance = Instance.from_document(doc)
    if app_id is not None and app_id not in instance.app_ids:
        raise NotFoundError("destination", instance_id)
    return instance


async def list_instances(store: Store, app_id: str | None = None) -> list[Instance]:
    """Instances (of one app, or all), oldest first."""
    out = []
    for doc in await store.list_documents(COLLECTION):
        if get_kind(doc.body.get("kind")) is None:
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
            merged["settings"] = {**merged.get("settings", {}), **_kept_secrets(current, value)}
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
        at_ms = wall_ms()
    body = dict(current.body)
    body["paused"] = {"reason": reason, "at": at_ms} if reason is not None else None
    return Instance.from_document(await store.put_document(COLLECTION, instance_id, body))


async def delete_instance(store: Store, instance_id: str, app_id: str | None = None) -> bool:
    """Delete the instance (:func:`~tidings.pipeline.delivery.forget` drops its outbox and dead
    letters)."""
    await get_instance(store, instance_id, app_id)
    return await store.delete_document(COLLECTION, instance_id)
