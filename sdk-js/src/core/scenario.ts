/**
 * The scenario format of the scenario runner: parsing and validation, rule for rule as the
 * Python SDK's `tidings simulate` reads it, so a malformed scenario gets the same message from
 * both runners. A scenario is rejected as a whole, with the path of the first bad field, before
 * anything runs.
 */

import { InvalidScenario } from "./errors";
import type { InvalidEvent } from "./errors";
import { RESOLVED_RESULTS, UNAVAILABLE_REASONS } from "./events";
import { PyFloat, isInt, isNum, numValue } from "./json";
import type { Json, JsonObject } from "./json";
import type { DeviceProfile } from "./profile";
import { roundHalfEven } from "./text";
import { parseInstant, parseOffsetText } from "./timeparse";

export const STEP_KINDS = [
  "launch",
  "track",
  "set_property",
  "set_properties",
  "remove_property",
  "clear_properties",
  "set_user_id",
  "background",
  "foreground",
  "resolve",
  "terminate",
];

const DEVICE_STRINGS: Array<[string, keyof DeviceProfile]> = [
  ["deviceId", "deviceId"],
  ["platform", "platform"],
  ["osVersion", "osVersion"],
  ["appVersion", "appVersion"],
  ["appInstallVersion", "appInstallVersion"],
  ["country", "country"],
  ["timezone", "timezone"],
  ["application", "application"],
];
export const DEFAULT_DEVICE_ID = "simulated-device";

/** One scripted step: what to do, at which epoch ms, with its arguments. */
export interface Step {
  readonly index: number;
  readonly at: number;
  readonly do: string;
  readonly args: JsonObject;
}

export function stepPath(step: Step): string {
  return `steps[${step.index}]`;
}

export interface Scenario {
  readonly device: DeviceProfile;
  readonly steps: readonly Step[];
  readonly campaigns: readonly JsonObject[];
  readonly project: JsonObject;
  readonly cohorts: ReadonlySet<string>;
  readonly sessionTimeoutMs: number;
}

function fail(path: string, reason: string): never {
  throw new InvalidScenario(path, reason);
}

function object(value: unknown, path: string): JsonObject {
  if (!(value instanceof Map)) fail(path, "must be an object");
  return value as JsonObject;
}

function get(obj: JsonObject, key: string): Json {
  const v = obj.get(key);
  return v === undefined ? null : v;
}

function requireString(args: JsonObject, key: string, path: string, nullable = false): string | null {
  if (!args.has(key)) fail(`${path}.${key}`, "is required");
  const value = get(args, key);
  if (value === null && nullable) return null;
  if (typeof value !== "string" || !value) {
    fail(`${path}.${key}`, "must be a non-empty string" + (nullable ? " or null" : ""));
  }
  return value;
}

export function parseDevice(raw: unknown): DeviceProfile {
  const obj = object(raw, "device");
  const values: Record<string, unknown> = {};
  for (const [key, attr] of DEVICE_STRINGS) {
    const v = get(obj, key);
    if (v !== null) {
      if (typeof v !== "string") fail(`device.${key}`, "must be a string");
      values[attr] = v;
    }
  }
  if (typeof values["timezone"] === "string") checkTimezoneName(values["timezone"]);
  const install = get(obj, "installTime");
  if (install !== null) {
    if (typeof install === "string") {
      const ms = parseInstant(install);
      if (ms === null) fail("device.installTime", "must be an ISO-8601 instant or epoch ms");
      values["installTime"] = ms;
    } else if (isInt(install)) values["installTime"] = install;
    else fail("device.installTime", "must be an ISO-8601 instant or epoch ms");
  }
  if (values["deviceId"] === undefined) values["deviceId"] = DEFAULT_DEVICE_ID;
  return values as unknown as DeviceProfile;
}

function checkTimezoneName(name: string): void {
  // Shape check only: whether the zone exists is decided where zone data is read.
  if (!name || name.length > 64 || name.startsWith("/") || name.includes("..")) {
    fail("device.timezone", "must be an IANA time zone name such as Europe/Warsaw");
  }
}

function parseStep(raw: unknown, index: number, previousAt: number | null): Step {
  const path = `steps[${index}]`;
  const obj = object(raw, path);
  const doValue = get(obj, "do");
  if (typeof doValue !== "string" || !STEP_KINDS.includes(doValue)) {
    fail(`${path}.do`, `must be one of ${STEP_KINDS.join(", ")}`);
  }
  const atRaw = get(obj, "at");
  if (typeof atRaw !== "string") fail(`${path}.at`, "is required: an ISO-8601 instant or an offset like +5s");
  let at: number;
  if (atRaw.startsWith("+")) {
    const offset = parseOffsetText(atRaw);
    if (offset === null) fail(`${path}.at`, "offset must look like +<n>ms|s|m|h|d");
    if (previousAt === null) fail(`${path}.at`, "the first step needs an absolute instant");
    at = previousAt + offset;
  } else {
    const instant = parseInstant(atRaw);
    if (instant === null) fail(`${path}.at`, "must be an ISO-8601 instant with a zone (e.g. ...Z)");
    at = instant;
  }
  if (previousAt !== null && at < previousAt) fail(`${path}.at`, "time may not go backwards");
  checkArgs(doValue, obj, path);
  return { index, at, do: doValue, args: obj };
}

