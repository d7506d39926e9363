/** The client against a scripted server (a `fetch` function), with in-memory storage. */

import assert from "node:assert/strict";
import { test } from "node:test";
import { InvalidEvent, MemoryStorage, MemorySyncStore, Tidings } from "../src/index";
import type { TidingsOptions } from "../src/index";

interface Call {
  url: string;
  init: RequestInit;
  body: Record<string, unknown> | null;
}

/** A tiny server: answers config fetches and uploads, records every request. */
class FakeServer {
  calls: Call[] = [];
  uploads: Array<Record<string, unknown>> = [];
  campaigns: unknown[] = [];
  status: number | (() => number) = 200;
  down = false;
  seenRequestIds = new Map<string, string>();

  fetch = async (url: string, init: RequestInit): Promise<Response> => {
    const body = typeof init.body === "string" ? (JSON.parse(init.body) as Record<string, unknown>) : null;
    this.calls.push({ url, init, body });
    if (this.down) throw new TypeError("fetch failed");
    const headers = { "X-Server-Time": String(Date.now() + 5000), ETag: '"v1"' };
    if (url.includes("/config")) {
      if ((init.headers as Record<string, string>)["If-None-Match"] === '"v1"') {
        return new Response(null, { status: 304, headers });
      }
      const manifest = { version: "v1", campaigns: this.campaigns, settings: {}, cohorts: [] };
      return new Response(JSON.stringify(manifest), { status: 200, headers });
    }
    const status = typeof this.status === "function" ? this.status() : this.status;
    if (status !== 200) {
      return new Response(JSON.stringify({ error: { code: "nope", message: "refused" } }), { status, headers });
    }
    const requestId = new URL(url).searchParams.get("requestId") as string;
    if (!this.seenRequestIds.has(requestId)) {
      this.seenRequestIds.set(requestId, "done");
      if (body) this.uploads.push(body);
    }
    return new Response(JSON.stringify({ accepted: 1, duplicates: 0, rejected: [], serverTime: Date.now() + 5000 }), {
      status: 200,
      headers,
    });
  };

  eventNames(): string[] {
    return this.uploads.flatMap((u) => (u["events"] as Array<{ name: string }>).map((e) => e.name));
  }
}

function options(server: FakeServer, extra: Partial<TidingsOptions> = {}): TidingsOptions {
  return {
    appId: "app-1",
    apiKeyPublic: "pk_test",
    backendUrl: "http://tidings.test",
    fetch: server.fetch,
    storage: new MemoryStorage(),
    syncStorage: new MemorySyncStore(),
    lifecycle: "none",
    logLevel: "none",
    uploadInterval: 0.02,
    ...extra,
  };
}

const DEEP_LINK = {
  id: "c1",
  name: "Thanks",
  type: "DeepLink",
  state: "Active",
  triggering: { event: { name: "Buy", type: "custom", params: [{ name: "plan", value: "annual" }] } },
  content: { url: "myapp://thanks?plan=annual" },
};

test("track uploads batches with the envelope, sessions and the publishable key", async () => {
  const server = new FakeServer();
  const client = new Tidings(options(server, { device: { appVersion: "2.0.0" } }));
  await client.ready;
  client.track("Buy", { plan: "annual", price: 29.99 });
  assert.ok(await client.flush(5));
  const upload = server.uploads[0] as Record<string, unknown>;
  assert.equal(upload["appId"], "app-1");
  const names = server.eventNames();
  assert.deepEqual(names.slice(0, 3), ["SessionStarted", "SdkInitialized", "ConfigFetchStarted"]);
  assert.deepEqual(
    names.filter((n) => n === "Buy" || n === "EventTriggered"),
    ["Buy", "EventTriggered"],
  );
  assert.ok(server.eventNames().includes("Buy"));
  const sessions = upload["sessions"] as Array<Record<string, unknown>>;
  assert.equal(sessions[0]?.["type"], "cold");
  const upCall = server.calls.find((c) => c.url.includes("/session")) as Call;
  assert.match(upCall.url, /\/api\/v1\/public\/session\?apiKey=pk_test&requestId=[0-9a-f-]{36}$/);
  assert.equal((upCall.init.headers as Record<string, string>)["Content-Type"], "text/plain;charset=UTF-8");
  await client.close(1);
});

