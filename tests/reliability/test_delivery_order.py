"""Per-device order under a misbehaving receiver: 413s, 429s, 5xx and "accepted, then 500" at
random (a fixed seed), through the whole pipeline (log consumer and outbox sender).

Once an event of a device waits for a retry, no later event of that device may reach the
receiver before it: the order in which the stand-in first accepted each device's events is the
order they were logged in, every one of them, with zero inversions.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
for folder in ("pipeline", "destinations", "storage"):
    sys.path.insert(0, str(HERE.parent / folder))

from amplitude_standin import Fault, Standin  # noqa: E402
from pipeline_support import amplitude_instance, log_events, make_app  # noqa: E402
from storage_support import Backend, run  # noqa: E402

from tidings.destinations.kind import BatchPolicy  # noqa: E402
from tidings.pipeline import PipelineRunner  # noqa: E402
from tidings.pipeline.delivery import Deliveries, DirectOptions, SenderOptions  # noqa: E402

pytestmark = pytest.mark.reliability

EVENTS = 10_000
DEVICES = 50


def _chaos(seed: int) -> Any:
    """A receiver that refuses a fifth of the requests, each way Amplitude can."""
    rng = random.Random(seed)

    def decide(events: list[dict[str, Any]]) -> Fault | None:
        roll = rng.random()
        if roll < 0.05 and len(events) > 1:
            return Fault(status=413, body={"code": 413, "error": "Payload too large"})
        if roll < 0.10 and events:
            device = rng.choice(events).get("device_id")
            body = {"code": 429, "error": "Too many requests", "throttled_devices": {device: 31}}
            return Fault(status=429, body=body)
        if roll < 0.15:
            return Fault(status=rng.choice([500, 502, 503]))
        if roll < 0.20:
            return Fault(status=500, accept_first=True)
        return None

    return decide


def _inversions(accepted: list[dict[str, Any]], ids: list[str]) -> int:
    """Pairs of one device's events that the receiver first accepted out of log order."""
    position = {event_id: n for n, event_id in enumerate(ids)}
    first: dict[str, list[int]] = defaultdict(list)
    seen: set[str] = set()
    for event in accepted:
        if event["insert_id"] not in seen:
            seen.add(event["insert_id"])
            first[event["device_id"]].append(position[event["insert_id"]])
    return sum(1 for order in first.values() for a, b in itertools.pairwise(order) if a > b)


@pytest.mark.parametrize("name", ["memory", "sqlite"])
def test_no_device_sees_its_events_out_of_order_under_faults(name: str, tmp_path: Path) -> None:
    backend = Backend(name, f"sqlite:///{tmp_path / 'tidings.db'}", path=tmp_path / "tidings.db")
    options = SenderOptions(
        batch=BatchPolicy(300, max_wait_ms=0),
        max_request_events=40,
        poll_seconds=0.01,
        direct=DirectOptions(min_events=50, chunk_events=500),
        backoff_base_ms=5,
        backoff_cap_ms=50,
        extra={"throttleWaitMs": 20},
    )

    async def main() -> None:
        store = await backend.open()
        app_id = await make_app(store)
        await amplitude_instance(store, app_id, amp.url)
        deliveries = Deliveries(options)
        runner = PipelineRunner(
            store,
            providers=[deliveries.consumers],
            services={"destinations": deliveries.service},
            idle_seconds=0.02,
            refresh_seconds=0.1,
        )
        async with runner:
            ids = await log_events(store, app_id, EVENTS, devices=DEVICES)
            for _ in range(12_000):
                if len({e["insert_id"] for e in amp.accepted}) == EVENTS:
                    break
                await asyncio.sleep(0.01)
        accepted = amp.accepted
        assert {e["insert_id"] for e in accepted} == set(ids)  # every event, at least once
        faults = [status for _, status in amp.state.requests if status != 200]
        assert {413, 429, 500} <= set(faults)  # the receiver did misbehave every way
        assert _inversions(accepted, ids) == 0
        await store.close()

    with Standin(eps_limit=10**6, chaos=_chaos(20_261_207)) as amp:
        run(main())
