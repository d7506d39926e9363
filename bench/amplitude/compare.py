"""Amplitude delivery, this tree against an earlier one, in alternating runs: CPU per event.

    .venv/bin/python bench/amplitude/compare.py --before DIR [--pairs 6] [--events N]
        [--devices D] [--per-upload K] [--json FILE]

``DIR`` is an earlier source tree (``git archive REV | tar -x -C DIR``). Every run is a fresh
process of this same script with ``DIR/src`` or this tree's ``src`` first on ``PYTHONPATH`` (the
venv's other packages shared), alternating which tree goes first in each pair. A run measures
what ``delivery.py`` measures as "event log → Amplitude, SQLite": the events already in the
log as devices upload them, timed from starting the pipeline until the stand-in (its own
process, this tree's, the same for both) has accepted every one. Beside events/s it takes the
delivering process's CPU time over that window (``time.process_time``: every thread of the
process, the stand-in excluded) divided by the events, and the event loop thread's alone. On a
shared machine wall-clock rates follow the other load; CPU per event stays comparable.

Then, in the same process, the official SDK sends the same number of events (1,000 per
request) as a control: it is the same code in both runs, so its CPU per event moving between
the two halves of a pair is the machine (contention, clock speed), not the change; the ratio of
the two trees' CPU per event divided by the control's ratio takes that movement out.

Prints each pair and the median ratios after/before, with the load average at each run.
The only place the two trees' APIs differ is where the pipeline is assembled
(:func:`_assemble`); everything else is ``delivery.py``'s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
STANDIN = ROOT / "tests" / "destinations" / "amplitude_standin.py"
RATIOS = (
    ("cpu", "CPU per event"),
    ("cpu_rel", "CPU per event relative to the SDK control's"),
    ("rate", "events/s"),
    ("sdk", "SDK control CPU per event"),
    ("sdk_rate", "SDK control events/s"),
)


def _assemble() -> tuple[Any, Any]:
    """``(make_runner(store), create_instance)`` of whichever tree is on the path: one pipeline
    for every destination kind, or the Amplitude-only one before it. Both with the server's
    defaults and 1,000 events per request, as ``delivery.py`` runs it."""
    from tidings.pipeline import PipelineRunner

    try:
        from tidings.destinations.kind import BatchPolicy
        from tidings.pipeline.delivery import Deliveries, SenderOptions, create_instance
    except ImportError:
        from tidings.pipeline.amplitude import SenderOptions as OldOptions
        from tidings.pipeline.amplitude import amplitude_service, instance_consumers
        from tidings.pipeline.instances import create_instance as old_create

        from tidings.destinations.amplitude import BatchPolicy as OldBatchPolicy

        def old_runner(store: Any) -> Any:
            options = OldOptions(batch=OldBatchPolicy(1000, max_wait_ms=0))
            return PipelineRunner(
                store,
                consumers=[],
                providers=[instance_consumers],
                services={"amplitude": amplitude_service(options)},
                idle_seconds=0.01,
            )

        return old_runner, old_create

    def runner(store: Any) -> Any:
        deliveries = Deliveries(SenderOptions(batch=BatchPolicy(1000, max_wait_ms=0)))
        return PipelineRunner(
            store,
            providers=[deliveries.consumers],
            services={"destinations": deliveries.service},
            idle_seconds=0.01,
        )

    return runner, create_instance


async def _timed_delivery(url: str, db_url: str, shape: Any) -> dict[str, float]:
    """One end-to-end delivery: events/s, and CPU seconds of the process and of this thread."""
    import delivery as bench

    from tidings.storage import open_store

    make_runner, create_instance = _assemble()
    store = await open_store(db_url)
    project = await store.create_project("bench")
    app_id = (await store.create_app(project.id, "bench", "ios")).app_id
    await create_instance(store, app_id, {"settings": {"apiKey": "test-key", "baseUrl": url}})
    await bench._ingest(store, app_id, bench.device_uploads(app_id, *shape))
    before = bench.stats(url)["accepted"]
    runner = make_runner(store)
    wall, cpu, loop_cpu = time.perf_counter(), time.process_time(), time.thread_time()
    await runner.start()
    await asyncio.to_thread(bench.wait_accepted, url, before + shape.events)
    wall = time.perf_counter() - wall
    cpu = time.process_time() - cpu
    loop_cpu = time.thread_time() - loop_cpu
    await runner.stop()
    await store.close()
    return {"rate": shape.events / wall, "cpu": cpu, "loop_cpu": loop_cpu}


def child(args: argparse.Namespace) -> None:
    """One run, in the tree on ``PYTHONPATH``; prints one JSON line."""
    sys.path.insert(0, str(HERE))
    import delivery as bench

    import tidings
    from amplitude import Amplitude  # noqa: F401  (imported before freezing, as delivery.py)
    from tidings.cli.serve import tune_gc

    _assemble()  # the delivery modules loaded before freezing, as the server does
    tune_gc()
    shape = bench.Shape(args.events, args.devices, args.per_upload)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    standin = subprocess.Popen(
        [sys.executable, str(STANDIN)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert standin.stdout is not None and standin.stdin is not None
    url = standin.stdout.readline().strip()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            ours = asyncio.run(_timed_delivery(url, f"sqlite:///{tmp}/bench.db", shape))
        cpu = time.process_time()
        sdk_rate = bench.run_sdk(url, args.events, args.devices, 1000)
        sdk_cpu = time.process_time() - cpu
    finally:
        standin.stdin.close()
        standin.wait(10)
    print(
        orjson.dumps(
            {
                "src": str(Path(tidings.__file__).resolve().parents[1]),
                "load": os.getloadavg()[0],
                "rate": ours["rate"],
                "cpu_us": ours["cpu"] / args.events * 1e6,
                "loop_cpu_us": ours["loop_cpu"] / args.events * 1e6,
                "sdk_rate": sdk_rate,
                "sdk_cpu_us": sdk_cpu / args.events * 1e6,
            }
        ).decode()
    )


def _run(src: Path, args: argparse.Namespace) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(src))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child"]
    cmd += ["--events", str(args.events), "--devices", str(args.devices)]
    cmd += ["--per-upload", str(args.per_upload)]
    load = os.getloadavg()[0]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900, check=False)
    if out.returncode != 0:
        raise SystemExit(f"run on {src} failed:\n{out.stdout}\n{out.stderr}")
    result: dict[str, Any] = orjson.loads(out.stdout.strip().splitlines()[-1])
    if Path(result["src"]) != src:
        raise SystemExit(f"{result['src']} was imported, not {src}")
    result["load_before"] = load
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="an earlier source tree")
    parser.add_argument("--pairs", type=int, default=6)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--devices", type=int, default=2_000)
    parser.add_argument("--per-upload", type=int, default=10, help="events per device upload")
    parser.add_argument("--json", type=Path, help="also write every run's figures here")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    if args.before is None:
        parser.error("--before DIR is required")
    trees = {"before": args.before.resolve() / "src", "after": ROOT / "src"}
    print(f"events: {args.events} over {args.devices} devices, {args.per_upload} per upload")
    print(
        "pair | first | before: events/s, CPU µs/event (loop thread), SDK CPU µs/event"
        " | after: the same | after/before: CPU/event, CPU/event ÷ SDK's, events/s;"
        " SDK CPU/event, SDK events/s | load"
    )
    ratios: dict[str, list[float]] = {key: [] for key, _ in RATIOS}
    raw = []
    for pair in range(1, args.pairs + 1):
        order = ("before", "after") if pair % 2 else ("after", "before")
        got = {name: _run(trees[name], args) for name in order}
        b, a = got["before"], got["after"]
        ratios["cpu"].append(a["cpu_us"] / b["cpu_us"])
        ratios["cpu_rel"].append(ratios["cpu"][-1] / (a["sdk_cpu_us"] / b["sdk_cpu_us"]))
        ratios["rate"].append(a["rate"] / b["rate"])
        ratios["sdk"].append(a["sdk_cpu_us"] / b["sdk_cpu_us"])
        ratios["sdk_rate"].append(a["sdk_rate"] / b["sdk_rate"])
        raw.append({"pair": pair, "first": order[0], **got})
        loads = [got[n]["load_before"] for n in order] + [got[order[-1]]["load"]]
        print(
            f"| {pair} | {order[0]} "
            + "".join(
                f"| {r['rate']:,.0f}, {r['cpu_us']:.1f} ({r['loop_cpu_us']:.1f}),"
                f" {r['sdk_cpu_us']:.1f} "
                for r in (b, a)
            )
            + "| "
            + ", ".join(f"{ratios[key][-1]:.3f}" for key in ("cpu", "cpu_rel", "rate"))
            + "; "
            + ", ".join(f"{ratios[key][-1]:.3f}" for key in ("sdk", "sdk_rate"))
            + f" | {min(loads):.1f}–{max(loads):.1f} |",
            flush=True,
        )
    for key, label in RATIOS:
        values = ratios[key]
        print(
            f"median after/before, {label}: {statistics.median(values):.3f}"
            f" (range {min(values):.3f}–{max(values):.3f})"
        )
    if args.json is not None:
        args.json.write_bytes(orjson.dumps(raw, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
