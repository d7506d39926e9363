/**
 * Targeting slots (the Who of a campaign). Every item must hold (AND). A missing attribute
 * satisfies only `isNotSet`, `notEqual`, `exclude` and the `moreThanDaysAgoOrNever` mode.
 */

import { PyFloat } from "../json";
import type { Json } from "../json";
import { compareText, pyStrip } from "../text";
import { parseDate, parseInstantOrNaive } from "../timeparse";
import type { EvaluationContext } from "./context";
import * as r from "./reader";
import type { EngineState } from "./state";
import { EventFilter, parseEventFilter, parseScalar } from "./trigger";
import {
  DAY_MS,
  NUMBER_OPS,
  UNIT_MS,
  compare,
  compareInstants,
  convert,
  parseVersion,
  toNumber,
} from "./values";
import type { Op, Scalar, ValueType } from "./values";

export const MAX_EVENT_CONDITIONS = 20;
const VERSION_SLOTS: Record<string, "osVersion" | "appVersion" | "appInstallVersion"> = {
  osVersion: "osVersion",
  appVersion: "appVersion",
  appInstallVersion: "appInstallVersion",
};
const LIST_SLOTS = ["country", "application", "cohort"];
export const SLOT_NAMES = [
  ...Object.keys(VERSION_SLOTS),
  ...LIST_SLOTS,
  "customProperty",
  "installDate",
  "eventCount",
  "eventDate",
];
const PROPERTY_VALUE_TYPES = ["string", "number", "boolean", "datetime"];
const EVENT_DATE_MODES = [
  "moreThanDaysAgo",
  "moreThanDaysAgoOrNever",
  "withinLastDays",
  "beforeDate",
  "afterDate",
];
const RELATIVE_UNITS = ["minutes", "hours", "days"];

type Instant = number | bigint;

/** An absolute instant, or "now minus `relativeMs`". */
export class DateValue {
  constructor(
    readonly absoluteMs: Instant | null,
    readonly relativeMs: number | null,
  ) {}

  resolve(nowMs: number): Instant {
    if (this.absoluteMs !== null) return this.absoluteMs;
    return nowMs - (this.relativeMs ?? 0);
  }
}

export interface Slot {
  holds(ctx: EvaluationContext, state: EngineState, nowMs: number): boolean;
}

class VersionSlot implements Slot {
  constructor(
    readonly attribute: "osVersion" | "appVersion" | "appInstallVersion",
    readonly op: Op,
    readonly value: number[] | null,
  ) {}

  holds(ctx: EvaluationContext): boolean {
    const raw = ctx.profile[this.attribute];
    const device = typeof raw === "string" ? parseVersion(raw) : null;
    return compare(this.op, device, this.value);
  }
}

/** `country` (ISO codes, case-insensitive), `application` and `cohort`. */
class ListSlot implements Slot {
  constructor(
    readonly slot: string,
    readonly include: boolean,
    readonly values: ReadonlySet<string>,
  ) {}

  holds(ctx: EvaluationContext): boolean {
    let member: boolean;
    if (this.slot === "cohort") {
      member = false;
      for (const c of ctx.cohorts) if (this.values.has(c)) member = true;
    } else if (this.slot === "country") {
      const country = ctx.profile.country;
      member = country !== null && country !== undefined && this.values.has(country.toUpperCase());
    } else {
      const app = ctx.profile.application;
      member = app !== null && app !== undefined && this.values.has(app);
    }
    return this.include ? member : !member;
  }
}

class CustomPropertySlot implements Slot {
  constructor(
    readonly key: string,
    readonly op: Op,
    readonly valueType: ValueType,
    readonly value: Scalar | null,
    readonly date: DateValue | null,
  ) {}

  holds(ctx: EvaluationContext, _state: EngineState, nowMs: number): boolean {
    const found = ctx.customProperties.get(this.key);
    const raw = found === undefined ? null : found;
    if (this.valueType === "datetime") {
      const instant = raw === null ? null : readInstant(raw);
      if (this.op === "set" || this.op === "notset") return compare(this.op, raw === null ? null : "", null);
      if (this.date !== null) return compareInstants(this.op, instant, this.date.resolve(nowMs));
      return compareInstants(this.op, instant, this.value as Instant);
    }
    if (this.op === "set" || this.op === "notset") return compare(this.op, raw === null ? null : "", null);
    const left = raw === null ? null : convert(raw, this.valueType);
    return compare(this.op, left, this.value);
  }
}

class InstallDateSlot implements Slot {
  constructor(
    readonly op: Op,
    readonly date: DateValue | null,
  ) {}

  holds(ctx: EvaluationContext, _state: EngineState, nowMs: number): boolean {
    const installed = ctx.profile.installTime ?? null;
    if (this.date === null) return compare(this.op, installed, null);
    return compareInstants(this.op, installed, this.date.resolve(nowMs));
  }
}

