"""Migration 5 (both backends): admin tokens get an id, last use, expiry and a project scope.

Existing tokens keep working: each gets an id derived from its digest (``tok_`` and the first
18 hex digits, which say nothing useful about the token), no expiry and no scope, and its old
``label`` becomes its name. The index on campaigns serves the paged listing of an app's
campaigns (``ORDER BY created_at, id``).
"""

from __future__ import annotations

from tidings.storage.migrations import Migration


def _statements(int_type: str) -> list[str]:
    return [
        "ALTER TABLE admin_tokens ADD COLUMN id TEXT",
        f"ALTER TABLE admin_tokens ADD COLUMN last_used_at {int_type}",
        f"ALTER TABLE admin_tokens ADD COLUMN expires_at {int_type}",
        "ALTER TABLE admin_tokens ADD COLUMN project_ids TEXT",
        "UPDATE admin_tokens SET id = 'tok_' || substr(token_hash, 1, 18) WHERE id IS NULL",
        "CREATE UNIQUE INDEX admin_tokens_id ON admin_tokens (id)",
        "CREATE INDEX admin_tokens_listing ON admin_tokens (created_at, id)",
        "CREATE INDEX campaigns_app_created ON campaigns (app_id, created_at, id)",
    ]


SQLITE_ADMIN_TOKENS: Migration = (
    5,
    "admin token ids, last use, expiry, scope",
    _statements("INTEGER"),
)
POSTGRES_ADMIN_TOKENS: Migration = (
    5,
    "admin token ids, last use, expiry, scope",
    _statements("BIGINT"),
)
