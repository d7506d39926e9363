"""SQLite DDL. Timestamps are epoch milliseconds; JSON is stored as text, log payloads as blobs."""

from __future__ import annotations

from tidings.storage.migrations import Migration
from tidings.storage.migrations.conversions import SQLITE_CONVERSIONS
from tidings.storage.migrations.delivery import SQLITE_DEAD_LETTER_KEYS, SQLITE_DELIVERY
from tidings.storage.migrations.identitystates import SQLITE_IDENTITY_STATES
from tidings.storage.migrations.logbatches import SQLITE_LOG_BATCHES
from tidings.storage.migrations.profiles import SQLITE_DEVICE_PROFILES
from tidings.storage.migrations.requests import SQLITE_REQUEST_HASH
from tidings.storage.migrations.tokens import SQLITE_ADMIN_TOKENS

MIGRATIONS: list[Migration] = [
    (
        1,
        "initial schema",
        [
            """CREATE TABLE projects (
                id TEXT PRIMARY KEY, name TEXT NOT NULL, settings TEXT NOT NULL,
                import_key_hash TEXT NOT NULL UNIQUE, revision INTEGER NOT NULL DEFAULT 0,
                created_at INTEGER NOT NULL)""",
            """CREATE TABLE apps (
                id TEXT PRIMARY KEY, project_id TEXT NOT NULL REFERENCES projects(id),
                name TEXT NOT NULL, platform TEXT NOT NULL, created_at INTEGER NOT NULL)""",
            "CREATE INDEX apps_project ON apps (project_id)",
            """CREATE TABLE api_keys (
                public_key TEXT PRIMARY KEY, app_id TEXT NOT NULL REFERENCES apps(id),
                sealed_secret BLOB NOT NULL, created_at INTEGER NOT NULL, revoked_at INTEGER)""",
            "CREATE INDEX api_keys_app ON api_keys (app_id)",
            """CREATE TABLE write_keys (
                key_hash TEXT PRIMARY KEY, app_id TEXT NOT NULL REFERENCES apps(id),
                created_at INTEGER NOT NULL, revoked_at INTEGER)""",
            """CREATE TABLE admin_tokens (
                token_hash TEXT PRIMARY KEY, label TEXT NOT NULL,
                created_at INTEGER NOT NULL, revoked_at INTEGER)""",
            """CREATE TABLE campaigns (
                id TEXT PRIMARY KEY, app_id TEXT NOT NULL REFERENCES apps(id),
                state TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
                body TEXT NOT NULL)""",
            "CREATE INDEX campaigns_app_state ON campaigns (app_id, state)",
            """CREATE TABLE cohorts (
                project_id TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL,
                created_at INTEGER NOT NULL, PRIMARY KEY (project_id, id))""",
            """CREATE TABLE cohort_members (
                project_id TEXT NOT NULL, cohort_id TEXT NOT NULL, kind TEXT NOT NULL,
                member_id TEXT NOT NULL, PRIMARY KEY (project_id, cohort_id, kind, member_id))""",
            "CREATE INDEX cohort_members_lookup ON cohort_members (project_id, kind, member_id)",
            """CREATE TABLE event_log (
                seq INTEGER PRIMARY KEY, app_id TEXT NOT NULL, kind TEXT NOT NULL,
                item_id TEXT NOT NULL, name TEXT NOT NULL, ts INTEGER NOT NULL,
                arrival_ms INTEGER NOT NULL, device_id TEXT, user_id TEXT,
                payload BLOB NOT NULL, UNIQUE (app_id, kind, item_id))""",
            "CREATE INDEX event_log_app_ts ON event_log (app_id, ts)",
            "CREATE INDEX event_log_app_kind_seq ON event_log (app_id, kind, seq)",
            """CREATE TABLE request_responses (
                app_id TEXT NOT NULL, request_id TEXT NOT NULL, status INTEGER NOT NULL,
                body BLOB NOT NULL, created_at INTEGER NOT NULL,
                PRIMARY KEY (app_id, request_id))""",
            "CREATE INDEX request_responses_created ON request_responses (created_at)",
            """CREATE TABLE cursors (
                name TEXT PRIMARY KEY, seq INTEGER NOT NULL, updated_at INTEGER NOT NULL)""",
            """CREATE TABLE event_catalog (
                app_id TEXT NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL,
                count INTEGER NOT NULL, last_seen INTEGER NOT NULL,
                PRIMARY KEY (app_id, name, type))""",
            """CREATE TABLE property_catalog (
                app_id TEXT NOT NULL, key TEXT NOT NULL, type TEXT NOT NULL,
                PRIMARY KEY (app_id, key))""",
            """CREATE TABLE campaign_stats (
                campaign_id TEXT NOT NULL, day TEXT NOT NULL, metric TEXT NOT NULL,
                key TEXT NOT NULL, count INTEGER NOT NULL,
                PRIMARY KEY (campaign_id, day, metric, key))""",
            """CREATE TABLE documents (
                collection TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL,
                created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
                PRIMARY KEY (collection, id))""",
        ],
    ),
    SQLITE_DELIVERY,
    SQLITE_LOG_BATCHES,
    SQLITE_DEAD_LETTER_KEYS,
    SQLITE_ADMIN_TOKENS,
    SQLITE_REQUEST_HASH,
    SQLITE_CONVERSIONS,
    SQLITE_IDENTITY_STATES,
    SQLITE_DEVICE_PROFILES,
]
