"""A separate app process for the crash and exit tests.

``python sdk_child.py track DATA_DIR KWARGS_JSON`` tracks ``Tick{i}`` events forever and prints
``i`` after each ``track()`` returned; the test kills it with SIGKILL. ``flush`` opens the same
store (a restart), flushes and closes. ``exit`` tracks ten events and returns without calling
``close()``: the ``atexit`` hook has to deliver them. ``once`` tracks ``Opened`` and waits to be
killed.
"""

from __future__ import annotations

import sys
import threading
import time

import orjson

from tidings.sdk import Tidings


def main() -> int:
    mode, data_dir, raw = sys.argv[1], sys.argv[2], sys.argv[3]
    kwargs = orjson.loads(raw)
    client = Tidings(data_dir=data_dir, log_level="error", **kwargs)
    if mode == "track":
        i = 0
        while True:
            client.track("Tick", {"i": i})
            print(i, flush=True)
            i += 1
    if mode == "once":
        fetched = threading.Event()
        client.set_system_events_listener(
            lambda e: fetched.set() if e.name == "ConfigFetchFinished" else None
        )
        fetched.wait(10)  # nothing else saves the state after this point
        client.track("Opened")
        print("tracked", flush=True)
        time.sleep(60)  # killed before the deferred state save
    if mode == "flush":
        ok = client.flush(20)
        client.close()
        return 0 if ok else 1
    for i in range(10):
        client.track("Tick", {"i": i})
    return 0


if __name__ == "__main__":
    sys.exit(main())
