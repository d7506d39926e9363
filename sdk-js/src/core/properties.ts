/**
 * Custom properties: a flat map kept on the device, and the changes it reports. Each effective
 * change becomes one `CustomPropertyChanged`; setting a value equal to the current one (same
 * type and value: `1`, `1.0` and `true` differ) changes nothing and reports nothing.
 */

import { InvalidEvent } from "./errors";
import { ABSENT, entriesOf, validateKey, validateValue } from "./events";
import type { Primitive } from "./events";
import { PyFloat, isFloat, isInt, numValue } from "./json";
import type { Json } from "./json";
import { compareText, pyRepr } from "./text";

export const MISSING: typeof ABSENT = ABSENT;
type Side = Json | typeof ABSENT;

/** One effective change; `old`/`new` are `MISSING` when absent. */
export interface PropertyChange {
  readonly key: string;
  readonly old: Side;
  readonly new: Side;
}

function kindOf(value: unknown): string {
  if (isInt(value)) return "int";
  if (isFloat(value)) return "float";
  return typeof value;
}

/** Same type and equal value (a float -0.0 equals 0.0, as in the Python SDK). */
export function sameValue(a: unknown, b: unknown): boolean {
  const kind = kindOf(a);
  if (kind !== kindOf(b)) return false;
  if (kind === "int" || kind === "float") {
    return numValue(a as number | bigint | PyFloat) == numValue(b as number | bigint | PyFloat); // eslint-disable-line eqeqeq
  }
  return a === b;
}

/** The device's custom properties and the rules for changing them. */
export class CustomProperties {
  /** The map is shared, not copied: the owner persists it as part of its own state. */
  constructor(readonly values: Map<string, Json> = new Map()) {}

  get(key: string): Json | undefined {
    return this.values.get(key);
  }

  /** Set one property; validates like an event property (`key` / `value` fields). */
  set(key: unknown, value: unknown): PropertyChange[] {
    const k = validateKey(key, "key");
    const v = validateValue(value, "value");
    return this.apply(k, v);
  }

  /** Set several; all are validated before any is applied, changes in the map's order. */
  setMany(mapping: unknown): PropertyChange[] {
    const entries = entriesOf(mapping);
    if (entries === null) throw new InvalidEvent("properties", "must be a map of property names to values");
    const checked: Array<[string, Primitive]> = [];
    for (const [key, value] of entries) {
      const path = typeof key === "string" ? `properties[${pyRepr(key)}]` : "properties";
      checked.push([validateKey(key, path), validateValue(value, path)]);
    }
    const changes: PropertyChange[] = [];
    for (const [k, v] of checked) changes.push(...this.apply(k, v));
    return changes;
  }

  remove(key: unknown): PropertyChange[] {
    const k = validateKey(key, "key");
    if (!this.values.has(k)) return [];
    const old = this.values.get(k) as Json;
    this.values.delete(k);
    return [{ key: k, old, new: MISSING }];
  }

  /** Remove everything: one change per key that existed, in key order. */
  clear(): PropertyChange[] {
    const keys = [...this.values.keys()].sort(compareText);
    const changes = keys.map((k) => ({ key: k, old: this.values.get(k) as Json, new: MISSING }) as PropertyChange);
    this.values.clear();
    return changes;
  }

  private apply(key: string, value: Primitive): PropertyChange[] {
    const old: Side = this.values.has(key) ? (this.values.get(key) as Json) : MISSING;
    if (old !== MISSING && sameValue(old, value)) return [];
    this.values.set(key, value as Json);
    return [{ key, old, new: value as Json }];
  }
}

export { PyFloat };
