/**
 * Event records, validation, and constructors for every system event.
 *
 * Validation runs on every `track()`, so the common case (plain strings, numbers, booleans) is
 * checked inline and the error path is only built when there is an error to report.
 */

import { InvalidEvent } from "./errors";
import { PyFloat, isFloat, isInt, numValue, writeJson } from "./json";
import type { Json, JsonObject } from "./json";
import { charLength, pyRepr } from "./text";

export type EventType = "custom" | "system";
/** A property value: text, an int (number or bigint), a float, or a boolean. */
export type Primitive = string | number | bigint | PyFloat | boolean;

export const MAX_NAME_LENGTH = 255;
export const MAX_KEY_LENGTH = 255;
export const MAX_STRING_LENGTH = 1024;
const MIN_INT = -(2n ** 63n);
const MAX_INT = 2n ** 63n - 1n;

export const SDK_INITIALIZED = "SdkInitialized";
export const CONFIG_FETCH_STARTED = "ConfigFetchStarted";
export const CONFIG_FETCH_FINISHED = "ConfigFetchFinished";
export const SESSION_STARTED = "SessionStarted";
export const SESSION_FINISHED = "SessionFinished";
export const CAMPAIGN_SHOWN = "CampaignShown";
export const EVENT_TRIGGERED = "EventTriggered";
export const CUSTOM_PROPERTY_CHANGED = "CustomPropertyChanged";
export const CAMPAIGN_RESOLVED = "CampaignResolved";

/** The complete list of system events; a custom event may not use any of these names. */
export const SYSTEM_EVENT_NAMES: ReadonlySet<string> = new Set([
  SDK_INITIALIZED,
  CONFIG_FETCH_STARTED,
  CONFIG_FETCH_FINISHED,
  SESSION_STARTED,
  SESSION_FINISHED,
  CAMPAIGN_SHOWN,
  EVENT_TRIGGERED,
  CUSTOM_PROPERTY_CHANGED,
  CAMPAIGN_RESOLVED,
]);

/** System events never delivered to the system-events listener (stats only). */
export const NOT_OBSERVABLE_EVENTS: ReadonlySet<string> = new Set([CAMPAIGN_RESOLVED]);

export const RESOLVED_RESULTS = [
  "Completed",
  "Dismissed",
  "Unavailable",
  "SkippedNoPresenter",
  "SkippedNoContinuation",
] as const;
export const UNAVAILABLE_REASONS = ["TimedOut", "PresenterFailed", "PresenterReported"] as const;

/** One recorded event: `{id, name, type, timestamp, sessionId, properties}`. */
export class EventRecord {
  constructor(
    readonly id: string,
    readonly name: string,
    readonly type: EventType,
    readonly timestamp: number,
    readonly sessionId: string | null,
    readonly properties: JsonObject = new Map(),
  ) {}

  /** The wire form, as uploaded and printed by the scenario runner. */
  toJSONText(): string {
    return (
      `{"id":${JSON.stringify(this.id)},"name":${JSON.stringify(this.name)},"type":"${this.type}",` +
      `"timestamp":${this.timestamp},"sessionId":${this.sessionId === null ? "null" : JSON.stringify(this.sessionId)},` +
      `"properties":${writeJson(this.properties)}}`
    );
  }
}

export function validateName(name: unknown, custom = true, fieldPath = "name"): string {
  if (typeof name !== "string") throw new InvalidEvent(fieldPath, "must be a string");
  if (!name) throw new InvalidEvent(fieldPath, "must not be empty");
  if (charLength(name) > MAX_NAME_LENGTH) {
    throw new InvalidEvent(fieldPath, `must be at most ${MAX_NAME_LENGTH} characters`);
  }
  if (custom && SYSTEM_EVENT_NAMES.has(name)) {
    throw new InvalidEvent(fieldPath, `${pyRepr(name)} is a reserved system event name`);
  }
  return name;
}

function inInt64(value: number | bigint): boolean {
  return typeof value === "number" || (value >= MIN_INT && value <= MAX_INT);
}

/** Check one property value and return it in stored form (a `Date` becomes epoch ms). */
export function validateValue(value: unknown, fieldPath: string): Primitive {
  if (typeof value === "string") {
    if (charLength(value) > MAX_STRING_LENGTH) {
      throw new InvalidEvent(fieldPath, `string must be at most ${MAX_STRING_LENGTH} characters`);
    }
    return value;
  }
  if (typeof value === "boolean") return value;
  if (isInt(value)) {
    if (!inInt64(value)) throw new InvalidEvent(fieldPath, "integer must fit in 64 bits");
    return value;
  }
  if (isFloat(value)) {
    if (!Number.isFinite(numValue(value))) {
      throw new InvalidEvent(fieldPath, "number must be finite (no NaN or infinity)");
    }
    return value;
  }
  if (value instanceof Date) {
    const ms = value.getTime();
    if (Number.isNaN(ms)) throw new InvalidEvent(fieldPath, "date must be valid");
    return ms;
  }
  if (value === null || value === undefined) throw new InvalidEvent(fieldPath, "must not be null");
  if (typeof value === "object") {
    throw new InvalidEvent(fieldPath, "must be a flat value (nested maps and lists are not allowed)");
  }
  throw new InvalidEvent(fieldPath, `must be a string, number, boolean or Date, not ${typeof value}`);
}