export class EventCountSlot implements Slot {
  constructor(
    readonly event: EventFilter,
    readonly op: Op,
    readonly value: number | bigint,
  ) {}

  holds(_ctx: EvaluationContext, state: EngineState): boolean {
    return compare(this.op, state.countOf(this.event.signature), this.value);
  }
}

/** `relativeMs` for the relative modes; `dayStartMs` (UTC midnight) for before/after. */
export class EventDateSlot implements Slot {
  constructor(
    readonly event: EventFilter,
    readonly bound: string,
    readonly mode: string,
    readonly relativeMs: number | null,
    readonly dayStartMs: number | null,
  ) {}

  holds(_ctx: EvaluationContext, state: EngineState, nowMs: number): boolean {
    const firstLast = state.firstLastOf(this.event.signature);
    if (firstLast === null) return this.mode === "moreThanDaysAgoOrNever";
    const at = this.bound === "first" ? firstLast[0] : firstLast[1];
    if (this.mode === "moreThanDaysAgo" || this.mode === "moreThanDaysAgoOrNever") {
      return at < nowMs - (this.relativeMs ?? 0);
    }
    if (this.mode === "withinLastDays") return at >= nowMs - (this.relativeMs ?? 0);
    const day = this.dayStartMs ?? 0;
    if (this.mode === "beforeDate") return at < day;
    return at >= day + DAY_MS;
  }
}

/** Epoch ms from a number, numeric text, or ISO-8601 text (naive means UTC). */
export function readInstant(value: Json): Instant | null {
  const n = toNumber(value);
  if (n !== null || typeof value !== "string") return n instanceof PyFloat ? n.value : n;
  return parseInstantOrNaive(pyStrip(value));
}

function op(item: r.JsonObject, path: string, allowed: string[] = Object.keys(NUMBER_OPS)): Op {
  return NUMBER_OPS[r.enumValue(item, "compareType", path, allowed)] as Op;
}

function parseDateValue(raw: unknown, path: string): DateValue {
  const item = r.obj(raw, path);
  const kind = r.enumValue(item, "type", path, ["absolute", "relative"]);
  if (kind === "absolute") {
    const rawAbs = r.get(item, "absoluteValue");
    const instant = rawAbs === null || typeof rawAbs === "boolean" ? null : readInstant(rawAbs);
    if (instant === null) r.fail(r.join(path, "absoluteValue"), "must be epoch milliseconds or an ISO-8601 date");
    return new DateValue(truncate(instant), null);
  }
  const amount = Number(r.integer(item, "relativeValue", path, { minimum: 0 }));
  const unit = r.enumValue(item, "dimension", path, RELATIVE_UNITS, "days");
  return new DateValue(null, amount * (UNIT_MS[unit] as number));
}

/** Python's `int(x)` of an instant: floats are cut towards zero. */
function truncate(x: Instant): Instant {
  return typeof x === "bigint" ? x : Math.trunc(x);
}

function versionSlot(name: string, item: r.JsonObject, path: string): VersionSlot {
  const o = op(item, path);
  const raw = r.get(item, "value");
  const attribute = VERSION_SLOTS[name] as VersionSlot["attribute"];
  if (raw === null) {
    if (o !== "set" && o !== "notset") r.fail(r.join(path, "value"), "is required");
    return new VersionSlot(attribute, o, null);
  }
  const version = typeof raw === "string" ? parseVersion(raw) : null;
  if (version === null) r.fail(r.join(path, "value"), "must be a dotted version such as 1.2.3");
  return new VersionSlot(attribute, o, version);
}

function listSlot(name: string, item: r.JsonObject, path: string): ListSlot {
  const include = r.enumValue(item, "type", path, ["include", "exclude"]) === "include";
  const valuesPath = r.join(path, "values");
  const values = new Set<string>();
  r.arr(r.get(item, "values"), valuesPath).forEach((value, i) => {
    if (typeof value !== "string" || !value) r.fail(`${valuesPath}[${i}]`, "must be a non-empty string");
    values.add(name === "country" ? value.toUpperCase() : value);
  });
  return new ListSlot(name, include, values);
}

function customPropertySlot(item: r.JsonObject, path: string): CustomPropertySlot {
  const key = r.string(item, "key", path);
  const o = op(item, path);
  const valueType = r.enumValue(item, "valueType", path, PROPERTY_VALUE_TYPES, "string") as ValueType;
  if (o === "set" || o === "notset") return new CustomPropertySlot(key, o, valueType, null, null);
  if (valueType === "datetime") {
    const rawDate = r.get(item, "dateValue");
    if (rawDate !== null) {
      return new CustomPropertySlot(key, o, valueType, null, parseDateValue(rawDate, r.join(path, "dateValue")));
    }
    const raw = r.get(item, "value");
    const instant = raw === null || typeof raw === "boolean" ? null : readInstant(raw);
    if (instant === null) r.fail(r.join(path, "value"), "must be epoch milliseconds or an ISO-8601 date");
    return new CustomPropertySlot(key, o, valueType, instant, null);
  }
  const value = parseScalar(r.get(item, "value"), valueType, r.join(path, "value"));
  return new CustomPropertySlot(key, o, valueType, value, null);
}

