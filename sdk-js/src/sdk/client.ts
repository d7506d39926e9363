/**
 * `Tidings`: the client a web or React Native app embeds — the Python SDK's behaviour on the
 * same core: sessions, events, custom properties, campaigns on the device, batched uploads.
 *
 * Every call drives the pure `Device`, commits what it recorded to the on-device store and hands
 * anything slow (listeners, actions, the network) to later tasks; nothing an app calls waits for
 * the network, and callbacks never run on the caller's stack.
 */

import { actionInfo, deepLinkUrl, urlParams } from "../core/actions";
import type { ActionInfo } from "../core/actions";
import { CampaignEngine, Decision, EngineState } from "../core/campaigns/engine";
import { localDay, zone } from "../core/campaigns/schedule";
import { checkKind } from "../core/datasets";
import { Device, DeviceState } from "../core/device";
import type { Output } from "../core/device";
import { InvalidInput } from "../core/errors";
import {
  CAMPAIGN_SHOWN,
  EventRecord,
  NOT_OBSERVABLE_EVENTS,
  SESSION_FINISHED,
  SESSION_STARTED,
  validateCustomEvent,
} from "../core/events";
import type { EventType } from "../core/events";
import { IdFactory, cryptoRandomBytes } from "../core/ids";
import { fromPlain, parseJson, toPlain, writeJson } from "../core/json";
import type { Json, JsonObject } from "../core/json";
import type { DeviceProfile } from "../core/profile";
import { SessionState } from "../core/sessions";
import { buildConfig, parseManifest } from "./config";
import type { ClientConfig, Manifest, TidingsOptions } from "./config";
import { Delivery } from "./delivery";
import { FAIL_OPEN, GateRegistry, Presentation } from "./gates";
import type { GateDecision, Presenter } from "./gates";
import { buildProfile, deviceBlock, loadIdentity } from "./identity";
import type { DeviceExtras } from "./identity";
import { bindAppState, bindBrowser } from "./lifecycle";
import { Logger } from "./log";
import { DeviceStore, KIND_DECISION, KIND_EVENT } from "./store";
import { defaultStorage } from "./storage";
import { Clock, Transport, errorMessage, isPauseStatus } from "./transport";

export const SDK_VERSION = "0.2.0";

/** How long `track()` leaves the device state unsaved (its events are committed at once). */
const STATE_SAVE_DELAY_MS = 500;
const RECENT_EVENTS = 1000;
const UNHEARD_EVENTS = 1000;

/** An event as listeners and `getRecentEvents` see it (plain values). */
export interface TidingsEvent {
  id: string;
  name: string;
  type: EventType;
  timestamp: number;
  sessionId: string | null;
  properties: Record<string, unknown>;
}

export type DeepLinkListener = (url: string, info: ActionInfo) => unknown;
export type RateReviewHandler = (info: ActionInfo) => unknown;
export type SystemEventsListener = (event: TidingsEvent) => unknown;

interface SessionRecord {
  id: string;
  counter: number;
  type: string;
  startedAt: number;
  endedAt: number | null;
}

function plainEvent(e: EventRecord): TidingsEvent {
  return {
    id: e.id,
    name: e.name,
    type: e.type,
    timestamp: e.timestamp,
    sessionId: e.sessionId,
    properties: toPlain(e.properties) as Record<string, unknown>,
  };
}

function later(fn: () => void): void {
  setTimeout(fn, 0);
}

export class Tidings {
  readonly config: ClientConfig;
  readonly sdkVersion = SDK_VERSION;
  /** Resolves once the stored state is loaded and the first session has started. */
  readonly ready: Promise<void>;
  private readonly log: Logger;
  private readonly store: DeviceStore;
  private readonly clock: Clock;
  private readonly transport: Transport;
  private readonly delivery: Delivery;
  private readonly gates = new GateRegistry();
  private readonly deepLinks = new Map<number, DeepLinkListener>();
  private readonly rateReview = new Map<number, RateReviewHandler>();
  private readonly systemListeners = new Map<number, SystemEventsListener>();
  private readonly live = new Set<Presentation>();
  private unheard: EventRecord[] = [];
  private recent: EventRecord[] = [];
  private sessions = new Map<string, SessionRecord>();
  private nextToken = 1;
  private device!: Device;
  private profile!: DeviceProfile;
  private extras!: DeviceExtras;
  private manifest: Manifest | null = null;
  private etag: string | null = null;
  private started = false;
  private closed = false;
  private waiting: Array<() => void> = [];
  private stateTimer: ReturnType<typeof setTimeout> | null = null;
  private unbind: (() => void) | null = null;

