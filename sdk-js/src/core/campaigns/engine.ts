/**
 * The decision engine: one recorded event in, the campaign decisions for it out.
 *
 * Campaigns are indexed by trigger `(name, type)` when the engine is built, so an event that no
 * trigger names costs one map lookup whatever the number of campaigns. Candidates for one key
 * are kept in rank order, so decisions come out in rank order and the first eligible one wins.
 */

import type { JsonObject } from "../json";
import { inHoldout, pickTreatment } from "./buckets";
import { userKey } from "./context";
import type { EvaluationContext } from "./context";
import { Limit, ProjectSettings } from "./limits";
import { Campaign, compareRank } from "./model";
import { localDay, localMinute, zone } from "./schedule";
import { EngineState } from "./state";
import type { ShowRecord } from "./state";
import { historyFilters } from "./targeting";
import { EventFilter, plainSignature } from "./trigger";
import type { Props } from "./trigger";

export type Status =
  | "SUCCESS"
  | "EXPIRED"
  | "HOLDOUT"
  | "QUIET_TIME"
  | "SESSION_CAP"
  | "CAMPAIGN_CAP"
  | "DAILY_CAP"
  | "LOWER_PRIORITY";
export const NO_TREATMENT = "0";

/** Events that are recorded but never evaluated against campaign triggers. */
export const NON_TRIGGERING_EVENTS: ReadonlySet<string> = new Set(["CampaignShown", "CampaignResolved"]);

/** The part of an event record the engine reads. */
export interface EngineEvent {
  readonly id: string;
  readonly name: string;
  readonly type: string;
  readonly timestamp: number;
  readonly sessionId: string | null;
  readonly properties: Props;
}

/** The engine's verdict on one campaign for one triggering event. */
export class Decision {
  constructor(
    readonly campaignId: string,
    readonly status: Status,
    readonly treatmentId: string,
    readonly source: string,
    readonly eventId: string,
    readonly campaign: Campaign,
    readonly content: JsonObject | null,
  ) {}

  toJSON(): Record<string, string> {
    return {
      campaignId: this.campaignId,
      status: this.status,
      treatmentId: this.treatmentId,
      source: this.source,
      eventId: this.eventId,
    };
  }
}

/**
 * Evaluates the active campaigns of one configuration against a device's events. Immutable;
 * holds no per-device data. `watch` adds event filters whose history the state should keep.
 */
export class CampaignEngine {
  readonly campaigns: readonly Campaign[];
  private readonly byTrigger = new Map<string, Campaign[]>();
  private readonly filters = new Map<string, EventFilter[]>();

  constructor(
    campaigns: Iterable<Campaign>,
    readonly project: ProjectSettings = new ProjectSettings(),
    watch: Iterable<EventFilter> = [],
  ) {
    const active = [...campaigns].filter((c) => c.active).sort(compareRank);
    this.campaigns = active;
    const watched: EventFilter[] = [...watch];
    const filters = new Map<string, Map<string, EventFilter>>();
    for (const campaign of active) {
      const key = triggerKey(campaign.trigger.name, campaign.trigger.type);
      let group = this.byTrigger.get(key);
      if (group === undefined) this.byTrigger.set(key, (group = []));
      group.push(campaign);
      watched.push(campaign.trigger);
      watched.push(...historyFilters(campaign.targeting));
    }
    for (const flt of watched) {
      if (!flt.params.length) continue; // the plain signature is recorded for every event anyway
      const key = triggerKey(flt.name, flt.type);
      let group = filters.get(key);
      if (group === undefined) filters.set(key, (group = new Map()));
      if (!group.has(flt.signature)) group.set(flt.signature, flt);
    }
    for (const [key, group] of filters) this.filters.set(key, [...group.values()]);
  }

  /**
   * Record `event` in `state` and return the decisions it causes, in rank order. Call it for
   * every recorded event, in order; the event's `timestamp` is "now".
   */
  process(event: EngineEvent, ctx: EvaluationContext, state: EngineState): Decision[] {
    const { name, type } = event;
    const now = event.timestamp;
    const session = event.sessionId !== null ? event.sessionId : ctx.sessionId;
    state.sessionId = session;
    state.record(plainSignature(name, type), now, session);
    const key = triggerKey(name, type);
    const filters = this.filters.get(key);
    let matched: Set<string> | null = null;
    if (filters !== undefined) {
      matched = new Set();
      for (const flt of filters) {
        if (flt.paramsHold(event.properties)) {
          state.record(flt.signature, now, session);
          matched.add(flt.signature);
        }
      }
    }
    if (!ctx.foreground || NON_TRIGGERING_EVENTS.has(name)) return [];
    const candidates = this.byTrigger.get(key);
    if (candidates === undefined) return [];
    return this.decide(candidates, matched, event, ctx, state, session);
  }