test("bad input throws naming the field, and nothing is recorded", async () => {
  const server = new FakeServer();
  const client = new Tidings(options(server));
  await client.ready;
  const before = client.pendingCount();
  assert.throws(() => client.track("SessionStarted"), InvalidEvent);
  assert.throws(() => client.track("Buy", { nested: { a: 1 } }), /properties\['nested'\]: must be a flat value/);
  assert.equal(client.pendingCount(), before);
  await client.close(1);
});

test("a campaign from the server fires on the matching event and calls the deep-link listener", async () => {
  const server = new FakeServer();
  server.campaigns = [DEEP_LINK];
  const client = new Tidings(options(server));
  const opened: Array<[string, Record<string, unknown>]> = [];
  client.registerDeepLinkListener((url, info) => {
    opened.push([url, info as unknown as Record<string, unknown>]);
    return true;
  });
  await client.ready;
  await client.flush(5); // the config fetch has finished by the time the batch is accepted
  client.track("Buy", { plan: "monthly" });
  client.track("Buy", { plan: "annual" });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(opened.length, 1);
  assert.equal(opened[0]?.[0], "myapp://thanks?plan=annual");
  assert.equal(opened[0]?.[1]["campaignId"], "c1");
  assert.deepEqual(opened[0]?.[1]["triggeringProperties"], { plan: "annual" });
  const names = client.getRecentEvents(3).map((e) => e.name);
  assert.deepEqual(names, ["CampaignShown", "EventTriggered", "Buy"]);
  await client.close(1);
});

test("a reload keeps every event and the same request id: nothing twice, nothing lost", async () => {
  const server = new FakeServer();
  const storage = new MemoryStorage();
  const sync = new MemorySyncStore();
  server.down = true;
  const first = new Tidings(options(server, { storage, syncStorage: sync }));
  for (let i = 0; i < 5; i++) first.track("Tap", { i });
  await new Promise((r) => setTimeout(r, 60)); // one failed attempt: the request id is saved
  const failed = server.calls.filter((c) => c.url.includes("/session"));
  assert.ok(failed.length >= 1);
  const requestId = new URL((failed[0] as Call).url).searchParams.get("requestId");
  // The page goes away without closing; a new page starts on the same storage.
  server.down = false;
  const second = new Tidings(options(server, { storage, syncStorage: sync }));
  await second.ready;
  assert.ok(await second.flush(5));
  const firstUpload = server.calls.find((c) => c.url.includes("/session") && !server.down && c.body !== null);
  assert.ok(firstUpload);
  const taps = server.eventNames().filter((n) => n === "Tap");
  assert.equal(taps.length, 5);
  const retried = server.calls.filter((c) => c.url.includes(`requestId=${requestId}`));
  assert.ok(retried.length >= 2, "the first batch was retried under its first request id");
  await second.close(1);
});

test("refused keys pause uploads without dropping events; flush resumes", async () => {
  const server = new FakeServer();
  server.status = 403;
  const client = new Tidings(options(server));
  await client.ready;
  client.track("Tap");
  assert.equal(await client.flush(5), false);
  assert.ok(client.paused);
  assert.ok(client.pendingCount() > 0);
  server.status = 200;
  assert.equal(await client.flush(5), true);
  assert.equal(client.paused, false);
  assert.equal(client.pendingCount(), 0);
  await client.close(1);
});

