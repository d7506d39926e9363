"""The data of an in-memory store: plain dicts and lists, guarded by one lock.

A :class:`MemoryState` outlives the :class:`~tidings.storage.memory.MemoryStore` objects opened
on it, so a test can close a store and open another on the same state, the way a process
restarts on the same database file.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from tidings.core.campaigns import Exposure
from tidings.storage.deliveryrecords import DeadLetter, OutboxRow
from tidings.storage.logrecords import LogRecord, StoredResponse
from tidings.storage.profilerecords import DeviceProfileRecord
from tidings.storage.records import Document, PropertyType
from tidings.storage.tokens import AdminToken


@dataclass(slots=True)
class KeyRow:
    """An API key pair as stored (the secret kept in clear: it never leaves the process)."""

    app_id: str
    public: str
    secret: bytes
    created_at: int
    revoked_at: int | None = None


@dataclass(slots=True)
class CampaignRow:
    """A stored campaign: its columns and body."""

    id: str
    app_id: str
    state: str
    created_at: int
    updated_at: int
    body: dict[str, Any]


@dataclass(slots=True)
class MemoryState:
    """Everything a memory store holds."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    projects: dict[str, dict[str, Any]] = field(default_factory=dict)
    """id -> ``{name, settings (JSON), created_at, revision, import_key_hash}``."""
    apps: dict[str, tuple[str, str, str, int]] = field(default_factory=dict)
    """id -> ``(project id, name, platform, created_at)``."""
    keys: dict[str, KeyRow] = field(default_factory=dict)
    write_keys: dict[str, tuple[str, int, int | None]] = field(default_factory=dict)
    """hash -> ``(app id, created_at, revoked_at)``."""
    admin_tokens: dict[str, AdminToken] = field(default_factory=dict)
    """credential hash -> the token's listing."""
    campaigns: dict[str, CampaignRow] = field(default_factory=dict)
    cohorts: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)
    """(project, cohort) -> ``(name, created_at)``."""
    members: dict[tuple[str, str], set[tuple[str, str]]] = field(default_factory=dict)
    """(project, cohort) -> ``{(kind "u" | "d", member id)}``."""
    documents: dict[tuple[str, str], Document] = field(default_factory=dict)
    profiles: dict[tuple[str, str], DeviceProfileRecord] = field(default_factory=dict)
    """(app, device) -> the last-known profile."""

    log: list[LogRecord] = field(default_factory=list)
    log_ids: set[tuple[str, str, str]] = field(default_factory=set)
    """``(app, kind, item id)`` of every record: appends are idempotent."""
    responses: dict[tuple[str, str], tuple[StoredResponse, int]] = field(default_factory=dict)
    cursors: dict[str, int] = field(default_factory=dict)
    event_catalog: dict[tuple[str, str, str], list[int]] = field(default_factory=dict)
    """(app, name, type) -> ``[count, last seen]``."""
    property_catalog: dict[tuple[str, str], PropertyType] = field(default_factory=dict)
    campaign_stats: dict[tuple[str, str, str, str], int] = field(default_factory=dict)
    counted_ids: set[tuple[str, str, str]] = field(default_factory=set)
    """(app, kind, id) of the campaign-stat records ``count_batch`` counted."""
    exposures: dict[tuple[str, str], Exposure] = field(default_factory=dict)
    """(campaign, decision) -> the exposure it made."""
    exposures_of: dict[tuple[str, str], list[Exposure]] = field(default_factory=dict)
    """(app, identity) -> its exposures, in the order they were stored."""
    conversions: dict[tuple[str, str, int, str], tuple[bool, str, str | None]] = field(
        default_factory=dict
    )
    """(campaign, decision, goal, event id) -> (first of its decision and goal?, the exposure's
    day, its treatment)."""
    converted: set[tuple[str, str, int]] = field(default_factory=set)
    """(campaign, decision, goal) that have their first conversion."""

    leases: dict[str, tuple[str, int]] = field(default_factory=dict)
    """name -> ``(holder, expires_at)``."""
    outbox: dict[int, OutboxRow] = field(default_factory=dict)
    """id -> row; ids grow in enqueue order and dicts keep insertion order."""
    outbox_keys: dict[tuple[str, str], int] = field(default_factory=dict)
    """(destination, item key) -> row id."""
    next_outbox_id: int = 1
    dead_letters: dict[str, DeadLetter] = field(default_factory=dict)
    identity_states: dict[str, bytes] = field(default_factory=dict)
    """state key -> the server-campaign consumer's blob for that identity."""
