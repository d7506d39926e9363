/**
 * Typed comparison of property values, versions and instants (the Python SDK's
 * `tidings.core.campaigns.values`, rule for rule).
 *
 * Campaign JSON carries compare values as strings; they are converted once, when the campaign is
 * parsed. A device value that cannot be read as the requested type behaves like a missing one:
 * only "not equal" holds.
 */

import { PyFloat, floatRepr, isFloat, isInt, numValue } from "../json";
import type { Json } from "../json";
import { compareText, pyStrip } from "../text";

export type Op = "eq" | "ne" | "gt" | "ge" | "lt" | "le" | "set" | "notset";
export type ValueType = "string" | "number" | "boolean" | "datetime";
/** A converted value: text, a number (int or float) or a boolean. */
export type Scalar = string | number | bigint | PyFloat | boolean;
/** Versions compare as lists of ints. */
export type Comparable = Scalar | number[];

export const TRIGGER_OPS: Record<string, Op> = {
  "===": "eq",
  "!==": "ne",
  ">": "gt",
  ">=": "ge",
  "<": "lt",
  "<=": "le",
};
export const NUMBER_OPS: Record<string, Op> = {
  equal: "eq",
  notEqual: "ne",
  greater: "gt",
  less: "lt",
  greaterOrEqual: "ge",
  lessOrEqual: "le",
  isSet: "set",
  isNotSet: "notset",
};
export const DAY_MS = 86_400_000;
export const UNIT_MS: Record<string, number> = {
  minutes: 60_000,
  hours: 3_600_000,
  days: DAY_MS,
  sec: 1_000,
  min: 60_000,
  hour: 3_600_000,
  day: DAY_MS,
};

const INT_RE = /^[+-]?[0-9]+$/;
const FLOAT_RE =
  /^[+-]?(?:(?:[0-9](?:_?[0-9])*)(?:\.(?:[0-9](?:_?[0-9])*)?)?|\.[0-9](?:_?[0-9])*)(?:[eE][+-]?[0-9](?:_?[0-9])*)?$/;
const SPECIAL_RE = /^[+-]?(?:inf|infinity|nan)$/i;

/** An int from decimal text (a bigint only when it does not fit a safe number). */
export function intFromText(text: string): number | bigint {
  const negative = text[0] === "-";
  const digits = text[0] === "+" || text[0] === "-" ? text.slice(1) : text;
  const big = BigInt(digits);
  const value = negative ? -big : big;
  const n = Number(value);
  return Number.isSafeInteger(n) ? (Object.is(n, -0) ? 0 : n) : value;
}

/** Python's `float(text)` for the text forms it accepts; `null` when it is not a number. */
export function floatFromText(text: string): number | null {
  const t = pyStrip(text);
  if (SPECIAL_RE.test(t)) return null; // inf and nan are read, then refused as not finite
  if (!FLOAT_RE.test(t)) return null;
  const n = Number(t.replace(/_/g, ""));
  return Number.isFinite(n) ? n : null;
}

/** Read a value as a number: ints and finite floats as they are, numeric text parsed. */
export function toNumber(value: unknown): number | bigint | PyFloat | null {
  if (typeof value === "boolean") return null;
  if (isInt(value)) return value;
  if (isFloat(value)) return Number.isFinite(numValue(value) as number) ? value : null;
  if (typeof value === "string") {
    const text = pyStrip(value);
    if (INT_RE.test(text)) return intFromText(text);
    const n = floatFromText(text);
    if (n === null) return null;
    return Number.isSafeInteger(n) ? new PyFloat(n) : n;
  }
  return null;
}

/** Read a value as a boolean: `true`/`false` or the text `true`/`false`. */
export function toBool(value: unknown): boolean | null {
  if (typeof value === "boolean") return value;
  if (typeof value === "string") {
    const text = pyStrip(value).toLowerCase();
    if (text === "true") return true;
    if (text === "false") return false;
  }
  return null;
}

