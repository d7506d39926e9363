"""Migration 7 (both backends): per-identity state of server-side campaigns.

``identity_states`` holds one blob per identity (``{app id}|u:{user id}`` or
``{app id}|d:{device or anonymous id}``): what the server-campaign consumer remembers about
that person (engine state, traits, the device as last seen). It is written in the transaction
that moves the consumer's cursor (:mod:`tidings.storage.identitystates`).
"""

from __future__ import annotations

from tidings.storage.migrations import Migration

SQLITE_IDENTITY_STATES: Migration = (
    8,
    "per-identity state of server-side campaigns",
    [
        "CREATE TABLE identity_states (state_key TEXT PRIMARY KEY, body BLOB NOT NULL,"
        " updated_at INTEGER NOT NULL)"
    ],
)
POSTGRES_IDENTITY_STATES: Migration = (
    8,
    "per-identity state of server-side campaigns",
    [
        "CREATE TABLE identity_states (state_key TEXT PRIMARY KEY, body BYTEA NOT NULL,"
        " updated_at BIGINT NOT NULL)"
    ],
)
