"""A separate app process for the crash and exit tests.

``python sdk_child.py track DATA_DIR KWARGS_JSON [STOP]`` tracks ``Tick{i}`` events (forever, or
``STOP`` of them, then prints ``stopped`` and waits) and prints ``i`` after each ``track()``
returned; the test kills it with SIGKILL. ``flush`` opens the same
store (a restart), flushes and closes. ``exit`` tracks ten events and returns without calling
``close()``: the ``atexit`` hook has to deliver them. ``once`` tracks ``Opened`` and waits to be
killed.
``commands`` reads one command a line from stdin and answers each with one line (see
:func:`commands`), so a test can script an app step by step and kill it at any point.
"""

from __future__ import annotations

import sys
import threading
import time

import orjson

from tidings.core.events import EventRecord
from tidings.sdk import Tidings


def commands(client: Tidings) -> None:
    """``config`` (campaigns of the first fetch), ``track NAME``, ``link`` (the first deep link
    a listener got), ``flush``, ``ticks N`` (``Tick{i}`` events, one line per returned call)."""
    fetched: list[int] = []
    links: list[str] = []
    fetched_set, linked = threading.Event(), threading.Event()

    def on_system(event: EventRecord) -> None:
        if event.name == "ConfigFetchFinished" and not fetched:
            fetched.append(int(event.properties["campaignCount"]))  # type: ignore[call-overload]
            fetched_set.set()

    def on_link(url: str, info: dict[str, object]) -> bool:
        links.append(url)
        linked.set()
        return True

    client.set_system_events_listener(on_system)
    client.register_deep_link_listener(on_link)
    for line in sys.stdin:
        command, _, arg = line.strip().partition(" ")
        if command == "config":
            answer = str(fetched[0]) if fetched_set.wait(20) else "none"
        elif command == "track":
            client.track(arg, {"step": "e2e"})
            answer = "ok"
        elif command == "link":
            answer = links[0] if linked.wait(20) else "none"
        elif command == "flush":
            answer = str(client.flush(20))
        elif command == "ticks":
            for i in range(int(arg)):
                client.track("Tick", {"i": i})
                print(i, flush=True)
            answer = "done"
        else:
            answer = f"unknown command {command!r}"
        print(answer, flush=True)


def main() -> int:
    mode, data_dir, raw = sys.argv[1], sys.argv[2], sys.argv[3]
    kwargs = orjson.loads(raw)
    client = Tidings(data_dir=data_dir, log_level="error", **kwargs)
    if mode == "track":
        stop = int(sys.argv[4]) if len(sys.argv) > 4 else None
        i = 0
        while i != stop:
            client.track("Tick", {"i": i})
            print(i, flush=True)
            i += 1
        print("stopped", flush=True)  # the worker is still uploading; the test kills it now
        time.sleep(60)
    if mode == "once":
        fetched = threading.Event()
        client.set_system_events_listener(
            lambda e: fetched.set() if e.name == "ConfigFetchFinished" else None
        )
        fetched.wait(10)  # nothing else saves the state after this point
        client.track("Opened")
        print("tracked", flush=True)
        time.sleep(60)  # killed before the deferred state save
    if mode == "commands":
        commands(client)
        return 0
    if mode == "flush":
        ok = client.flush(20)
        client.close()
        return 0 if ok else 1
    for i in range(10):
        client.track("Tick", {"i": i})
    return 0


if __name__ == "__main__":
    sys.exit(main())
