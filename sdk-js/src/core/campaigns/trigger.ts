/**
 * Event filters: the campaign trigger and the `event` of event-history targeting slots.
 *
 * A filter is `{name, type, params}`. Its `signature` is a canonical string (params sorted), so
 * two campaigns that filter the same events share one occurrence counter and one aggregate.
 */

import type { Json, JsonObject } from "../json";
import { compareText } from "../text";
import * as r from "./reader";
import { TRIGGER_OPS, compare, convert, toText } from "./values";
import type { Op, Scalar, ValueType } from "./values";

export const EVENT_TYPES = ["custom", "system"] as const;
export const PARAM_VALUE_TYPES = ["string", "number", "boolean"] as const;

/** Property lookup of an event (a Map in the core, a plain object from older saved data). */
export type Props = ReadonlyMap<string, Json>;

export class EventParam {
  constructor(
    readonly name: string,
    readonly compareType: string,
    readonly valueType: ValueType,
    readonly value: Scalar,
    readonly op: Op,
  ) {}

  /** A missing or unreadable property fails every compare type except `!==`. */
  holds(properties: Props): boolean {
    const raw = properties.get(this.name);
    const left = raw === undefined || raw === null ? null : convert(raw, this.valueType);
    return compare(this.op, left, this.value);
  }

  get key(): string[] {
    return [this.name, this.compareType, this.valueType, toText(this.value) as string];
  }
}

export class EventFilter {
  constructor(
    readonly name: string,
    readonly type: string,
    readonly params: readonly EventParam[],
    readonly signature: string,
  ) {}

  matches(name: string, type: string, properties: Props): boolean {
    if (name !== this.name || type !== this.type) return false;
    return this.paramsHold(properties);
  }

  paramsHold(properties: Props): boolean {
    for (const p of this.params) if (!p.holds(properties)) return false;
    return true;
  }
}

export function parseParam(raw: unknown, path: string): EventParam {
  const item = r.obj(raw, path);
  const name = r.string(item, "name", path);
  const compareType = r.enumValue(item, "compareType", path, Object.keys(TRIGGER_OPS), "===");
  const valueType = r.enumValue(item, "valueType", path, PARAM_VALUE_TYPES, "string") as ValueType;
  const value = parseScalar(r.get(item, "value"), valueType, r.join(path, "value"));
  return new EventParam(name, compareType, valueType, value, TRIGGER_OPS[compareType] as Op);
}

/** A compare value (sent as a string by the admin backend; plain JSON scalars accepted). */
export function parseScalar(raw: Json, valueType: ValueType, path: string): Scalar {
  if (raw === null) r.fail(path, "is required");
  if (Array.isArray(raw) || raw instanceof Map) r.fail(path, "must be a string");
  const value = convert(raw, valueType);
  if (value === null) r.fail(path, `must be a ${valueType} value`);
  return value;
}

export function parseEventFilter(raw: unknown, path: string, defaultType?: string): EventFilter {
  const item = r.obj(raw, path);
  const name = r.string(item, "name", path);
  const type = r.enumValue(item, "type", path, EVENT_TYPES, defaultType);
  const paramsRaw = r.get(item, "params");
  let params: EventParam[] = [];
  if (paramsRaw !== null) {
    const paramsPath = r.join(path, "params");
    params = r.arr(paramsRaw, paramsPath).map((p, i) => parseParam(p, `${paramsPath}[${i}]`));
  }
  return makeFilter(name, type, params);
}

function compareKeys(a: string[], b: string[]): number {
  for (let i = 0; i < a.length; i++) {
    const c = compareText(a[i] as string, b[i] as string);
    if (c !== 0) return c;
  }
  return 0;
}

/** The canonical string of (name, type, sorted param keys). */
export function signatureOf(name: string, type: string, keys: string[][]): string {
  return JSON.stringify([name, type, [...keys].sort(compareKeys)]);
}

export function makeFilter(name: string, type: string, params: readonly EventParam[] = []): EventFilter {
  return new EventFilter(name, type, params, signatureOf(name, type, params.map((p) => p.key)));
}

/** The plain (name, type) signature every event is counted under. */
export function plainSignature(name: string, type: string): string {
  return JSON.stringify([name, type, []]);
}

/** Filter for the `@events` / `@triggeredEvent` data sets (equality params). */
export function parseDataSetParams(name: string, type: string, params: unknown): EventFilter {
  const items = r.arr(params ?? [], "params");
  return makeFilter(
    name,
    type,
    items.map((p, i) => parseParam(p, `params[${i}]`)),
  );
}

export type { JsonObject };
