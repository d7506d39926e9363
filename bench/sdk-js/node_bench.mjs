// track() caller latency in Node: Tidings (sdk-js/dist/index.cjs) beside @segment/analytics-node,
// both alive for the whole run and timed in alternating chunks so a noisy machine hits both.
// Usage: node node_bench.mjs '{"tidings": {...options}, "segmentHost": "...", "writeKey": "...",
//                              "events": 20000, "chunk": 500}'
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const args = JSON.parse(process.argv[2]);
const { Tidings, MemoryStorage, MemorySyncStore } = require(args.sdkPath);
const { Analytics } = require("@segment/analytics-node");

const PROPS = { plan: "annual", price: 9.99, seats: 3, trial: false };

const tidings = new Tidings({
  ...args.tidings,
  storage: new MemoryStorage(),
  syncStorage: new MemorySyncStore(),
  lifecycle: "none",
  logLevel: "error",
});
await tidings.ready;
await tidings.flush(10);
const segment = new Analytics({ writeKey: args.writeKey, host: args.segmentHost, flushAt: 100, flushInterval: 5000 });

const clients = {
  tidings: () => tidings.track("Song Played", PROPS),
  segment: () => segment.track({ userId: "u-1", event: "Song Played", properties: PROPS }),
};
const sync = { tidings: [], segment: [] };
const busy = { tidings: 0, segment: 0 };
const turn = () => new Promise((r) => setImmediate(r));

for (let done = 0; done < args.events; done += args.chunk) {
  for (const name of ["tidings", "segment"]) {
    const call = clients[name];
    const start = process.hrtime.bigint();
    for (let i = 0; i < args.chunk; i++) {
      const t0 = process.hrtime.bigint();
      call();
      sync[name].push(Number(process.hrtime.bigint() - t0));
    }
    await turn(); // the work each call queued behind itself (microtasks) runs here
    busy[name] += Number(process.hrtime.bigint() - start);
  }
  await new Promise((r) => setTimeout(r, 5)); // let uploads and timers run between chunks
}

function pct(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
const out = {};
for (const name of ["tidings", "segment"]) {
  out[name] = {
    p50_us: pct(sync[name], 50) / 1000,
    p99_us: pct(sync[name], 99) / 1000,
    mean_us: sync[name].reduce((a, b) => a + b, 0) / sync[name].length / 1000,
    busy_per_call_us: busy[name] / args.events / 1000,
  };
}
await tidings.close(10);
await segment.closeAndFlush({ timeout: 10000 });
process.stdout.write(JSON.stringify(out) + "\n");
