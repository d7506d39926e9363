/**
 * Data-set snapshots (`@device`, `@user`, `@custom`, `@session`, ...) computed from state: the
 * namespaces targeting reads and what `getDataSetSnapshot` returns, as plain objects.
 */

import type { EngineState } from "./campaigns/state";
import { InvalidInput } from "./errors";
import { toPlain } from "./json";
import type { Json } from "./json";
import type { DeviceProfile } from "./profile";
import type { SessionState } from "./sessions";

export const DATA_SET_KINDS = ["@device", "@user", "@custom", "@session", "@triggeredEvent", "@events"];

/** `@device`: the device attributes plus the synchronised time now. */
export function deviceSnapshot(profile: DeviceProfile, nowMs: number): Record<string, unknown> {
  return {
    deviceId: profile.deviceId,
    platform: profile.platform ?? null,
    osVersion: profile.osVersion ?? null,
    appVersion: profile.appVersion ?? null,
    appInstallVersion: profile.appInstallVersion ?? null,
    country: profile.country ?? null,
    timezone: profile.timezone ?? null,
    installTime: profile.installTime ?? null,
    serverTime: nowMs,
  };
}

export function customSnapshot(properties: ReadonlyMap<string, Json>): Record<string, unknown> {
  return toPlain(properties) as Record<string, unknown>;
}

/** `@session`: counter, id, start, duration so far and events recorded in the session. */
export function sessionSnapshot(state: SessionState, nowMs: number): Record<string, unknown> {
  const started = state.startedAt;
  return {
    counter: state.counter,
    id: state.sessionId,
    startedAt: started,
    duration: started !== null ? Math.max(0, nowMs - started) : 0,
    eventCount: state.eventCount,
  };
}

export function checkKind(kind: unknown): string {
  if (typeof kind !== "string" || !DATA_SET_KINDS.includes(kind)) {
    throw new InvalidInput("kind", `must be one of ${DATA_SET_KINDS.join(", ")}`);
  }
  return kind;
}

function eventType(value: unknown, fieldPath: string): string {
  if (value !== "custom" && value !== "system") throw new InvalidInput(fieldPath, "must be custom or system");
  return value;
}

function params(value: unknown, fieldPath: string): unknown[] {
  if (value === null || value === undefined) return [];
  if (!Array.isArray(value) || !value.every((p) => p instanceof Map)) {
    throw new InvalidInput(fieldPath, "must be a list of {name, value}");
  }
  return value;
}

/** `@triggeredEvent`: how many recorded events match, over the device's life or a session. */
export function triggeredEventSnapshot(
  engine: EngineState,
  eventName: unknown,
  opts: { params?: unknown; countStrategy?: unknown; eventType?: unknown; sessionId?: string | null },
): Record<string, unknown> {
  if (typeof eventName !== "string" || !eventName) throw new InvalidInput("eventName", "is required (a non-empty string)");
  const strategy = opts.countStrategy ?? "global";
  if (strategy !== "global" && strategy !== "session") {
    throw new InvalidInput("countStrategy", "must be global or session");
  }
  const kind = eventType(opts.eventType ?? "custom", "type");
  const plist = params(opts.params, "params");
  if (strategy === "session") {
    return { count: engine.sessionEventCount(eventName, kind, plist, opts.sessionId ?? null) };
  }
  const aggregate = engine.eventAggregate(eventName, kind, plist);
  return { count: aggregate === null ? 0 : aggregate[0] };
}

/** `@events`: `{name: {count, first, last}}` for each `{name, type, params}` asked. */
export function eventsSnapshot(engine: EngineState, queries: unknown): Record<string, unknown> {
  if (!Array.isArray(queries)) throw new InvalidInput("events", "must be a list of {name, type, params}");
  const out: Record<string, unknown> = {};
  queries.forEach((query, i) => {
    const path = `events[${i}]`;
    if (!(query instanceof Map)) throw new InvalidInput(path, "must be an object {name, type, params}");
    const name = query.get("name");
    if (typeof name !== "string" || !name) throw new InvalidInput(`${path}.name`, "is required (a non-empty string)");
    const kind = eventType(query.get("type") ?? "custom", `${path}.type`);
    const aggregate = engine.eventAggregate(name, kind, params(query.get("params"), `${path}.params`));
    const [count, first, last] = aggregate ?? [0, null, null];
    Object.defineProperty(out, name, { value: { count, first, last }, enumerable: true, writable: true, configurable: true });
  });
  return out;
}
