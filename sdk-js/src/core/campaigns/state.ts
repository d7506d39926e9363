/**
 * Everything the engine remembers about one device, compact and serialisable.
 *
 * - History: per event signature a count, the first and last timestamps and the count within
 *   the current session; no event list.
 * - Shows: per campaign the lifetime and current-session show counts and, for rolling-window
 *   limits, the timestamps of the shows still inside the window.
 * - Project: shows across all campaigns in the current session and on the current local day.
 */

import { InvalidInput } from "../errors";
import { parseDataSetParams } from "./trigger";

export const FORMAT_VERSION = 1;

/** `[count, firstMs, lastMs, sessionId, sessionCount]` */
export type HistoryRecord = [number, number, number, string | null, number];
/** `[lifetime, sessionId, sessionCount, [[ts, sessionId], ...]]` */
export type ShowRecord = [number, string | null, number, Array<[number, string | null]>];
/** `[sessionId, shows this session, local day, shows that day]` */
export type ProjectRecord = [string | null, number, number | null, number];

export class EngineState {
  history = new Map<string, HistoryRecord>();
  shows = new Map<string, ShowRecord>();
  project: ProjectRecord = [null, 0, null, 0];
  /** Session of the last processed event. */
  sessionId: string | null = null;

  record(signature: string, nowMs: number, sessionId: string | null): void {
    const rec = this.history.get(signature);
    if (rec === undefined) {
      this.history.set(signature, [1, nowMs, nowMs, sessionId, 1]);
      return;
    }
    rec[0] += 1;
    rec[2] = nowMs;
    if (rec[3] === sessionId) rec[4] += 1;
    else {
      rec[3] = sessionId;
      rec[4] = 1;
    }
  }

  countOf(signature: string): number {
    const rec = this.history.get(signature);
    return rec === undefined ? 0 : rec[0];
  }

  firstLastOf(signature: string): [number, number] | null {
    const rec = this.history.get(signature);
    return rec === undefined ? null : [rec[1], rec[2]];
  }

  sessionCountOf(signature: string, sessionId: string | null): number {
    const rec = this.history.get(signature);
    return rec !== undefined && rec[3] === sessionId ? rec[4] : 0;
  }

  /** `[count, firstMs, lastMs]` of matching events, `null` if none was recorded. */
  eventAggregate(name: string, type: string, params: unknown = []): [number, number, number] | null {
    const rec = this.history.get(parseDataSetParams(name, type, params).signature);
    return rec === undefined ? null : [rec[0], rec[1], rec[2]];
  }

  /** Matching events within the current session (`@triggeredEvent`, `session` strategy). */
  sessionEventCount(name: string, type: string, params: unknown = [], sessionId: string | null = null): number {
    const signature = parseDataSetParams(name, type, params).signature;
    return this.sessionCountOf(signature, sessionId ? sessionId : this.sessionId);
  }

  recordShow(campaignId: string, nowMs: number, sessionId: string | null, windowMs: number | null): void {
    let rec = this.shows.get(campaignId);
    if (rec === undefined) {
      rec = [0, sessionId, 0, []];
      this.shows.set(campaignId, rec);
    }
    rec[0] += 1;
    if (rec[1] === sessionId) rec[2] += 1;
    else {
      rec[1] = sessionId;
      rec[2] = 1;
    }
    if (windowMs !== null) {
      const cutoff = nowMs - windowMs;
      rec[3] = rec[3].filter((item) => item[0] > cutoff);
      rec[3].push([nowMs, sessionId]);
    } else if (rec[3].length) rec[3] = [];
  }

  recordProjectShow(sessionId: string | null, day: number): void {
    const p = this.project;
    if (p[0] === sessionId) p[1] += 1;
    else {
      p[0] = sessionId;
      p[1] = 1;
    }
    if (p[2] === day) p[3] += 1;
    else {
      p[2] = day;
      p[3] = 1;
    }
  }

  toJSON(): Record<string, unknown> {
    return {
      version: FORMAT_VERSION,
      sessionId: this.sessionId,
      history: [...this.history.entries()],
      shows: [...this.shows.entries()],
      project: this.project,
    };
  }

  static fromJSON(data: unknown): EngineState {
    const d = data as Record<string, unknown> | null;
    if (d === null || typeof d !== "object" || d["version"] !== FORMAT_VERSION) {
      throw new InvalidInput("version", `unsupported engine state (want ${FORMAT_VERSION})`);
    }
    const state = new EngineState();
    try {
      state.sessionId = (d["sessionId"] as string | null) ?? null;
      state.history = new Map(d["history"] as Array<[string, HistoryRecord]>);
      state.shows = new Map(d["shows"] as Array<[string, ShowRecord]>);
      state.project = [...(d["project"] as ProjectRecord)] as ProjectRecord;
    } catch (exc) {
      throw new InvalidInput("state", `malformed engine state: ${String(exc)}`);
    }
    return state;
  }
}
