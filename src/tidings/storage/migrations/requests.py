"""Migration 6 (both backends): the body a stored response answers for.

``request_responses.body_hash`` is a digest of the request the response was made for (the
server keeps the HMAC of its method, path and body under the app's secret). A retry with the
same request id and the same body gets the stored response; the same id with another body is a
client bug that would otherwise drop the new body's items silently, and is
refused (409 ``request_id_reused``). Rows stored before this migration have no hash and answer
any body, as they did.
"""

from __future__ import annotations

from tidings.storage.migrations import Migration

SQLITE_REQUEST_HASH: Migration = (
    6,
    "request body hash beside the stored response",
    ["ALTER TABLE request_responses ADD COLUMN body_hash BLOB"],
)
POSTGRES_REQUEST_HASH: Migration = (
    6,
    "request body hash beside the stored response",
    ["ALTER TABLE request_responses ADD COLUMN body_hash BYTEA"],
)
