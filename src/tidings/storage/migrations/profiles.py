"""Migration 7 (both backends): last-known device profiles for audience estimates.

One row per (app, device), written in batches from uploads and Segment ``identify``. The
``(app_id, sample_key)`` index serves uniform samples (see
:mod:`tidings.storage.profilerecords`); ``(app_id, last_seen)`` serves "seen in the last 30 days".
"""

from __future__ import annotations

from tidings.storage.migrations import Migration


def _statements(int_type: str) -> list[str]:
    return [
        f"""CREATE TABLE device_profiles (
            app_id TEXT NOT NULL, device_id TEXT NOT NULL, sample_key {int_type} NOT NULL,
            last_seen {int_type} NOT NULL, user_id TEXT, platform TEXT, os_version TEXT,
            app_version TEXT, app_install_version TEXT, country TEXT, install_time {int_type},
            custom_properties TEXT NOT NULL,
            PRIMARY KEY (app_id, device_id))""",
        "CREATE INDEX device_profiles_sample ON device_profiles (app_id, sample_key)",
        "CREATE INDEX device_profiles_seen ON device_profiles (app_id, last_seen)",
    ]


SQLITE_DEVICE_PROFILES: Migration = (9, "last-known device profiles", _statements("INTEGER"))
POSTGRES_DEVICE_PROFILES: Migration = (9, "last-known device profiles", _statements("BIGINT"))