/** Read a value as text, spelling booleans the JSON way so `"true"` matches `true`. */
export function toText(value: unknown): string | null {
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return value ? "true" : "false";
  if (isInt(value)) return String(value);
  if (isFloat(value)) return floatRepr(value instanceof PyFloat ? value.value : value);
  return null;
}

/** Read `value` as `valueType`; `null` when it cannot be read (treated as missing). */
export function convert(value: unknown, valueType: ValueType): Scalar | null {
  if (valueType === "string") return toText(value);
  if (valueType === "boolean") return toBool(value);
  return toNumber(value);
}

function scalarEq(a: Comparable, b: Comparable): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => x === b[i]);
  }
  if (typeof a === "boolean" || typeof b === "boolean") {
    // A boolean equals the number 1 or 0, as it does in the Python SDK.
    return Number(a) == Number(b); // eslint-disable-line eqeqeq
  }
  if (typeof a === "string" || typeof b === "string") return a === b;
  return a == b; // eslint-disable-line eqeqeq -- exact across number and bigint
}

/** -1, 0 or 1; `null` when the two cannot be ordered (a text and a number). */
function order(a: Comparable, b: Comparable): number | null {
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b)) return null;
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      if ((a[i] as number) !== (b[i] as number)) return (a[i] as number) < (b[i] as number) ? -1 : 1;
    }
    return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
  }
  if (typeof a === "string" || typeof b === "string") {
    if (typeof a !== "string" || typeof b !== "string") return null;
    return Math.sign(compareText(a, b));
  }
  const x = typeof a === "boolean" ? Number(a) : a;
  const y = typeof b === "boolean" ? Number(b) : b;
  if (x == y) return 0; // eslint-disable-line eqeqeq
  return x < y ? -1 : 1;
}

/**
 * Apply `op` to a device value `left` and a campaign value `right`.
 * `left === null` means missing (or unreadable): only `ne` and `notset` hold.
 */
export function compare(op: Op, left: Comparable | null, right: Comparable | null): boolean {
  if (op === "set") return left !== null;
  if (op === "notset") return left === null;
  if (left === null || right === null) return op === "ne";
  if (left instanceof PyFloat) left = left.value;
  if (right instanceof PyFloat) right = right.value;
  if (op === "eq") return scalarEq(left, right);
  if (op === "ne") return !scalarEq(left, right);
  const o = order(left, right);
  if (o === null) return false;
  if (op === "gt") return o > 0;
  if (op === "ge") return o >= 0;
  if (op === "lt") return o < 0;
  return o <= 0;
}

function floorDiv(a: number | bigint, b: number): number | bigint {
  if (typeof a === "bigint") {
    const q = a / BigInt(b);
    return a < 0n && q * BigInt(b) !== a ? q - 1n : q;
  }
  return Math.floor(a / b);
}

/** Compare two epoch-ms instants; equality is the same UTC calendar day. */
export function compareInstants(
  op: Op,
  left: number | bigint | PyFloat | null,
  right: number | bigint | PyFloat,
): boolean {
  if (left instanceof PyFloat) left = left.value;
  if (right instanceof PyFloat) right = right.value;
  if ((op === "eq" || op === "ne") && left !== null) {
    const same = floorDiv(left, DAY_MS) == floorDiv(right, DAY_MS); // eslint-disable-line eqeqeq
    return op === "eq" ? same : !same;
  }
  return compare(op, left, right);
}

/** Dotted version to ints (`"1.10.0-beta"` -> `[1, 10]`); `null` if unreadable. */
export function parseVersion(text: string): number[] | null {
  const parts: number[] = [];
  for (const part of pyStrip(text).split(".")) {
    const m = /^[0-9]*/.exec(part) as RegExpExecArray;
    const digits = m[0];
    if (!digits) {
      if (parts.length) break;
      return null;
    }
    parts.push(Number(digits));
    if (digits.length !== part.length) break;
  }
  while (parts.length > 1 && parts[parts.length - 1] === 0) parts.pop();
  return parts;
}

export type { Json };