  constructor(options: TidingsOptions) {
    const cfg = buildConfig(options);
    this.config = cfg;
    this.log = new Logger(cfg.logLevel, options.logSink);
    const platform = defaultStorage();
    const adapter = options.storage ?? platform.adapter;
    const sync = options.syncStorage !== undefined ? options.syncStorage : options.storage ? null : platform.sync;
    this.store = new DeviceStore(adapter, sync, `tidings:${cfg.appId}:`, cfg.maxQueueEvents);
    this.store.onError = (exc) => this.log.error("storage: a write failed", exc);
    this.store.beforeJournalCleanup = () => {
      if (this.stateTimer !== null) this.saveState();
    };
    this.clock = new Clock();
    this.transport = new Transport(
      {
        appId: cfg.appId,
        apiKeyPublic: cfg.apiKeyPublic,
        apiKeySecret: cfg.apiKeySecret,
        backendUrl: cfg.backendUrl,
        configUrl: cfg.configUrl,
        httpTimeoutMs: cfg.httpTimeoutMs,
        fetch: options.fetch ?? ((url, init) => fetch(url, init)),
      },
      this.clock,
    );
    this.delivery = new Delivery(this.store, this.transport, {
      batchSize: cfg.uploadBatchSize,
      intervalMs: cfg.uploadIntervalMs,
      envelope: () => this.envelope(),
      sessions: (maxSeq) => this.sessionsOf(maxSeq),
      randomBytes: cryptoRandomBytes,
      log: this.log,
    });
    const lifecycle = options.lifecycle ?? "browser";
    const bind = (): void => {
      const g = globalThis as { document?: Document; window?: Window };
      if (lifecycle === "browser" && g.document && g.window) this.unbind = bindBrowser(this, g.document, g.window);
      else if (typeof lifecycle === "object" && lifecycle !== null) this.unbind = bindAppState(this, lifecycle);
    };
    if (this.store.syncDurable) {
      this.store.loadSync();
      this.start();
      bind();
      this.ready = Promise.resolve();
      void this.store.loadAsync().then(
        () => this.delivery.start(),
        (exc) => {
          this.log.error("storage: the upload queue could not be read", exc);
          this.delivery.start();
        },
      );
    } else {
      this.ready = this.store.loadAsync().then(() => {
        this.start();
        bind();
        this.delivery.start();
        for (const fn of this.waiting.splice(0)) fn();
      });
      this.ready.catch((exc) => this.log.error("storage: the stored state could not be read", exc));
    }
  }

  // --- start-up ---------------------------------------------------------------------------------

  private start(): void {
    const store = this.store;
    this.clock.offsetMs = Number(store.get("clock") ?? 0) || 0;
    const now = this.clock.nowMs();
    const identity = loadIdentity(store.get("identity"), now, cryptoRandomBytes);
    store.put("identity", JSON.stringify(identity));
    const { profile, extras } = buildProfile(identity, this.config.device, this.config.appId);
    this.profile = profile;
    this.extras = extras;
    const [state, seq] = this.loadState();
    this.device = new Device(profile, new IdFactory(cryptoRandomBytes), {
      state,
      sessionTimeoutMs: this.config.sessionTimeoutMs,
    });
    this.sessions = this.loadSessions();
    const cached = store.get("config");
    if (cached) {
      try {
        const data = JSON.parse(cached) as { etag: string | null; manifest: string };
        this.apply(parseManifest(parseJson(data.manifest), this.log));
        this.etag = data.etag;
      } catch (exc) {
        this.log.warn("config: cached configuration ignored", exc);
      }
    }
    if (this.manifest === null && this.config.defaultConfig !== null) this.apply(this.config.defaultConfig);
    this.replay(seq);
    this.recent = this.queuedEvents().slice(-RECENT_EVENTS);
    this.started = true;
    const out = this.device.launch(now);
    out.push(...this.device.configFetchStarted(now));
    this.commit(out);
    later(() => void this.fetchConfig());
  }

