"""Subprocess for the crash tests: append batches forever (or until told to exit abruptly).

Prints ``ack N`` (flushed) only after batch N's ingest returned, i.e. after its commit.
Usage: ``crash_writer.py URL MODE`` with MODE ``loop`` (run until killed) or ``exit``
(``os._exit`` right after a few acknowledged batches, without closing the store).
"""

from __future__ import annotations

import asyncio
import os
import sys

import orjson

from tidings.storage import EventIn, open_store

BATCH = 50


def batch(n: int) -> list[EventIn]:
    return [
        EventIn(
            id=f"b{n}-{j}",
            name="Tick",
            type="custom",
            timestamp=1_764_300_000_000 + n,
            payload=orjson.dumps({"n": n, "j": j}),
        )
        for j in range(BATCH)
    ]


async def main(url: str, mode: str) -> None:
    store = await open_store(url, server_key=bytes(range(32)))
    project = await store.create_project("crash")
    app = await store.create_app(project.id, "crash", "ios")
    print(f"app {app.app_id}", flush=True)

    async def one(n: int) -> None:
        await store.ingest(app.app_id, batch(n), arrival_ms=1)
        print(f"ack {n}", flush=True)

    n = 0
    while True:
        # Several requests in flight at once, as under a real server.
        await asyncio.gather(*(one(n + k) for k in range(4)))
        n += 4
        if mode == "exit" and n >= 12:
            os._exit(0)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
