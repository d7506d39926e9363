/**
 * Small typed readers for campaign JSON that throw `InvalidCampaign` with the JSON path.
 * `null` is treated exactly like an absent key (the admin backend stores unset fields as null).
 */

import { InvalidCampaign } from "../errors";
import { PyFloat, floatOf, isInt, isNum } from "../json";
import type { Json, JsonObject } from "../json";

export type { JsonObject };

export function fail(path: string, reason: string): never {
  throw new InvalidCampaign(path, reason);
}

export function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/** `value.get(key)` with absent read as null. */
export function get(obj: JsonObject, key: string): Json {
  const v = obj.get(key);
  return v === undefined ? null : v;
}

export function obj(value: unknown, path: string): JsonObject {
  if (!(value instanceof Map)) fail(path, "must be an object");
  return value as JsonObject;
}

export function optObj(parent: JsonObject, key: string, path: string): JsonObject | null {
  const value = get(parent, key);
  return value === null ? null : obj(value, join(path, key));
}

export function arr(value: unknown, path: string): Json[] {
  if (!Array.isArray(value)) fail(path, "must be an array");
  return value as Json[];
}

export function string(parent: JsonObject, key: string, path: string, dflt?: string): string {
  const value = get(parent, key);
  if (value === null) {
    if (dflt !== undefined) return dflt;
    fail(join(path, key), "is required");
  }
  if (typeof value !== "string" || !value) fail(join(path, key), "must be a non-empty string");
  return value;
}

export function enumValue(
  parent: JsonObject,
  key: string,
  path: string,
  allowed: readonly string[],
  dflt?: string,
): string {
  const value = get(parent, key);
  if (value === null) {
    if (dflt !== undefined) return dflt;
    fail(join(path, key), `is required (one of ${allowed.join(", ")})`);
  }
  if (typeof value !== "string" || !allowed.includes(value)) {
    fail(join(path, key), `must be one of ${allowed.join(", ")}`);
  }
  return value;
}

export function integer(
  parent: JsonObject,
  key: string,
  path: string,
  opts: { minimum?: number; dflt?: number } = {},
): number | bigint {
  const value = get(parent, key);
  if (value === null) {
    if (opts.dflt !== undefined) return opts.dflt;
    fail(join(path, key), "is required");
  }
  return intValue(value, join(path, key), opts.minimum);
}

export function optInteger(
  parent: JsonObject,
  key: string,
  path: string,
  minimum?: number,
): number | bigint | null {
  const value = get(parent, key);
  return value === null ? null : intValue(value, join(path, key), minimum);
}

/** An integer (a float with no fraction, `2.0` from some JSON writers, is accepted). */
export function intValue(value: unknown, path: string, minimum?: number): number | bigint {
  let v = value;
  if (v instanceof PyFloat) v = v.value === 0 ? 0 : v.value;
  else if (typeof v === "number" && !Number.isSafeInteger(v) && Number.isInteger(v)) v = BigInt(v);
  if (!isInt(v) || (minimum !== undefined && v < minimum)) {
    fail(path, "must be an integer" + (minimum !== undefined ? ` >= ${minimum}` : ""));
  }
  return v;
}

export function number(parent: JsonObject, key: string, path: string, dflt?: number): number {
  const value = get(parent, key);
  if (value === null) {
    if (dflt !== undefined) return dflt;
    fail(join(path, key), "is required");
  }
  if (typeof value === "boolean" || !isNum(value)) fail(join(path, key), "must be a number");
  return floatOf(value);
}