  private loadState(): [DeviceState, number] {
    const raw = this.store.get("state");
    const state = new DeviceState();
    if (!raw) return [state, 0];
    try {
      const data = parseJson(raw) as JsonObject;
      state.session = SessionState.fromJSON(toPlain(data.get("session")) as Record<string, unknown>);
      state.properties = (data.get("properties") as JsonObject | undefined) ?? new Map();
      state.userId = (data.get("userId") as string | null | undefined) ?? null;
      state.lastConfigFetch = (data.get("lastConfigFetch") as number | null | undefined) ?? null;
      state.engine = EngineState.fromJSON(toPlain(data.get("engine")));
      return [state, Number(data.get("seq") ?? 0)];
    } catch (exc) {
      this.log.error("sdk: saved device state unreadable, starting fresh", exc);
      return [new DeviceState(), 0];
    }
  }

  private saveState(): void {
    if (this.stateTimer !== null) clearTimeout(this.stateTimer);
    this.stateTimer = null;
    const st = this.device.state;
    const seq = this.store.lastSeq;
    this.store.put(
      "state",
      writeJson(
        new Map<string, unknown>([
          ["seq", seq],
          ["session", st.session.toJSON()],
          ["properties", st.properties],
          ["userId", st.userId],
          ["lastConfigFetch", st.lastConfigFetch],
          ["engine", st.engine.toJSON()],
        ]),
      ),
    );
  }

  private loadSessions(): Map<string, SessionRecord> {
    try {
      const list = JSON.parse(this.store.get("sessions") ?? "[]") as SessionRecord[];
      return new Map(list.map((s) => [s.id, s]));
    } catch {
      return new Map();
    }
  }

  private queuedEvents(): EventRecord[] {
    const out: EventRecord[] = [];
    for (const row of this.store.rows) {
      if (row.kind !== KIND_EVENT) continue;
      try {
        out.push(recordOf(parseJson(row.body) as JsonObject));
      } catch {
        // a row that does not read back is still uploaded as it is
      }
    }
    return out;
  }

  /** Bring the saved state up to date with events committed after it (a reload or a crash). */
  private replay(stateSeq: number): void {
    const device = this.device;
    const session = device.state.session;
    const ctx = device.context(false);
    let replayed = 0;
    for (const row of this.store.rows) {
      if (row.seq <= stateSeq || row.kind !== KIND_EVENT) continue;
      let event: EventRecord;
      try {
        event = recordOf(parseJson(row.body) as JsonObject);
      } catch {
        continue;
      }
      if (event.sessionId !== null && event.sessionId === session.sessionId) device.sessions.record(event.timestamp);
      device.campaigns.process(event, ctx, device.state.engine);
      if (event.name === CAMPAIGN_SHOWN) {
        const campaignId = String(event.properties.get("campaignId"));
        const found = device.campaigns.campaigns.find((c) => c.id === campaignId);
        const engine = device.state.engine;
        engine.recordShow(campaignId, event.timestamp, event.sessionId, found ? found.limit.intervalMs : null);
        engine.recordProjectShow(event.sessionId, localDay(event.timestamp, zone(this.profile.timezone)));
      }
      replayed++;
    }
    if (replayed) this.log.info(`sdk: ${replayed} events replayed into the device state after an unclean exit`);
  }

  private apply(manifest: Manifest): void {
    const device = this.device;
    device.campaigns = new CampaignEngine(manifest.campaigns, manifest.project);
    device.cohorts = manifest.cohorts;
    if (manifest.sessionTimeoutMs !== null) device.sessions.timeoutMs = manifest.sessionTimeoutMs;
    if (manifest.configRefreshMs !== null) device.configRefreshMs = manifest.configRefreshMs;
    this.manifest = manifest;
  }

  // --- calls before the store is loaded (React Native) -------------------------------------------

  /** Run `fn` now, or once the stored state is loaded (in call order, time taken at the call). */
  private whenStarted(fn: (now: number) => void): void {
    if (this.closed) return;
    const now = this.clock.nowMs();
    if (this.started) fn(now);
    else this.waiting.push(() => fn(now));
  }

  // --- recording --------------------------------------------------------------------------------