  private decide(
    candidates: readonly Campaign[],
    matched: Set<string> | null,
    event: EngineEvent,
    ctx: EvaluationContext,
    state: EngineState,
    session: string | null,
  ): Decision[] {
    const now = event.timestamp;
    const decisions: Decision[] = [];
    let winner: Campaign | null = null;
    const user = userKey(ctx);
    let day: number | null = null;
    for (const campaign of candidates) {
      const trigger = campaign.trigger;
      const signature = trigger.signature;
      if (trigger.params.length && (matched === null || !matched.has(signature))) continue;
      const repeat = campaign.repeat;
      if (!repeat.isDefault) {
        const rec = state.history.get(signature);
        const lifetime = rec === undefined ? 0 : rec[0];
        const inSession = rec !== undefined && rec[3] === session ? rec[4] : 0;
        if (!repeat.holds(lifetime, inSession, ctx.sessionCounter)) continue;
      }
      if (campaign.targeting.length && !campaign.targeting.every((slot) => slot.holds(ctx, state, now))) continue;
      const schedule = campaign.schedule;
      let status: Status | null = null;
      if (schedule !== null) {
        if (schedule.startMs !== null && now < schedule.startMs) continue;
        if (schedule.endMs !== null && now >= schedule.endMs) status = "EXPIRED";
      }
      if (status === null && campaign.holdoutPercent > 0 && inHoldout(campaign.id, user, campaign.holdoutPercent)) {
        status = "HOLDOUT";
      }
      if (status === null && campaign.quietTime !== null) {
        const tz = zone(ctx.profile.timezone);
        if (tz !== null && campaign.quietTime.contains(localMinute(now, tz))) status = "QUIET_TIME";
      }
      if (status === null && !campaign.limit.isEmpty) {
        status = limitStatus(campaign.limit, state.shows.get(campaign.id) ?? null, now, session);
      }
      if (status === null) {
        if (day === null) day = localDay(now, zone(ctx.profile.timezone));
        status = this.projectStatus(state, session, day);
      }
      if (status === null) {
        if (winner === null) {
          winner = campaign;
          status = "SUCCESS";
        } else status = "LOWER_PRIORITY";
      }
      decisions.push(makeDecision(campaign, status, user, event));
    }
    if (winner !== null) {
      state.recordShow(winner.id, now, session, winner.limit.intervalMs);
      state.recordProjectShow(session, day as number);
    }
    return decisions;
  }

  /** Project frequency capping: shows of every campaign this session and this local day. */
  private projectStatus(state: EngineState, session: string | null, day: number): Status | null {
    const p = state.project;
    const perSession = this.project.perSession;
    if (perSession !== null) {
      const used = p[0] === session ? p[1] : 0;
      if (used >= perSession) return "SESSION_CAP";
    }
    const perDay = this.project.perDay;
    if (perDay !== null) {
      const used = p[2] === day ? p[3] : 0;
      if (used >= perDay) return "DAILY_CAP";
    }
    return null;
  }
}

function triggerKey(name: string, type: string): string {
  return type + "\u0000" + name;
}

/** `SESSION_CAP` / `CAMPAIGN_CAP` when one more show would break the campaign's limits. */
export function limitStatus(
  limit: Limit,
  shows: ShowRecord | null,
  nowMs: number,
  session: string | null,
): Status | null {
  let lifetime = 0;
  let inSession = 0;
  let recent: Array<[number, string | null]> = [];
  if (shows !== null) {
    lifetime = shows[0];
    inSession = shows[1] === session ? shows[2] : 0;
    recent = shows[3];
  }
  const window = limit.intervalMs;
  let inWindow = 0;
  let inWindowSession = 0;
  if (window !== null) {
    const cutoff = nowMs - window;
    for (const [at, sid] of recent) {
      if (at > cutoff) {
        inWindow += 1;
        if (sid === session) inWindowSession += 1;
      }
    }
  }
  if (limit.limit !== null) {
    if (limit.limitType === "session") {
      const used = window === null ? inSession : inWindowSession;
      if (used >= limit.limit) return "SESSION_CAP";
    } else {
      const used = window === null ? lifetime : inWindow;
      if (used >= limit.limit) return "CAMPAIGN_CAP";
    }
  } else if (window !== null && inWindow >= 1) return "CAMPAIGN_CAP";
  if (limit.count !== null && lifetime >= limit.count) return "CAMPAIGN_CAP";
  return null;
}

/** Every decision names the user's treatment (deterministic), whatever its status. */
function makeDecision(campaign: Campaign, status: Status, user: string, event: EngineEvent): Decision {
  let treatmentId = NO_TREATMENT;
  let content = campaign.content;
  if (campaign.treatments.length) {
    const treatment = pickTreatment(campaign.id, user, campaign.treatments);
    if (treatment !== null) {
      treatmentId = treatment.id;
      if (treatment.content !== null) content = treatment.content;
    }
  }
  return new Decision(campaign.id, status, treatmentId, event.name, event.id, campaign, content);
}

export { EngineState };