export function validateKey(key: unknown, fieldPath: string): string {
  if (typeof key !== "string") throw new InvalidEvent(fieldPath, "key must be a string");
  if (!key) throw new InvalidEvent(fieldPath, "key must not be empty");
  if (charLength(key) > MAX_KEY_LENGTH) {
    throw new InvalidEvent(fieldPath, `key must be at most ${MAX_KEY_LENGTH} characters`);
  }
  return key;
}

/** Entries of a property map given as a `Map` (the core's form) or a plain object (an app's). */
export function entriesOf(properties: unknown): Array<[unknown, unknown]> | null {
  if (properties instanceof Map) return [...properties.entries()];
  if (properties !== null && typeof properties === "object" && !Array.isArray(properties)) {
    if (properties instanceof Date || properties instanceof PyFloat) return null;
    return Object.entries(properties);
  }
  return null;
}

/** Check a flat property map and return a fresh map in stored form. */
export function validateProperties(properties: unknown, fieldPath = "properties"): JsonObject {
  if (properties === null || properties === undefined) return new Map();
  const entries = entriesOf(properties);
  if (entries === null) throw new InvalidEvent(fieldPath, "must be a map of property names to values");
  const out: JsonObject = new Map();
  for (const [key, value] of entries) {
    // The common case checked inline; the field path is only built for an error report.
    if (typeof key === "string" && key.length > 0 && key.length <= MAX_KEY_LENGTH && plainValue(value)) {
      out.set(key, value as Json);
      continue;
    }
    const path = typeof key === "string" ? `${fieldPath}[${pyRepr(key)}]` : fieldPath;
    out.set(validateKey(key, path), validateValue(value, path) as Json);
  }
  return out;
}

function plainValue(value: unknown): boolean {
  switch (typeof value) {
    case "string":
      return value.length <= MAX_STRING_LENGTH;
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value);
    default:
      return false;
  }
}

export function validateCustomEvent(name: unknown, properties: unknown): [string, JsonObject] {
  return [validateName(name), validateProperties(properties)];
}

// --- system event payloads: each returns [name, properties] --------------------------------------

export type SystemEvent = [string, JsonObject];

export function sdkInitialized(): SystemEvent {
  return [SDK_INITIALIZED, new Map()];
}

export function configFetchStarted(): SystemEvent {
  return [CONFIG_FETCH_STARTED, new Map()];
}

/** `campaigns` is the list of [id, name] pairs of the configuration now in force. */
export function configFetchFinished(success: boolean, campaigns: Array<[string, string]>): SystemEvent {
  return [
    CONFIG_FETCH_FINISHED,
    new Map<string, Json>([
      ["campaignCount", campaigns.length],
      ["success", success],
      [
        "campaigns",
        campaigns.map(
          ([id, name]) =>
            new Map<string, Json>([
              ["id", id],
              ["name", name],
            ]),
        ),
      ],
    ]),
  ];
}

export function sessionStarted(kind: "cold" | "warm"): SystemEvent {
  return [SESSION_STARTED, new Map([["type", kind]])];
}

export function sessionFinished(): SystemEvent {
  return [SESSION_FINISHED, new Map()];
}

export function campaignShown(source: string, campaignId: string): SystemEvent {
  return [
    CAMPAIGN_SHOWN,
    new Map([
      ["source", source],
      ["campaignId", campaignId],
    ]),
  ];
}

/** Mirrors a `track()` call; `properties` is the exact map passed to track. */
export function eventTriggered(sourceEvent: string, properties: JsonObject): SystemEvent {
  return [
    EVENT_TRIGGERED,
    new Map<string, Json>([
      ["sourceEvent", sourceEvent],
      ["properties", new Map(properties)],
    ]),
  ];
}

/** Marks an absent `oldValue`/`newValue` of a property change. */
export const ABSENT: unique symbol = Symbol("absent");

/** `oldValue` is absent on a first set, `newValue` on remove/clear. */
export function customPropertyChanged(
  key: string,
  oldValue: Json | typeof ABSENT = ABSENT,
  newValue: Json | typeof ABSENT = ABSENT,
): SystemEvent {
  const props: JsonObject = new Map([["key", key]]);
  if (oldValue !== ABSENT) props.set("oldValue", oldValue);
  if (newValue !== ABSENT) props.set("newValue", newValue);
  return [CUSTOM_PROPERTY_CHANGED, props];
}

/** `unavailableReason` is present only, and then required, with result `Unavailable`. */
export function campaignResolved(
  campaignId: string,
  result: string,
  unavailableReason: string | null = null,
): SystemEvent {
  if (!(RESOLVED_RESULTS as readonly string[]).includes(result)) {
    throw new InvalidEvent("result", `must be one of ${RESOLVED_RESULTS.join(", ")}`);
  }
  const props: JsonObject = new Map([
    ["campaignId", campaignId],
    ["result", result],
  ]);
  if (result === "Unavailable") {
    if (!(UNAVAILABLE_REASONS as readonly (string | null)[]).includes(unavailableReason)) {
      throw new InvalidEvent("unavailableReason", `must be one of ${UNAVAILABLE_REASONS.join(", ")}`);
    }
    props.set("unavailableReason", unavailableReason);
  } else if (unavailableReason !== null) {
    throw new InvalidEvent("unavailableReason", "is allowed only with result 'Unavailable'");
  }
  return [CAMPAIGN_RESOLVED, props];
}