  /**
   * Record a custom event. Throws `InvalidEvent` naming the bad field; never waits for the
   * network. With a synchronous store (browsers) the event is on disk when this returns.
   */
  track(name: string, properties?: Record<string, unknown> | Map<string, unknown> | null): void {
    if (this.closed) {
      this.log.warn(`sdk: track(${JSON.stringify(name)}) after close() was ignored`);
      return;
    }
    if (this.started) {
      this.commit(this.device.track(name, properties, this.clock.nowMs()), true);
      return;
    }
    validateCustomEvent(name, properties); // errors are thrown at the call, not when it runs
    this.whenStarted((now) => this.commit(this.device.track(name, properties, now), true));
  }

  /** As `track`; if a gate campaign fires, resolves with its presenter's outcome. Never rejects. */
  trackGated(
    name: string,
    properties?: Record<string, unknown> | null,
    timeout?: number,
  ): Promise<GateDecision> {
    return new Promise((resolve) => {
      try {
        validateCustomEvent(name, properties);
      } catch (exc) {
        this.log.error(`sdk: trackGated(${JSON.stringify(name)}) failed open: ${(exc as Error).message}`);
        resolve(FAIL_OPEN);
        return;
      }
      if (this.closed) {
        resolve(FAIL_OPEN);
        return;
      }
      this.whenStarted((now) => {
        const gated = this.commit(this.device.track(name, properties, now), true, timeout);
        resolve(gated === null ? FAIL_OPEN : gated.done);
      });
    });
  }

  setUserId(userId: string | null): void {
    if (userId !== null && (typeof userId !== "string" || !userId)) {
      throw new InvalidInput("userId", "must be a non-empty string or null");
    }
    this.whenStarted(() => {
      this.device.setUserId(userId);
      this.commit([]);
    });
  }

  setCustomProperty(key: string, value: unknown): void {
    this.whenStarted((now) => this.commit(this.device.setCustomProperty(key, value, now)));
  }

  setCustomProperties(properties: Record<string, unknown> | Map<string, unknown>): void {
    this.whenStarted((now) => this.commit(this.device.setCustomProperties(properties, now)));
  }

  getCustomProperty(key: string): unknown {
    if (!this.started) return undefined;
    return toPlain(this.device.customProperties.get(key) ?? null);
  }

  removeCustomProperty(key: string): void {
    this.whenStarted((now) => this.commit(this.device.removeCustomProperty(key, now)));
  }

  clearCustomProperties(): void {
    this.whenStarted((now) => this.commit(this.device.clearCustomProperties(now)));
  }

  // --- inspection -------------------------------------------------------------------------------

  /** The newest recorded events (custom and system), newest first: this page's, and any still queued. */
  getRecentEvents(limit = 100): TidingsEvent[] {
    if (!Number.isInteger(limit) || limit < 0) throw new InvalidInput("limit", "must be a non-negative integer");
    return this.recent
      .slice(Math.max(0, this.recent.length - limit))
      .reverse()
      .map(plainEvent);
  }

