/**
 * The device: sessions, custom properties, identity and event recording in one pure object.
 *
 * The SDK and the scenario runner both drive this class; neither re-implements the ordering
 * rules of the event contract. Every call takes `nowMs` and returns the outputs it caused, in
 * order: each recorded event, the campaign decisions it caused (rank order), then the
 * `CampaignShown` the winning decision recorded.
 */

import { CampaignEngine, Decision, EngineState } from "./campaigns/engine";
import type { EvaluationContext } from "./campaigns/context";
import * as ds from "./datasets";
import { InvalidEvent, TidingsError } from "./errors";
import * as ev from "./events";
import { EventRecord } from "./events";
import type { EventType } from "./events";
import { IdFactory } from "./ids";
import type { Json, JsonObject } from "./json";
import type { DeviceProfile } from "./profile";
import { CustomProperties } from "./properties";
import type { PropertyChange } from "./properties";
import { DEFAULT_SESSION_TIMEOUT_MS, SessionMachine, SessionState } from "./sessions";
import type { SessionChange } from "./sessions";

export const DEFAULT_CONFIG_REFRESH_MS = 3_600_000;

/** An event was recorded before `launch` (or after `terminate`). */
export class NoSession extends TidingsError {
  override name = "NoSession";
}

/** What a device persists: sessions, properties, identity, and when config was last fetched. */
export class DeviceState {
  session = new SessionState();
  properties: Map<string, Json> = new Map();
  userId: string | null = null;
  lastConfigFetch: number | null = null;
  engine = new EngineState();
}

export type Output = EventRecord | Decision;

const NO_CAMPAIGNS = new CampaignEngine([]);

export interface DeviceOptions {
  state?: DeviceState;
  sessionTimeoutMs?: number;
  configRefreshMs?: number;
  campaigns?: CampaignEngine;
  cohorts?: ReadonlySet<string>;
}

/** One device's event-recording logic, independent of any I/O. */
export class Device {
  readonly state: DeviceState;
  readonly sessions: SessionMachine;
  private readonly properties: CustomProperties;
  configRefreshMs: number;
  campaigns: CampaignEngine;
  cohorts: ReadonlySet<string>;
  /** When false, a RateReview campaign that fires resolves at once as SkippedNoPresenter. */
  hasRateReviewHandler = false;

  constructor(
    readonly profile: DeviceProfile,
    readonly ids: IdFactory,
    options: DeviceOptions = {},
  ) {
    this.state = options.state ?? new DeviceState();
    this.sessions = new SessionMachine(this.state.session, options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS);
    this.properties = new CustomProperties(this.state.properties);
    this.configRefreshMs = options.configRefreshMs ?? DEFAULT_CONFIG_REFRESH_MS;
    this.campaigns = options.campaigns ?? NO_CAMPAIGNS;
    this.cohorts = options.cohorts ?? new Set();
  }

  // --- lifecycle --------------------------------------------------------------------------------

  /** Process start: finish a crashed session, start a cold one, report SDK set-up. */
  launch(nowMs: number): Output[] {
    const out = this.sessionChanges(this.sessions.launch(nowMs, (t) => this.ids.newId(t)));
    out.push(...this.record(...ev.sdkInitialized(), nowMs));
    return out;
  }

  background(nowMs: number): Output[] {
    return this.sessionChanges(this.sessions.background(nowMs));
  }

  foreground(nowMs: number): Output[] {
    return this.sessionChanges(this.sessions.foreground(nowMs, (t) => this.ids.newId(t)));
  }

  terminate(nowMs: number): Output[] {
    return this.sessionChanges(this.sessions.terminate(nowMs));
  }

  get inForeground(): boolean {
    return this.state.session.foreground;
  }

  /** True when the cached configuration is older than the refresh interval (or absent). */
  configIsStale(nowMs: number): boolean {
    const last = this.state.lastConfigFetch;
    return last === null || nowMs - last >= this.configRefreshMs;
  }

  configFetchStarted(nowMs: number): Output[] {
    return this.record(...ev.configFetchStarted(), nowMs);
  }

  /** Report a finished fetch; the caller has already applied its result. */
  configFetchFinished(nowMs: number, success: boolean, campaigns: Array<[string, string]>): Output[] {
    if (success) this.state.lastConfigFetch = nowMs;
    return this.record(...ev.configFetchFinished(success, campaigns), nowMs);
  }

  // --- app calls --------------------------------------------------------------------------------

  /** `track(name, properties)`: the event, then `EventTriggered` mirroring it. */
  track(name: unknown, properties: unknown, nowMs: number): Output[] {
    const [checkedName, checked] = ev.validateCustomEvent(name, properties);
    this.requireSession();
    const event = this.append(checkedName, "custom", checked, nowMs);
    const [mirrorName, mirrorProps] = ev.eventTriggered(checkedName, checked);
    const mirror = this.append(mirrorName, "system", mirrorProps, nowMs);
    // Nothing the evaluation of `event` records changes the context: one serves both.
    const ctx = this.context();
    return [event, mirror, ...this.evaluate(event, ctx), ...this.evaluate(mirror, ctx)];
  }

  setUserId(userId: unknown): void {
    if (userId !== null && (typeof userId !== "string" || !userId)) {
      throw new InvalidEvent("userId", "must be a non-empty string or null");
    }
    this.state.userId = userId;
  }