function installDateSlot(item: r.JsonObject, path: string): InstallDateSlot {
  const o = op(item, path);
  const raw = r.get(item, "value");
  if (raw === null) {
    if (o !== "set" && o !== "notset") r.fail(r.join(path, "value"), "is required");
    return new InstallDateSlot(o, null);
  }
  return new InstallDateSlot(o, parseDateValue(raw, r.join(path, "value")));
}

function eventCountSlot(item: r.JsonObject, path: string): EventCountSlot {
  const event = parseEventFilter(r.get(item, "event"), r.join(path, "event"));
  const allowed = Object.keys(NUMBER_OPS).filter((k) => k !== "isSet" && k !== "isNotSet");
  const o = op(item, path, allowed);
  const value = r.integer(item, "value", path, { minimum: 0 });
  return new EventCountSlot(event, o, value);
}

function eventDateSlot(item: r.JsonObject, path: string): EventDateSlot {
  const event = parseEventFilter(r.get(item, "event"), r.join(path, "event"));
  const bound = r.enumValue(item, "bound", path, ["first", "last"]);
  const mode = r.enumValue(item, "mode", path, EVENT_DATE_MODES);
  const hasRelative = r.get(item, "relativeValue") !== null;
  const hasAbsolute = r.get(item, "absoluteValue") !== null;
  if (mode === "beforeDate" || mode === "afterDate") {
    if (hasRelative || r.get(item, "relativeUnit") !== null) {
      r.fail(r.join(path, "relativeValue"), `is not allowed with mode ${mode}`);
    }
    const text = r.get(item, "absoluteValue");
    if (!hasAbsolute) r.fail(r.join(path, "absoluteValue"), `is required with mode ${mode}`);
    return new EventDateSlot(event, bound, mode, null, calendarDay(text, r.join(path, "absoluteValue")));
  }
  if (hasAbsolute) r.fail(r.join(path, "absoluteValue"), `is not allowed with mode ${mode}`);
  const amount = Number(r.integer(item, "relativeValue", path, { minimum: 1 }));
  const unit = r.enumValue(item, "relativeUnit", path, RELATIVE_UNITS, "days");
  return new EventDateSlot(event, bound, mode, amount * (UNIT_MS[unit] as number), null);
}

/** UTC midnight (epoch ms) of a real calendar date `YYYY-MM-DD`. */
function calendarDay(text: Json, path: string): number {
  if (typeof text !== "string" || text.length !== 10 || text[4] !== "-" || text[7] !== "-") {
    r.fail(path, "must be a date YYYY-MM-DD");
  }
  const days = parseDate(text);
  if (days === null) r.fail(path, "must be a real calendar date YYYY-MM-DD");
  return days * DAY_MS;
}

export function parseSlot(raw: unknown, path: string): Slot {
  const item = r.obj(raw, path);
  const present = SLOT_NAMES.filter((name) => r.get(item, name) !== null);
  if (present.length !== 1) {
    const unknown = [...item.keys()].filter((k) => !SLOT_NAMES.includes(k) && r.get(item, k) !== null);
    const detail = unknown.length && !present.length ? ` (unknown: ${unknown.sort(compareText).join(", ")})` : "";
    r.fail(path, `must set exactly one of ${SLOT_NAMES.join(", ")}${detail}`);
  }
  const name = present[0] as string;
  const slotPath = r.join(path, name);
  const body = r.obj(item.get(name), slotPath);
  if (name in VERSION_SLOTS) return versionSlot(name, body, slotPath);
  if (LIST_SLOTS.includes(name)) return listSlot(name, body, slotPath);
  if (name === "customProperty") return customPropertySlot(body, slotPath);
  if (name === "installDate") return installDateSlot(body, slotPath);
  if (name === "eventCount") return eventCountSlot(body, slotPath);
  return eventDateSlot(body, slotPath);
}

export function parseTargeting(raw: unknown, path = "targeting"): Slot[] {
  if (raw === null || raw === undefined) return [];
  const slots = r.arr(raw, path).map((item, i) => parseSlot(item, `${path}[${i}]`));
  const history = slots.filter((s) => s instanceof EventCountSlot || s instanceof EventDateSlot).length;
  if (history > MAX_EVENT_CONDITIONS) {
    r.fail(path, `at most ${MAX_EVENT_CONDITIONS} event conditions (eventCount/eventDate)`);
  }
  return slots;
}

/** The event filters whose history these slots read (the engine keeps their aggregates). */
export function historyFilters(slots: readonly Slot[]): EventFilter[] {
  const out: EventFilter[] = [];
  for (const s of slots) if (s instanceof EventCountSlot || s instanceof EventDateSlot) out.push(s.event);
  return out;
}