  /** One data set (`@device`, `@user`, `@custom`, `@session`, `@triggeredEvent`, `@events`). */
  getDataSetSnapshot(kind: string, params: Record<string, unknown> = {}): Record<string, unknown> {
    checkKind(kind);
    if (!this.started) throw new InvalidInput("kind", "the stored state is still loading: await client.ready");
    const converted: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(params)) converted[k] = fromPlain(v);
    return this.device.snapshot(kind, this.clock.nowMs(), converted);
  }

  get deviceId(): string {
    return this.profile?.deviceId ?? this.config.device.deviceId ?? "";
  }

  /** True while uploads are paused because the server refused the key or the origin. */
  get paused(): boolean {
    return this.delivery.paused;
  }

  /** Events and decisions on the device waiting for upload. */
  pendingCount(): number {
    return this.store.rows.length;
  }

  droppedCount(): number {
    return this.store.dropped;
  }

  /** Resolves when everything recorded so far is in the asynchronous store (React Native). */
  persisted(): Promise<void> {
    return this.ready.then(() => this.store.persisted());
  }

  // --- listeners --------------------------------------------------------------------------------

  /** `fn(event)` for every observable system event; events emitted before are delivered first. */
  setSystemEventsListener(fn: SystemEventsListener): number {
    if (typeof fn !== "function") throw new InvalidInput("fn", "must be a function");
    const token = this.nextToken++;
    this.systemListeners.set(token, fn);
    const backlog = this.unheard;
    this.unheard = [];
    if (backlog.length) later(() => this.deliverSystem(backlog));
    return token;
  }

  clearSystemEventsListener(token: number): void {
    this.systemListeners.delete(token);
  }

  /** `fn(url, info)`; listeners are asked in order until one returns `true`. */
  registerDeepLinkListener(fn: DeepLinkListener): number {
    if (typeof fn !== "function") throw new InvalidInput("fn", "must be a function");
    const token = this.nextToken++;
    this.deepLinks.set(token, fn);
    return token;
  }

  removeDeepLinkListener(token: number): void {
    this.deepLinks.delete(token);
  }

  /** `fn(info)` when a RateReview campaign fires (the last one registered is used). */
  registerRateReviewHandler(fn: RateReviewHandler): number {
    if (typeof fn !== "function") throw new InvalidInput("fn", "must be a function");
    const token = this.nextToken++;
    this.rateReview.set(token, fn);
    this.whenStarted(() => (this.device.hasRateReviewHandler = true));
    return token;
  }

  removeRateReviewHandler(token: number): void {
    this.rateReview.delete(token);
    this.whenStarted(() => (this.device.hasRateReviewHandler = this.rateReview.size > 0));
  }

  /** Present DeepLink campaigns whose URL starts with `baseUrl` with `presenter`. */
  registerGate(
    baseUrl: string,
    presenter: Presenter,
    options: { onAbort?: "cancel" | "proceed"; timeout?: number } = {},
  ): number {
    return this.gates.register(baseUrl, presenter, options.onAbort ?? "cancel", options.timeout ?? 60);
  }

  unregisterGate(token: number): void {
    this.gates.unregister(token);
  }

  // --- lifecycle --------------------------------------------------------------------------------

  /** The app came to the foreground: resume the session or start a warm one. */
  foreground(): void {
    this.whenStarted((now) => {
      const out = this.device.foreground(now);
      const fetch =
        out.some((o) => o instanceof EventRecord && o.name === SESSION_STARTED) && this.device.configIsStale(now);
      if (fetch) out.push(...this.device.configFetchStarted(now));
      this.commit(out);
      this.delivery.resume();
      if (fetch) later(() => void this.fetchConfig());
    });
  }

  /** The app left the foreground: pause the session (uploads are sent by `pageHidden`). */
  background(): void {
    this.whenStarted((now) => this.commit(this.device.background(now)));
  }

  /** Upload what is queued now, with `keepalive` (the page may be going away). */
  pageHidden(): void {
    if (!this.started || this.closed) return;
    this.saveState();
    this.delivery.pageHidden();
  }

  /** Upload everything queued now; true when the server accepted all of it. */
  async flush(timeout?: number): Promise<boolean> {
    await this.ready;
    const done = this.delivery.flush();
    if (timeout === undefined) return done;
    return Promise.race([done, new Promise<boolean>((r) => setTimeout(() => r(false), timeout * 1000))]);
  }

  /** Finish the session, upload what fits in `timeout` seconds, keep the rest on the device. */
  async close(timeout = 5): Promise<void> {
    if (this.closed) return;
    await this.ready;
    this.commit(this.device.terminate(this.clock.nowMs()));
    this.closed = true;
    this.unbind?.();
    if (this.store.rows.length) await this.flush(timeout);
    this.delivery.stop();
    for (const p of this.live) p.resolve("Unavailable", "TimedOut");
    this.saveState();
    this.store.put("clock", String(this.clock.offsetMs));
    await this.store.persisted();
  }

  // --- internals --------------------------------------------------------------------------------

  private envelope(): string {
    const st = this.device.state;
    return writeJson(
      new Map<string, unknown>([
        ["appId", this.config.appId],
        ["device", deviceBlock(this.profile, this.extras, SDK_VERSION)],
        [
          "user",
          new Map<string, unknown>([
            ["userId", st.userId],
            ["customProperties", st.properties],
          ]),
        ],
      ]),
    );
  }

  private sessionsOf(maxSeq: number): string {
    const ids = new Set<string>();
    for (const row of this.store.rows) {
      if (row.seq > maxSeq) break;
      if (row.session !== null) ids.add(row.session);
    }
    return JSON.stringify([...ids].map((id) => this.sessions.get(id)).filter((s) => s !== undefined));
  }

  /**
   * Persist outputs and schedule their effects. With `defer` (plain `track()`), the device state
   * is saved a moment later; its events are committed now and replayed into it after a crash.
   * Returns the gate presentation a `trackGated` waits for.
   */
  private commit(out: Output[], defer = false, gatedTimeout?: number): Presentation | null {
    const rows: Array<{ kind: number; session: string | null; body: string }> = [];
    const stamps = new Map<string, EventRecord>();
    const observable: EventRecord[] = [];
    let sessionsChanged = false;
    let decided = false;
    for (const item of out) {
      if (item instanceof EventRecord) {
        stamps.set(item.id, item);
        rows.push({ kind: KIND_EVENT, session: item.sessionId, body: item.toJSONText() });
        this.recent.push(item);
        if (item.type === "system") {
          if (!NOT_OBSERVABLE_EVENTS.has(item.name)) observable.push(item);
          if (item.name === SESSION_STARTED && item.sessionId) {
            this.sessions.set(item.sessionId, {
              id: item.sessionId,
              counter: this.device.state.session.counter,
              type: String(item.properties.get("type") ?? "cold"),
              startedAt: item.timestamp,
              endedAt: null,
            });
            sessionsChanged = true;
          } else if (item.name === SESSION_FINISHED && item.sessionId) {
            const s = this.sessions.get(item.sessionId);
            if (s) s.endedAt = item.timestamp;
            sessionsChanged = true;
          }
        }
      } else {
        decided = true;
        const trigger = stamps.get(item.eventId);
        const timestamp = trigger ? trigger.timestamp : this.clock.nowMs();
        const body = { ...item.toJSON(), timestamp, id: this.device.ids.newId(timestamp) };
        rows.push({ kind: KIND_DECISION, session: null, body: JSON.stringify(body) });
      }
    }
    if (this.recent.length > RECENT_EVENTS * 2) this.recent = this.recent.slice(-RECENT_EVENTS);
    if (sessionsChanged) this.saveSessions();
    if (rows.length) {
      const dropped = this.store.append(rows);
      if (dropped) this.log.warn(`sdk: the on-device queue is full; ${dropped} oldest events dropped`);
    }
    if (defer && !sessionsChanged) {
      if (this.stateTimer === null) this.stateTimer = setTimeout(() => this.saveState(), STATE_SAVE_DELAY_MS);
    } else this.saveState();
    if (rows.length) this.delivery.appended(rows.length);
    if (observable.length) this.handOver(observable);
    return decided ? this.dispatch(out, stamps, gatedTimeout) : null;
  }

  private saveSessions(): void {
    const current = this.device.state.session.sessionId;
    const referenced = new Set(this.store.rows.map((r) => r.session));
    for (const id of [...this.sessions.keys()]) {
      if (id !== current && !referenced.has(id) && this.sessions.size > 1) this.sessions.delete(id);
    }
    this.store.put("sessions", JSON.stringify([...this.sessions.values()]));
  }

  private handOver(observable: EventRecord[]): void {
    if (!this.systemListeners.size) {
      this.unheard.push(...observable);
      if (this.unheard.length > UNHEARD_EVENTS * 2) this.unheard = this.unheard.slice(-UNHEARD_EVENTS);
      return;
    }
    later(() => this.deliverSystem(observable));
  }

  private deliverSystem(events: EventRecord[]): void {
    for (const event of events) {
      for (const fn of [...this.systemListeners.values()]) {
        try {
          fn(plainEvent(event));
        } catch (exc) {
          this.log.error("sdk: the system-events listener threw; ignored", exc);
        }
      }
    }
  }

  private dispatch(out: Output[], stamps: Map<string, EventRecord>, gatedTimeout?: number): Presentation | null {
    let gated: Presentation | null = null;
    for (const item of out) {
      if (item instanceof Decision && item.status === "SUCCESS") {
        const found = this.act(item, stamps.get(item.eventId) ?? null, gatedTimeout);
        if (gated === null) gated = found;
      }
    }
    return gated;
  }

  private act(decision: Decision, trigger: EventRecord | null, gatedTimeout?: number): Presentation | null {
    const props: JsonObject = trigger ? trigger.properties : new Map<string, Json>();
    if (decision.campaign.type === "RateReview") {
      const handlers = [...this.rateReview.values()];
      const handler = handlers[handlers.length - 1];
      if (handler) {
        const info = actionInfo(decision, props);
        later(() => this.call("rate-review handler", () => handler(info)));
      }
      return null;
    }
    const url = deepLinkUrl(decision);
    if (url === null) return null;
    const info = actionInfo(decision, props, url);
    const gate = this.gates.match(url);
    if (gate === null) {
      later(() => this.deliverDeepLink(url, info));
      return null;
    }
    if (gate.live !== null) {
      this.log.info(`campaign: gate ${gate.baseUrl} is busy; ${decision.campaignId} skipped`);
      this.commit(
        this.device.campaignResolved(decision.campaignId, "SkippedNoContinuation", null, this.clock.nowMs()),
      );
      return null;
    }
    const timeoutMs = gatedTimeout === undefined ? gate.timeoutMs : gatedTimeout * 1000;
    const p = new Presentation(gate, decision.campaignId, url, info, timeoutMs, (done) => this.resolved(done));
    gate.live = p;
    this.live.add(p);
    later(() => {
      if (p.result !== null) return;
      try {
        const result = gate.presenter(urlParams(url), { ...info }, p.resolution());
        if (result && typeof (result as Promise<unknown>).then === "function") {
          (result as Promise<unknown>).then(undefined, (exc) => {
            this.log.error(`campaign: the presenter for ${gate.baseUrl} failed`, exc);
            p.resolve("Unavailable", "PresenterFailed");
          });
        }
      } catch (exc) {
        this.log.error(`campaign: the presenter for ${gate.baseUrl} threw`, exc);
        p.resolve("Unavailable", "PresenterFailed");
      }
    });
    return p;
  }

  private resolved(p: Presentation): void {
    this.live.delete(p);
    if (p.gate.live === p) p.gate.live = null;
    if (this.closed || !this.device.state.session.inSession || p.result === null) return;
    this.commit(this.device.campaignResolved(p.campaignId, p.result, p.reason, this.clock.nowMs()));
  }

  private call(what: string, fn: () => unknown): unknown {
    try {
      return fn();
    } catch (exc) {
      this.log.error(`sdk: a ${what} threw; ignored`, exc);
      return undefined;
    }
  }

  private deliverDeepLink(url: string, info: ActionInfo): void {
    for (const fn of [...this.deepLinks.values()]) {
      if (this.call("deep-link listener", () => fn(url, { ...info })) === true) return;
    }
    if (!this.deepLinks.size) this.log.info(`deeplink: no listener for ${url}`);
  }

  private async fetchConfig(): Promise<void> {
    if (this.closed) return;
    const etag = this.manifest !== null ? this.etag : null;
    let success = false;
    try {
      const reply = await this.transport.getConfig(etag, this.profile.deviceId, this.device.state.userId);
      if (reply.status === 200) {
        try {
          const manifest = parseManifest(parseJson(reply.text), this.log);
          const newEtag = reply.headers.get("etag") ?? manifest.version;
          this.apply(manifest);
          this.etag = newEtag;
          this.store.put("config", JSON.stringify({ etag: newEtag, manifest: reply.text }));
          success = true;
        } catch (exc) {
          this.log.error("config: the server sent an unreadable configuration", exc);
        }
      } else if (reply.status === 304) success = true;
      else {
        const message = `config: fetch refused with ${reply.status} ${errorMessage(reply)}`;
        if (isPauseStatus(reply.status)) this.log.error(message);
        else this.log.warn(message);
      }
    } catch (exc) {
      this.log.warn(`config: fetch failed: ${String(exc)}`);
    }
    this.store.put("clock", String(this.clock.offsetMs));
    if (this.closed || !this.device.state.session.inSession) return;
    const campaigns: Array<[string, string]> = (this.manifest?.campaigns ?? [])
      .filter((c) => c.active)
      .map((c) => [c.id, c.name]);
    this.commit(this.device.configFetchFinished(this.clock.nowMs(), success, campaigns));
  }
}

function recordOf(item: JsonObject): EventRecord {
  return new EventRecord(
    item.get("id") as string,
    item.get("name") as string,
    item.get("type") as EventType,
    Number(item.get("timestamp")),
    (item.get("sessionId") as string | null | undefined) ?? null,
    (item.get("properties") as JsonObject | undefined) ?? new Map(),
  );
}