/** Shape checks that need no device state; value rules are checked when the step runs. */
function checkArgs(doValue: string, obj: JsonObject, path: string): void {
  if (doValue === "track") {
    requireString(obj, "name", path);
    if (get(obj, "properties") !== null) object(obj.get("properties"), `${path}.properties`);
  } else if (doValue === "set_property" || doValue === "remove_property") {
    requireString(obj, "key", path);
    if (doValue === "set_property" && !obj.has("value")) fail(`${path}.value`, "is required");
  } else if (doValue === "set_properties") {
    object(get(obj, "properties"), `${path}.properties`);
  } else if (doValue === "set_user_id") {
    requireString(obj, "userId", path, true);
  } else if (doValue === "resolve") {
    requireString(obj, "campaignId", path);
    const result = get(obj, "result");
    if (typeof result !== "string" || !(RESOLVED_RESULTS as readonly string[]).includes(result)) {
      fail(`${path}.result`, `must be one of ${RESOLVED_RESULTS.join(", ")}`);
    }
    const reason = get(obj, "unavailableReason");
    if (result === "Unavailable" && !(UNAVAILABLE_REASONS as readonly Json[]).includes(reason)) {
      fail(`${path}.unavailableReason`, `must be one of ${UNAVAILABLE_REASONS.join(", ")}`);
    }
    if (result !== "Unavailable" && reason !== null) {
      fail(`${path}.unavailableReason`, "is allowed only with result Unavailable");
    }
  }
}

/** Python's `round(value * 1000)` of a number of seconds. */
export function secondsToMs(value: number | bigint | PyFloat): number {
  const v = numValue(value);
  if (typeof v === "bigint") return Number(v * 1000n);
  if (Number.isSafeInteger(v) && !(value instanceof PyFloat)) return v * 1000;
  return roundHalfEven(v * 1000);
}

function orEmpty(value: Json): Json {
  return value === null ? new Map() : value;
}

/** Validate a scenario document and return it parsed; throws `InvalidScenario`. */
export function parseScenario(raw: unknown): Scenario {
  const obj = object(raw, "");
  const campaigns = obj.has("campaigns") ? get(obj, "campaigns") : [];
  if (!Array.isArray(campaigns)) fail("campaigns", "must be a list of campaign objects");
  campaigns.forEach((c, i) => object(c, `campaigns[${i}]`));
  const project = object(orEmpty(get(obj, "project")), "project");
  const device = parseDevice(orEmpty(get(obj, "device")));
  const cohortsRaw = obj.has("cohorts") ? get(obj, "cohorts") : [];
  if (!Array.isArray(cohortsRaw)) fail("cohorts", "must be a list of cohort ids");
  cohortsRaw.forEach((c, i) => {
    if (typeof c !== "string" || !c) fail(`cohorts[${i}]`, "must be a non-empty string");
  });
  const timeout = obj.has("sessionTimeoutSeconds") ? get(obj, "sessionTimeoutSeconds") : 60;
  if (typeof timeout === "boolean" || !isNum(timeout) || numValue(timeout) < 0) {
    fail("sessionTimeoutSeconds", "must be a number >= 0");
  }
  const stepsRaw = get(obj, "steps");
  if (!Array.isArray(stepsRaw) || !stepsRaw.length) fail("steps", "must be a non-empty list of steps");
  const steps: Step[] = [];
  let previous: number | null = null;
  stepsRaw.forEach((rawStep, i) => {
    const step = parseStep(rawStep, i, previous);
    previous = step.at;
    steps.push(step);
  });
  if ((steps[0] as Step).do !== "launch") fail("steps[0].do", "the first step must be launch");
  return {
    device,
    steps,
    campaigns: campaigns as JsonObject[],
    project,
    cohorts: new Set(cohortsRaw as string[]),
    sessionTimeoutMs: secondsToMs(timeout),
  };
}

/** Re-anchor an event validation error at the step that caused it. */
export function stepError(step: Step, error: InvalidEvent): InvalidScenario {
  const fieldPath = error.field ? `${stepPath(step)}.${error.field}` : stepPath(step);
  return new InvalidScenario(fieldPath, error.reason);
}
