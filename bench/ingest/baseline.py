"""The smallest honest ingest server: raw ASGI, HMAC check, orjson, one SQLite connection.

It does the essential work of ``POST /api/v1/session`` with the same guarantees as the store:
the same tables and indexes (the store's own DDL), the same log rows, dedup on the event id,
the request id claimed with the body's hash and its response stored in the same transaction (a
reused id with another body is refused), the signature over the request id too, WAL with
``synchronous=FULL`` and a commit before the answer. It leaves out everything else: per-event
validation, catalogs and stats, routing, metrics, and group commit (each request commits
alone, as the obvious implementation does), so the ratio shows what the rest costs.

Run: ``python baseline.py --db PATH --port 0``.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import sqlite3
import sys
from pathlib import Path
from typing import Any

import orjson
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from tidings.storage import logbatch
from tidings.storage.engine import Tx
from tidings.storage.migrations.sqlite import MIGRATIONS
from tidings.storage.sqlite import SQLITE

SECRET = b"baseline-secret"


def _schema() -> list[str]:
    """The store's own DDL for the tables the ingest path writes, indexes included."""
    tables = ("request_responses", "log_apps", "log_ids", "log_batches")
    return [
        stmt
        for _version, _name, statements in MIGRATIONS
        for stmt in statements
        if stmt.startswith(("CREATE TABLE", "CREATE INDEX", "ALTER TABLE"))
        and any(table in stmt.split("(")[0].split(" ADD ")[0] for table in tables)
    ]


def make_app(db_path: str) -> Any:
    conn = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")  # as durable as the real store
    for stmt in _schema():
        try:
            conn.execute(
                stmt.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1).replace(
                    "CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1
                )
            )
        except sqlite3.OperationalError:  # a column added by an earlier round
            if not stmt.startswith("ALTER TABLE"):
                raise

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        headers = dict(scope["headers"])
        ts = headers.get(b"x-timestamp", b"")
        sent_id = headers.get(b"x-request-id", b"")
        request_id = sent_id.decode("ascii").lower()
        payload = b"POST" + scope["raw_path"] + body + ts + sent_id
        expected = hmac.new(SECRET, payload, hashlib.sha256).hexdigest().encode()
        if not hmac.compare_digest(expected, headers.get(b"x-signature", b"")):
            status, out = 403, b'{"error":{"code":"invalid_signature","message":"X-Signature"}}'
        else:
            doc = orjson.loads(body)
            app_id = doc["appId"]
            device = doc["device"]
            user_id = (doc.get("user") or {}).get("userId")
            # The same log rows as the real store: the event ids in ``log_ids`` and one
            # ``log_batches`` row holding the device block once and each event's own bytes.
            prefix = (
                orjson.dumps(
                    {"source": "sdk", "appId": app_id, "device": device, "userId": user_id}
                )[:-1]
                + b',"event":'
            )
            device_id = device["deviceId"]
            items = [
                (
                    e["id"],
                    e["name"],
                    e["timestamp"],
                    device_id,
                    user_id,
                    prefix,
                    orjson.dumps(e) + b"}",
                )
                for e in doc["events"]
            ]
            request_hash = hashlib.sha256(body).digest()
            conn.execute("BEGIN IMMEDIATE")
            claimed = conn.execute(
                "INSERT INTO request_responses"
                " (app_id, request_id, status, body, created_at, body_hash)"
                " VALUES (?, ?, 0, x'', 0, ?) ON CONFLICT DO NOTHING RETURNING request_id",
                (app_id, request_id, request_hash),
            ).fetchone()
            if claimed is None:  # idempotent replay: the first answer, for the same body
                status, out, stored_hash = conn.execute(
                    "SELECT status, body, body_hash FROM request_responses"
                    " WHERE app_id = ? AND request_id = ?",
                    (app_id, request_id),
                ).fetchone()
                if stored_hash != request_hash:
                    status, out = 409, b'{"error":{"code":"request_id_reused"}}'
                conn.execute("COMMIT")
            else:
                # The store's own log writers on this connection: the same SQL and bytes.
                tx = Tx(conn, SQLITE)
                first_seq = logbatch.last_seq(tx) + 1
                ids = [item[0] for item in items]
                fresh = logbatch.claim_ids(tx, app_id, "event", ids, first_seq)
                accepted = len(fresh)
                if accepted != len(items):  # keep only the ids this request stored
                    items = [item for item in items if item[0] in fresh]
                if items:
                    logbatch.write_batch(
                        tx, app_id, "event", items, first_seq=first_seq, arrival_ms=0
                    )
                status = 200
                out = orjson.dumps(
                    {"accepted": accepted, "duplicates": len(doc["events"]) - accepted}
                )
                conn.execute(
                    "UPDATE request_responses SET status = 200, body = ?"
                    " WHERE app_id = ? AND request_id = ?",
                    (out, app_id, request_id),
                )
                conn.execute("COMMIT")
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(out)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": out})

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    uvicorn.run(make_app(args.db), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
