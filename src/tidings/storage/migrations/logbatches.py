"""Migration 3 (both backends): the event log as batch rows plus an id table.

``event_log`` kept one row per record in four B-trees; ``log_batches`` keeps one row per append
(see ``storage/logbatch.py``), ``log_ids`` the (app, kind, id) keys that make appends
idempotent, with app and kind folded into one integer scope, and ``log_apps`` the numbers.
Existing records move over as one-record batches with their sequence numbers unchanged, so
consumer cursors stay valid.
"""

from __future__ import annotations

from tidings.storage.migrations import Migration


def _statements(int_type: str, blob: str, without_rowid: str, items_sql: str) -> list[str]:
    return [
        f"""CREATE TABLE log_apps (
            app_id TEXT PRIMARY KEY, number {int_type} NOT NULL UNIQUE)""",
        f"""CREATE TABLE log_ids (
            scope {int_type} NOT NULL, item_id TEXT NOT NULL, first_seq {int_type} NOT NULL,
            PRIMARY KEY (scope, item_id)){without_rowid}""",
        f"""CREATE TABLE log_batches (
            last_seq {int_type} PRIMARY KEY, app_id TEXT NOT NULL, kind TEXT NOT NULL,
            count {int_type} NOT NULL, arrival_ms {int_type} NOT NULL,
            min_ts {int_type} NOT NULL, max_ts {int_type} NOT NULL,
            items {blob} NOT NULL, bodies {blob} NOT NULL)""",
        "CREATE INDEX log_batches_app ON log_batches (app_id, last_seq)",
        "INSERT INTO log_apps (app_id, number) SELECT app_id, ROW_NUMBER() OVER (ORDER BY app_id)"
        " FROM (SELECT DISTINCT app_id FROM event_log) AS apps",
        "INSERT INTO log_ids (scope, item_id, first_seq)"
        " SELECT a.number * 2 + CASE WHEN e.kind = 'decision' THEN 1 ELSE 0 END, e.item_id, e.seq"
        " FROM event_log e JOIN log_apps a ON a.app_id = e.app_id",
        "INSERT INTO log_batches (last_seq, app_id, kind, count, arrival_ms, min_ts, max_ts,"
        f" items, bodies) SELECT seq, app_id, kind, 1, arrival_ms, ts, ts, {items_sql}, payload"
        " FROM event_log",
        "DROP TABLE event_log",
    ]


_SQLITE_ITEMS = (
    "CAST(json_object('prefixes', json_array(), 'id', json_array(item_id),"
    " 'name', json_array(name), 'ts', json_array(ts), 'device', json_array(device_id),"
    " 'user', json_array(user_id), 'prefix', json_array(-1),"
    " 'size', json_array(length(payload))) AS BLOB)"
)
_POSTGRES_ITEMS = (
    "convert_to(json_build_object('prefixes', json_build_array(), 'id', json_build_array(item_id),"
    " 'name', json_build_array(name), 'ts', json_build_array(ts),"
    " 'device', json_build_array(device_id), 'user', json_build_array(user_id),"
    " 'prefix', json_build_array(-1), 'size', json_build_array(octet_length(payload)))::text,"
    " 'UTF8')"
)

SQLITE_LOG_BATCHES: Migration = (
    3,
    "event log as batch rows",
    _statements("INTEGER", "BLOB", " WITHOUT ROWID", _SQLITE_ITEMS),
)
POSTGRES_LOG_BATCHES: Migration = (
    3,
    "event log as batch rows",
    _statements("BIGINT", "BYTEA", "", _POSTGRES_ITEMS),
)
