"""The smallest honest ingest server: raw ASGI, HMAC check, orjson, one SQLite connection.

It does the essential work of ``POST /api/v1/session`` and nothing else (no per-event
validation, no catalog, no stats, no idempotency table), so the ratio against it shows what the
real server's extra guarantees cost. Run: ``python baseline.py --db PATH --port 0``.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import sqlite3
from typing import Any

import orjson
import uvicorn

SECRET = b"baseline-secret"


def make_app(db_path: str) -> Any:
    conn = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")  # as durable as the real store
    conn.execute(
        "CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, name TEXT, ts INTEGER, body BLOB)"
    )

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
        payload = b"POST" + scope["raw_path"] + body + ts
        expected = hmac.new(SECRET, payload, hashlib.sha256).hexdigest().encode()
        if not hmac.compare_digest(expected, headers.get(b"x-signature", b"")):
            status, out = 403, b'{"error":{"code":"invalid_signature","message":"X-Signature"}}'
        else:
            events = orjson.loads(body)["events"]
            rows = [(e["id"], e["name"], e["timestamp"], orjson.dumps(e)) for e in events]
            conn.execute("BEGIN")
            before = conn.total_changes
            conn.executemany("INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?)", rows)
            accepted = conn.total_changes - before
            conn.execute("COMMIT")
            status = 200
            out = orjson.dumps({"accepted": accepted, "duplicates": len(rows) - accepted})
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
