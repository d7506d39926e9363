"""The JavaScript SDK: ``track()`` caller latency beside Segment's SDKs, and the bundle size.

    .venv/bin/python bench/sdk-js/run.py [--events N] [--chunk C]

Builds ``sdk-js`` and this folder's pinned Segment packages (``npm ci``), starts a real Tidings
server (SQLite in a temp dir) and a page server on loopback, then measures in one run:

- **Chromium** (the system Chromium, headless): the test page loads ``tidings.min.js`` and
  Segment's ``analytics-next`` (bundled here with esbuild) and calls each ``track()`` in
  alternating chunks. Tidings is a public client of the Tidings server; analytics-next is given
  its settings inline (no CDN) and sends to a sink on the page server that answers 200.
- **Node**: ``sdk-js/dist/index.cjs`` beside ``@segment/analytics-node`` (sending to the Tidings
  server's Segment-compatible ``/v1/batch``), alternating chunks likewise.

Two numbers per call: the time until ``track()`` returns (what the caller waits for), and the
main-thread time per call including the work each call queued behind itself (microtasks,
drained after each chunk) — analytics-next does most of its work after returning. The two do
different work: Tidings validates, runs the campaign engine and writes the event to
``localStorage`` (Node: to memory) before returning; Segment queues the event in memory.
Bundle sizes are minified + gzip -9.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse
from starlette.routing import Route

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SDK_JS = ROOT / "sdk-js"
sys.path.insert(0, str(ROOT / "tests"))

from loopback import ThreadedServer, free_port  # noqa: E402
from tidings.server.app import create_app_for_url  # noqa: E402
from tidings.storage import open_store  # noqa: E402

PAGE = """<!doctype html><html><head><meta charset="utf-8">
<script src="/tidings.min.js"></script><script src="/segment-page.js"></script></head><body>
<script>
const PROPS = {plan: "annual", price: 9.99, seats: 3, trial: false};
async function setUp(opts) {
  window.tidings = new Tidings.Tidings({...opts.tidings, lifecycle: "none", logLevel: "error"});
  await tidings.flush(10);
  const [analytics] = await SegmentBench.AnalyticsBrowser.load(
    {writeKey: opts.writeKey, cdnSettings: {integrations: {"Segment.io": {
      apiKey: opts.writeKey, apiHost: opts.sinkHost, protocol: "http"}}}},
    {initialPageview: false});
  window.segment = analytics;
}
async function bench(events, chunk) {
  const calls = {
    tidings: () => tidings.track("Song Played", PROPS),
    segment: () => { segment.track("Song Played", PROPS); },
  };
  const sync = {tidings: [], segment: []};
  const busy = {tidings: 0, segment: 0};
  const turn = () => new Promise((r) => setTimeout(r, 0));
  for (let done = 0; done < events; done += chunk) {
    for (const name of ["tidings", "segment"]) {
      const call = calls[name];
      const start = performance.now();
      for (let i = 0; i < chunk; i++) {
        const t0 = performance.now();
        call();
        sync[name].push(performance.now() - t0);
      }
      await Promise.resolve();
      await turn();
      busy[name] += performance.now() - start;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const pct = (v, p) => { const s = [...v].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor(p / 100 * s.length))]; };
  const out = {};
  for (const name of ["tidings", "segment"]) {
    out[name] = {p50_us: pct(sync[name], 50) * 1000, p99_us: pct(sync[name], 99) * 1000,
      mean_us: sync[name].reduce((a, b) => a + b, 0) / sync[name].length * 1000,
      busy_per_call_us: busy[name] / events * 1000};
  }
  return out;
}
</script></body></html>
"""


def npm(args: list[str], cwd: Path) -> None:
    npm_bin = shutil.which("npm")
    if npm_bin is None:
        raise SystemExit("npm is needed (Node.js >= 18)")
    subprocess.run([npm_bin, *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL)


def gz(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), 9))


async def bootstrap(db_url: str, key: bytes, page_origin: str) -> dict[str, Any]:
    store = await open_store(db_url, server_key=key)
    try:
        project = await store.create_project("Bench")
        app = (await store.create_app(project.id, "Bench web", "web")).to_json()
        token = await store.create_admin_token("bench")
    finally:
        await store.close()
    return {**app, "adminToken": token, "pageOrigin": page_origin}


def page_app(sink_hits: list[int]) -> Starlette:
    async def page(_request: Request) -> HTMLResponse:
        return HTMLResponse(PAGE)

    async def tidings_bundle(_request: Request) -> FileResponse:
        return FileResponse(SDK_JS / "dist" / "tidings.min.js", media_type="text/javascript")

    async def segment_bundle(_request: Request) -> FileResponse:
        return FileResponse(HERE / "dist" / "segment-page.js", media_type="text/javascript")

    async def sink(request: Request) -> JSONResponse:
        await request.body()
        sink_hits.append(1)
        headers = {"Access-Control-Allow-Origin": request.headers.get("origin", "*")}
        return JSONResponse({"success": True}, headers=headers)

    return Starlette(
        routes=[
            Route("/", page),
            Route("/tidings.min.js", tidings_bundle),
            Route("/segment-page.js", segment_bundle),
            Route("/v1/{kind}", sink, methods=["POST", "OPTIONS"]),
        ]
    )


def chromium_bench(url: str, opts: dict[str, Any], events: int, chunk: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("TIDINGS_CHROMIUM", "/usr/bin/chromium")
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path=chromium,
            headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
        )
        try:
            context.set_default_timeout(600_000)
            page = context.new_page()
            page.goto(url)
            page.evaluate("(o) => setUp(o)", opts)
            result: dict[str, Any] = page.evaluate("([n, c]) => bench(n, c)", [events, chunk])
            pending = page.evaluate("tidings.pendingCount()")
            result["tidings_pending_after"] = pending
            return result
        finally:
            context.close()


def report(title: str, result: dict[str, Any]) -> None:
    t, s = result["tidings"], result["segment"]
    print(f"\n{title}")
    print(f"{'':28} {'Tidings':>12} {'Segment':>12} {'ratio':>8}")
    for key, label in (
        ("p50_us", "track() returns, p50 (us)"),
        ("p99_us", "track() returns, p99 (us)"),
        ("mean_us", "track() returns, mean (us)"),
        ("busy_per_call_us", "main thread per call (us)"),
    ):
        ratio = t[key] / s[key] if s[key] else float("inf")
        print(f"{label:28} {t[key]:12.1f} {s[key]:12.1f} {ratio:7.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--chunk", type=int, default=500)
    args = parser.parse_args()
    npm(["ci", "--no-audit", "--no-fund"], SDK_JS)
    npm(["run", "build"], SDK_JS)
    npm(["ci", "--no-audit", "--no-fund"], HERE)
    npm(["run", "build"], HERE)

    sizes = {
        "tidings.min.js": (SDK_JS / "dist" / "tidings.min.js").stat().st_size,
        "tidings.min.js gzip": gz(SDK_JS / "dist" / "tidings.min.js"),
        "analytics-next (esbuild) ": (HERE / "dist" / "segment-page.js").stat().st_size,
        "analytics-next (esbuild) gzip": gz(HERE / "dist" / "segment-page.js"),
    }
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        key = os.urandom(32)
        server_port, page_port = free_port(), free_port()
        server_url = f"http://127.0.0.1:{server_port}"
        page_origin = f"http://127.0.0.1:{page_port}"
        app = asyncio.run(bootstrap(db_url, key, page_origin))
        server = ThreadedServer()
        server.start(create_app_for_url(db_url, server_key=key), server_port)
        sink_hits: list[int] = []
        pages = ThreadedServer()
        pages.start(page_app(sink_hits), page_port)
        try:
            httpx.put(
                f"{server_url}/admin/api/apps/{app['appId']}/public-client",
                json={
                    "enabled": True,
                    "allowedOrigins": [page_origin],
                    "allowMissingOrigin": True,
                    "deviceRequestsPerMinute": 100_000,
                    "addressRequestsPerMinute": 1_000_000,
                },
                headers={"Authorization": f"Bearer {app['adminToken']}"},
                timeout=30,
            ).raise_for_status()
            tidings_opts = {
                "appId": app["appId"],
                "apiKeyPublic": app["apiKeyPublic"],
                "backendUrl": server_url,
            }
            browser = chromium_bench(
                page_origin + "/",
                {
                    "tidings": tidings_opts,
                    "writeKey": app["writeKey"],
                    "sinkHost": f"127.0.0.1:{page_port}/v1",
                },
                args.events,
                args.chunk,
            )
            node = json.loads(
                subprocess.run(
                    [
                        shutil.which("node") or "node",
                        str(HERE / "node_bench.mjs"),
                        json.dumps(
                            {
                                "sdkPath": str(SDK_JS / "dist" / "index.cjs"),
                                "tidings": tidings_opts,
                                "writeKey": app["writeKey"],
                                "segmentHost": server_url,
                                "events": args.events,
                                "chunk": args.chunk,
                            }
                        ),
                    ],
                    cwd=HERE,
                    check=True,
                    capture_output=True,
                    text=True,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
        finally:
            pages.stop()
            server.stop()
    print(f"events per SDK: {args.events}, chunks of {args.chunk}")
    for name, size in sizes.items():
        print(f"{name:32} {size:>9,} bytes")
    report("Chromium (headless)", browser)
    print(f"  Tidings rows still queued after the run: {browser['tidings_pending_after']}")
    report("Node", node)
    ratio = statistics.mean(
        [
            browser["tidings"]["p50_us"] / browser["segment"]["p50_us"],
            node["tidings"]["p50_us"] / node["segment"]["p50_us"],
        ]
    )
    print(f"\nmean p50 ratio Tidings/Segment over both runtimes: {ratio:.2f}x")


if __name__ == "__main__":
    main()