test("a 409 makes a new request id; server errors are retried", async () => {
  const server = new FakeServer();
  const statuses = [409, 503, 200, 200, 200];
  server.status = () => statuses.shift() ?? 200;
  const client = new Tidings(options(server));
  await client.ready;
  client.track("Tap");
  const start = Date.now();
  while (client.pendingCount() && Date.now() - start < 8000) await new Promise((r) => setTimeout(r, 50));
  assert.equal(client.pendingCount(), 0);
  const ids = server.calls.filter((c) => c.url.includes("/session")).map((c) => new URL(c.url).searchParams.get("requestId"));
  assert.notEqual(ids[0], ids[1], "a new request id after 409");
  assert.equal(ids[1], ids[2], "the same request id on retry after 503");
  await client.close(1);
});

test("the server clock offset stamps events", async () => {
  const server = new FakeServer();
  const client = new Tidings(options(server));
  await client.ready;
  await client.flush(5);
  client.track("Later");
  const event = client.getRecentEvents(2).find((e) => e.name === "Later");
  assert.ok(event && event.timestamp - Date.now() > 4000, "about 5 s ahead, as the server said");
  await client.close(1);
});

test("gates: trackGated waits for the presenter; timeouts fail open", async () => {
  const server = new FakeServer();
  server.campaigns = [{ ...DEEP_LINK, content: { url: "myapp://gate/upsell?plan=annual" } }];
  const client = new Tidings(options(server));
  await client.ready;
  await client.flush(5);
  const shown: Array<Record<string, string>> = [];
  client.registerGate("myapp://gate/", (params, _info, resolution) => {
    shown.push(params);
    resolution.dismissed();
  });
  const decision = await client.trackGated("Buy", { plan: "annual" });
  assert.deepEqual(decision, { outcome: "cancelled", reason: null });
  assert.deepEqual(shown, [{ plan: "annual" }]);
  const token = client.registerGate("myapp://gate/up", () => undefined, { timeout: 0.05 });
  assert.deepEqual(await client.trackGated("Buy", { plan: "annual" }), { outcome: "proceed", reason: "fail_open" });
  client.unregisterGate(token);
  const resolved = client.getRecentEvents(20).filter((e) => e.name === "CampaignResolved");
  assert.deepEqual(
    resolved.map((e) => [e.properties["result"], e.properties["unavailableReason"]]),
    [
      ["Unavailable", "TimedOut"],
      ["Dismissed", undefined],
    ],
  );
  assert.deepEqual(await client.trackGated("Nothing"), { outcome: "proceed", reason: "fail_open" });
  await client.close(1);
});

test("system events reach the listener, earlier ones first", async () => {
  const server = new FakeServer();
  const client = new Tidings(options(server));
  await client.ready;
  client.setCustomProperty("tier", "pro");
  const heard: string[] = [];
  client.setSystemEventsListener((e) => heard.push(e.name));
  client.track("Tap");
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(heard.slice(0, 3), ["SessionStarted", "SdkInitialized", "ConfigFetchStarted"]);
  assert.ok(heard.includes("CustomPropertyChanged"));
  assert.ok(heard.includes("EventTriggered"));
  assert.ok(!heard.includes("Tap"));
  await client.close(1);
});

test("without synchronous storage (React Native), calls made before loading are kept in order", async () => {
  const server = new FakeServer();
  const storage = new MemoryStorage();
  const states: Array<(s: string) => void> = [];
  const appState = { addEventListener: (_t: "change", fn: (s: string) => void) => void states.push(fn) };
  const client = new Tidings(options(server, { storage, syncStorage: null, lifecycle: appState }));
  client.track("Early", { n: 1 });
  client.setUserId("u-1");
  await client.ready;
  states[0]?.("background");
  states[0]?.("active");
  await client.persisted();
  assert.ok([...storage.data.keys()].some((k) => k.startsWith("tidings:app-1:q:")));
  assert.ok(await client.flush(5));
  assert.ok(server.eventNames().includes("Early"));
  const last = server.uploads[server.uploads.length - 1] as { user: { userId: string } };
  assert.equal(last.user.userId, "u-1");
  await client.close(1);
});
