"""PostgreSQL DDL: the SQLite schema with BIGINT times, BYTEA payloads and an identity sequence."""

from __future__ import annotations

from tidings.storage.migrations import Migration
from tidings.storage.migrations.conversions import POSTGRES_CONVERSIONS
from tidings.storage.migrations.delivery import POSTGRES_DEAD_LETTER_KEYS, POSTGRES_DELIVERY
from tidings.storage.migrations.identitystates import POSTGRES_IDENTITY_STATES
from tidings.storage.migrations.logbatches import POSTGRES_LOG_BATCHES
from tidings.storage.migrations.profiles import POSTGRES_DEVICE_PROFILES
from tidings.storage.migrations.requests import POSTGRES_REQUEST_HASH
from tidings.storage.migrations.tokens import POSTGRES_ADMIN_TOKENS

MIGRATIONS: list[Migration] = [
    (
        1,
        "initial schema",
        [
            """CREATE TABLE projects (
                id TEXT PRIMARY KEY, name TEXT NOT NULL, settings TEXT NOT NULL,
                import_key_hash TEXT NOT NULL UNIQUE, revision BIGINT NOT NULL DEFAULT 0,
                created_at BIGINT NOT NULL)""",
            """CREATE TABLE apps (
                id TEXT PRIMARY KEY, project_id TEXT NOT NULL REFERENCES projects(id),
                name TEXT NOT NULL, platform TEXT NOT NULL, created_at BIGINT NOT NULL)""",
            "CREATE INDEX apps_project ON apps (project_id)",
            """CREATE TABLE api_keys (
                public_key TEXT PRIMARY KEY, app_id TEXT NOT NULL REFERENCES apps(id),
                sealed_secret BYTEA NOT NULL, created_at BIGINT NOT NULL, revoked_at BIGINT)""",
            "CREATE INDEX api_keys_app ON api_keys (app_id)",
            """CREATE TABLE write_keys (
                key_hash TEXT PRIMARY KEY, app_id TEXT NOT NULL REFERENCES apps(id),
                created_at BIGINT NOT NULL, revoked_at BIGINT)""",
            """CREATE TABLE admin_tokens (
                token_hash TEXT PRIMARY KEY, label TEXT NOT NULL,
                created_at BIGINT NOT NULL, revoked_at BIGINT)""",
            """CREATE TABLE campaigns (
                id TEXT PRIMARY KEY, app_id TEXT NOT NULL REFERENCES apps(id),
                state TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,
                body TEXT NOT NULL)""",
            "CREATE INDEX campaigns_app_state ON campaigns (app_id, state)",
            """CREATE TABLE cohorts (
                project_id TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL,
                created_at BIGINT NOT NULL, PRIMARY KEY (project_id, id))""",
            """CREATE TABLE cohort_members (
                project_id TEXT NOT NULL, cohort_id TEXT NOT NULL, kind TEXT NOT NULL,
                member_id TEXT NOT NULL, PRIMARY KEY (project_id, cohort_id, kind, member_id))""",
            "CREATE INDEX cohort_members_lookup ON cohort_members (project_id, kind, member_id)",
            """CREATE TABLE event_log (
                seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                app_id TEXT NOT NULL, kind TEXT NOT NULL,
                item_id TEXT NOT NULL, name TEXT NOT NULL, ts BIGINT NOT NULL,
                arrival_ms BIGINT NOT NULL, device_id TEXT, user_id TEXT,
                payload BYTEA NOT NULL, UNIQUE (app_id, kind, item_id))""",
            "CREATE INDEX event_log_app_ts ON event_log (app_id, ts)",
            "CREATE INDEX event_log_app_kind_seq ON event_log (app_id, kind, seq)",
            """CREATE TABLE request_responses (
                app_id TEXT NOT NULL, request_id TEXT NOT NULL, status BIGINT NOT NULL,
                body BYTEA NOT NULL, created_at BIGINT NOT NULL,
                PRIMARY KEY (app_id, request_id))""",
            "CREATE INDEX request_responses_created ON request_responses (created_at)",
            """CREATE TABLE cursors (
                name TEXT PRIMARY KEY, seq BIGINT NOT NULL, updated_at BIGINT NOT NULL)""",
            """CREATE TABLE event_catalog (
                app_id TEXT NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL,
                count BIGINT NOT NULL, last_seen BIGINT NOT NULL,
                PRIMARY KEY (app_id, name, type))""",
            """CREATE TABLE property_catalog (
                app_id TEXT NOT NULL, key TEXT NOT NULL, type TEXT NOT NULL,
                PRIMARY KEY (app_id, key))""",
            """CREATE TABLE campaign_stats (
                campaign_id TEXT NOT NULL, day TEXT NOT NULL, metric TEXT NOT NULL,
                key TEXT NOT NULL, count BIGINT NOT NULL,
                PRIMARY KEY (campaign_id, day, metric, key))""",
            """CREATE TABLE documents (
                collection TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL,
                created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,
                PRIMARY KEY (collection, id))""",
        ],
    ),
    POSTGRES_DELIVERY,
    POSTGRES_LOG_BATCHES,
    POSTGRES_DEAD_LETTER_KEYS,
    POSTGRES_ADMIN_TOKENS,
    POSTGRES_REQUEST_HASH,
    POSTGRES_CONVERSIONS,
    POSTGRES_IDENTITY_STATES,
    POSTGRES_DEVICE_PROFILES,
]