  get customProperties(): ReadonlyMap<string, Json> {
    return this.properties.values;
  }

  setCustomProperty(key: unknown, value: unknown, nowMs: number): Output[] {
    this.requireSession();
    return this.propertyChanges(this.properties.set(key, value), nowMs);
  }

  setCustomProperties(mapping: unknown, nowMs: number): Output[] {
    this.requireSession();
    return this.propertyChanges(this.properties.setMany(mapping), nowMs);
  }

  removeCustomProperty(key: unknown, nowMs: number): Output[] {
    this.requireSession();
    return this.propertyChanges(this.properties.remove(key), nowMs);
  }

  clearCustomProperties(nowMs: number): Output[] {
    this.requireSession();
    return this.propertyChanges(this.properties.clear(), nowMs);
  }

  campaignResolved(campaignId: string, result: string, unavailableReason: string | null, nowMs: number): Output[] {
    return this.record(...ev.campaignResolved(campaignId, result, unavailableReason), nowMs);
  }

  // --- recording --------------------------------------------------------------------------------

  /** Record one system event in the current session. */
  record(name: string, properties: JsonObject, nowMs: number): Output[] {
    this.requireSession();
    const rec = this.append(name, "system", properties, nowMs);
    return [rec, ...this.evaluate(rec)];
  }

  private append(name: string, kind: EventType, properties: JsonObject, nowMs: number): EventRecord {
    const rec = new EventRecord(
      this.ids.newId(nowMs),
      name,
      kind,
      nowMs,
      this.state.session.sessionId,
      properties,
    );
    this.sessions.record(nowMs);
    return rec;
  }

  private requireSession(): void {
    if (!this.state.session.inSession) throw new NoSession("no session is running: launch the app first");
  }

  private sessionChanges(changes: SessionChange[]): Output[] {
    const out: Output[] = [];
    for (const change of changes) {
      if (change.kind === "end") {
        const finished = new EventRecord(
          this.ids.newId(change.at),
          ev.SESSION_FINISHED,
          "system",
          change.at,
          change.sessionId,
          new Map(),
        );
        // The session it ends is over and had no surface left: it is counted, never shown.
        this.process(finished, false);
        out.push(finished);
      } else {
        const [name, props] = ev.sessionStarted(change.type);
        const started = this.append(name, "system", props, change.at);
        out.push(started, ...this.evaluate(started));
      }
    }
    return out;
  }

  // --- data sets --------------------------------------------------------------------------------

  /** `getDataSetSnapshot`: `@device`, `@user`, `@custom`, `@session`, `@triggeredEvent`, `@events`. */
  snapshot(kind: unknown, nowMs: number, params: Record<string, unknown> = {}): Record<string, unknown> {
    const k = ds.checkKind(kind);
    const st = this.state;
    if (k === "@device") return ds.deviceSnapshot(this.profile, nowMs);
    if (k === "@user") return { userId: st.userId };
    if (k === "@custom") return ds.customSnapshot(this.properties.values);
    if (k === "@session") return ds.sessionSnapshot(st.session, nowMs);
    if (k === "@triggeredEvent") {
      return ds.triggeredEventSnapshot(st.engine, params["eventName"], {
        params: params["params"],
        countStrategy: params["countStrategy"] ?? "global",
        eventType: params["type"] ?? "custom",
        sessionId: st.session.sessionId,
      });
    }
    return ds.eventsSnapshot(st.engine, params["events"] ?? []);
  }

  // --- campaigns --------------------------------------------------------------------------------

  /** What targeting sees right now. */
  context(foreground?: boolean): EvaluationContext {
    const st = this.state;
    return {
      profile: this.profile,
      userId: st.userId,
      customProperties: this.properties.values,
      sessionId: st.session.sessionId,
      sessionCounter: st.session.counter,
      cohorts: this.cohorts,
      foreground: foreground === undefined ? st.session.foreground : foreground,
    };
  }

  private process(event: EventRecord, foreground?: boolean): Decision[] {
    return this.campaigns.process(event, this.context(foreground), this.state.engine);
  }

  /** Judge a recorded event; record `CampaignShown` (and what follows) for the winner. */
  private evaluate(event: EventRecord, ctx?: EvaluationContext): Output[] {
    const decisions =
      ctx === undefined ? this.process(event) : this.campaigns.process(event, ctx, this.state.engine);
    const out: Output[] = [...decisions];
    for (const decision of decisions) {
      if (decision.status !== "SUCCESS") continue;
      const [name, props] = ev.campaignShown(event.name, decision.campaignId);
      const shown = this.append(name, "system", props, event.timestamp);
      this.process(shown);
      out.push(shown);
      if (decision.campaign.type === "RateReview" && !this.hasRateReviewHandler) {
        out.push(...this.campaignResolved(decision.campaignId, "SkippedNoPresenter", null, event.timestamp));
      }
    }
    return out;
  }

  private propertyChanges(changes: PropertyChange[], nowMs: number): Output[] {
    const out: Output[] = [];
    for (const c of changes) out.push(...this.record(...ev.customPropertyChanged(c.key, c.old, c.new), nowMs));
    return out;
  }
}
