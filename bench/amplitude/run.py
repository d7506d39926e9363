"""Amplitude request building, measured side by side in one run.

    .venv/bin/python bench/amplitude/run.py [--messages N]

Prints messages/s for: resolving the default Log Event V2 mapping (compiled once, versus compiled
for every message, and as the generated function subscriptions run), building a whole
``/2/httpapi`` request with and without user-agent parsing, Log Purchase with three products, and
trigger evaluation. Messages are built before timing.
"""

from __future__ import annotations

import argparse
import copy
import gc
import time
from collections.abc import Callable
from typing import Any

from tidings.core.mapping import CompiledFields, parse_trigger
from tidings.destinations.amplitude import Settings, Subscription
from tidings.destinations.amplitude.generated import generated_fields
from tidings.destinations.amplitude.schema import LOG_EVENT_V2_FIELDS

UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)
BASE: dict[str, Any] = {
    "type": "track",
    "event": "Song Played",
    "userId": "user-12345",
    "anonymousId": "anon-12345",
    "messageId": "msg",
    "timestamp": "2026-01-05T10:00:00.000Z",
    "properties": {"genre": "jazz", "seconds": 182, "liked": True},
    "traits": {"plan": "pro"},
    "context": {
        "device": {"id": "device-12345", "type": "ios", "model": "iPhone15,2"},
        "os": {"name": "iOS", "version": "17.1"},
        "app": {"version": "3.2.0"},
        "locale": "en-US",
        "library": {"name": "tidings-python", "version": "0.1.0"},
        "session": {"id": "s1", "startedAt": 1767607200000},
        "userAgent": UA,
        "campaign": {"source": "news"},
    },
}


def messages(n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        m = copy.deepcopy(BASE)
        m["messageId"] = f"msg-{i}"
        out.append(m)
    return out


def rate(label: str, fn: Callable[[dict[str, Any]], object], batch: list[dict[str, Any]]) -> float:
    gc.collect()
    start = time.perf_counter()
    for m in batch:
        fn(m)
    elapsed = time.perf_counter() - start
    per_s = len(batch) / elapsed
    print(f"{label:<48} {per_s:>12,.0f} msg/s")
    return per_s


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20_000)
    n = parser.parse_args().messages
    batch = messages(n)
    settings = Settings(api_key="k")
    compiled = CompiledFields(LOG_EVENT_V2_FIELDS)
    once = rate("mapping, compiled once", compiled.apply, batch)
    generated = rate("mapping, generated function", generated_fields(compiled), batch)
    each = rate(
        "mapping, compiled per message",
        lambda m: CompiledFields(LOG_EVENT_V2_FIELDS).apply(m),
        batch[: max(1, n // 10)],
    )
    v2 = Subscription(name="v2", action="logEventV2")
    no_ua = Subscription(name="v2", action="logEventV2", mapping={"userAgentParsing": False})
    full = rate("logEventV2 request (UA parsing, cached)", lambda m: v2.build(m, settings), batch)
    bare = rate("logEventV2 request (no UA parsing)", lambda m: no_ua.build(m, settings), batch)
    orders = messages(max(1, n // 4))
    for m in orders:
        m["event"] = "Order Completed"
        m["properties"]["products"] = [
            {"price": 2, "quantity": 1, "productId": f"p{i}"} for i in range(3)
        ]
    purchase = Subscription(name="p", action="logPurchase")
    rate(
        "logPurchase request (3 products, 4 events)", lambda m: purchase.build(m, settings), orders
    )
    trigger = parse_trigger('type = "track" and event != "Order Completed" or exists(properties.x)')
    rate("trigger evaluation", trigger, batch)
    print(f"\ncompiled-once / compiled-per-message: {once / each:.1f}x")
    print(f"generated / compiled-once:            {generated / once:.1f}x")
    print(f"request without / with UA parsing:    {bare / full:.2f}x")


if __name__ == "__main__":
    main()
