/**
 * The JSON value model of the core, and a parser and writer that keep what `JSON.parse` loses.
 *
 * The Python SDK tells `1` (an int) from `1.0` (a float), keeps object keys in the order they
 * were written (JavaScript objects put integer-like keys first) and holds integers up to 64 bits
 * exactly. Both SDKs must record the same events for the same input, so the core works on:
 *
 * - `number`: an int when it is a safe integer, otherwise a float;
 * - `PyFloat`: a float whose value is a whole number (`1.0`, `-0.0`), which a bare `number`
 *   would read as an int;
 * - `bigint`: an int outside the safe range (up to 64 bits, as the Python side parses them);
 * - `Map<string, Json>` for objects (insertion order, any key), arrays, strings, booleans, null.
 *
 * The writer prints numbers the way the Python side's JSON library does, so a line printed by
 * `node dist/simulate.js` is byte for byte the line `tidings simulate` prints.
 */

/** A float whose value is a whole number: `1.0` stays a float, as in the Python SDK. */
export class PyFloat {
  constructor(readonly value: number) {}
}

export type Num = number | bigint | PyFloat;
export type Json = null | boolean | string | Num | Json[] | JsonObject;
export type JsonObject = Map<string, Json>;

/** The largest and smallest integers the JSON reader keeps as integers (as the Python side). */
const INT_MIN = -(2n ** 63n);
const UINT_MAX = 2n ** 64n - 1n;

export class JsonSyntaxError extends Error {}

/** True for an int (a safe-integer number or a bigint). */
export function isInt(value: unknown): value is number | bigint {
  return typeof value === "bigint" || (typeof value === "number" && Number.isSafeInteger(value));
}

/** True for a float (a non-integer or unsafe number, or a `PyFloat`). */
export function isFloat(value: unknown): value is number | PyFloat {
  return value instanceof PyFloat || (typeof value === "number" && !Number.isSafeInteger(value));
}

export function isNum(value: unknown): value is Num {
  return typeof value === "number" || typeof value === "bigint" || value instanceof PyFloat;
}

/** The plain numeric value (`PyFloat` unwrapped). */
export function numValue(value: Num): number | bigint {
  return value instanceof PyFloat ? value.value : value;
}

/** A float's value as a JavaScript number. */
export function floatOf(value: Num): number {
  return value instanceof PyFloat ? value.value : Number(value);
}

export function isObject(value: unknown): value is JsonObject {
  return value instanceof Map;
}

// --- reading -----------------------------------------------------------------------------------

/**
 * Parse JSON text into the core's value model. Rejects what the Python side's reader rejects
 * (numbers that overflow to infinity, lone surrogates, a byte-order mark, trailing commas).
 */
export function parseJson(text: string): Json {
  const p = new Parser(text);
  p.ws();
  const value = p.value(0);
  p.ws();
  if (p.i < text.length) p.fail("trailing characters");
  return value;
}

const MAX_DEPTH = 1024;

class Parser {
  i = 0;
  constructor(readonly s: string) {}

  fail(what: string): never {
    throw new JsonSyntaxError(`${what} at character ${this.i}`);
  }

  ws(): void {
    const s = this.s;
    let i = this.i;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 32 || c === 10 || c === 13 || c === 9) i++;
      else break;
    }
    this.i = i;
  }

  value(depth: number): Json {
    if (depth > MAX_DEPTH) this.fail("nesting too deep");
    const c = this.s[this.i];
    if (c === "{") return this.object(depth);
    if (c === "[") return this.array(depth);
    if (c === '"') return this.string();
    if (c === "t") return this.word("true", true);
    if (c === "f") return this.word("false", false);
    if (c === "n") return this.word("null", null);
    if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return this.number();
    return this.fail(c === undefined ? "unexpected end of input" : "unexpected character");
  }

  word<T extends Json>(w: string, v: T): T {
    if (this.s.startsWith(w, this.i)) {
      this.i += w.length;
      return v;
    }
    return this.fail("unexpected character");
  }

  object(depth: number): JsonObject {
    const out: JsonObject = new Map();
    this.i++;
    this.ws();
    if (this.s[this.i] === "}") {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') this.fail("expected a string key");
      const key = this.string();
      this.ws();
      if (this.s[this.i] !== ":") this.fail("expected ':'");
      this.i++;
      this.ws();
      out.set(key, this.value(depth + 1));
      this.ws();
      const c = this.s[this.i++];
      if (c === "}") return out;
      if (c !== ",") this.fail("expected ',' or '}'");
    }
  }

  array(depth: number): Json[] {
    const out: Json[] = [];
    this.i++;
    this.ws();
    if (this.s[this.i] === "]") {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      out.push(this.value(depth + 1));
      this.ws();
      const c = this.s[this.i++];
      if (c === "]") return out;
      if (c !== ",") this.fail("expected ',' or ']'");
    }
  }

  string(): string {
    const s = this.s;
    let i = this.i + 1;
    let out = "";
    let start = i;
    for (;;) {
      const c = s.charCodeAt(i);
      if (Number.isNaN(c)) this.fail("unterminated string");
      if (c === 34) break;
      if (c < 32) this.fail("control character in string");
      if (c >= 0xd800 && c <= 0xdfff) {
        const lo = s.charCodeAt(i + 1);
        if (c > 0xdbff || !(lo >= 0xdc00 && lo <= 0xdfff)) this.fail("lone surrogate in string");
        i += 2;
        continue;
      }
      if (c === 92) {
        out += s.slice(start, i);
        const e = s[i + 1];
        i += 2;
        if (e === "u") {
          const code = this.hex(i);
          i += 4;
          if (code >= 0xd800 && code <= 0xdbff) {
            if (s[i] !== "\\" || s[i + 1] !== "u") this.fail("no low surrogate in string");
            const low = this.hex(i + 2);
            if (low < 0xdc00 || low > 0xdfff) this.fail("no low surrogate in string");
            i += 6;
            out += String.fromCharCode(code, low);
          } else if (code >= 0xdc00 && code <= 0xdfff) {
            this.fail("lone low surrogate in string");
          } else {
            out += String.fromCharCode(code);
          }
        } else {
          const simple = ESCAPES[e ?? ""];
          if (simple === undefined) this.fail("invalid escape");
          out += simple;
        }
        start = i;
        continue;
      }
      i++;
    }
    out += s.slice(start, i);
    this.i = i + 1;
    return out;
  }

  hex(at: number): number {
    const h = this.s.slice(at, at + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) this.fail("invalid \\u escape");
    return parseInt(h, 16);
  }

  number(): Num {
    NUMBER.lastIndex = this.i;
    const m = NUMBER.exec(this.s);
    if (m === null || m[0] === "-") return this.fail("invalid number");
    const text = m[0];
    this.i += text.length;
    if (m[1] === undefined && m[2] === undefined) {
      const big = BigInt(text);
      if (big >= INT_MIN && big <= UINT_MAX) {
        const n = Number(big);
        return Number.isSafeInteger(n) ? n : big;
      }
      return Number(text);
    }
    const n = Number(text);
    if (!Number.isFinite(n)) this.fail("number is infinity when parsed as double");
    return Number.isSafeInteger(n) ? new PyFloat(n) : n;
  }
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
const ESCAPES: Record<string, string> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};

// --- writing -----------------------------------------------------------------------------------

/**
 * Compact JSON of a core value (also plain objects and arrays), numbers spelled as the Python
 * side spells them: ints in full, floats in the shortest form that reads back the same, with
 * `.0` on whole numbers and an exponent from 1e16 up and below 1e-5.
 */
export function writeJson(value: unknown): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      return Number.isSafeInteger(value) ? String(value) : floatJson(value);
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      return value.toString();
    case "undefined":
      return "null";
    case "object": {
      if (value === null) return "null";
      if (value instanceof PyFloat) return floatJson(value.value);
      if (Array.isArray(value)) return "[" + value.map(writeJson).join(",") + "]";
      const parts: string[] = [];
      const entries = value instanceof Map ? value.entries() : Object.entries(value);
      for (const [k, v] of entries) {
        if (v === undefined) continue;
        parts.push(JSON.stringify(String(k)) + ":" + writeJson(v));
      }
      return "{" + parts.join(",") + "}";
    }
    default:
      throw new TypeError(`cannot write ${typeof value} as JSON`);
  }
}

/** Shortest round-trip digits and decimal exponent of a finite, non-zero float. */
export function shortestDigits(x: number): { negative: boolean; digits: string; exp: number } {
  const text = Math.abs(x).toExponential();
  const [mant, e] = text.split("e") as [string, string];
  return { negative: x < 0 || Object.is(x, -0), digits: mant.replace(".", ""), exp: Number(e) };
}

function placeDigits(digits: string, exp: number): string {
  // Fixed notation of d.ddd x 10^exp, always with a fractional part.
  if (exp < 0) return "0." + "0".repeat(-exp - 1) + digits;
  if (digits.length <= exp + 1) return digits + "0".repeat(exp + 1 - digits.length) + ".0";
  return digits.slice(0, exp + 1) + "." + digits.slice(exp + 1);
}

function scientific(digits: string, exp: number, minExpDigits: number): string {
  const mant = digits.length === 1 ? digits : digits[0] + "." + digits.slice(1);
  const sign = exp < 0 ? "-" : "+";
  return mant + "e" + sign + String(Math.abs(exp)).padStart(minExpDigits, "0");
}

/** A float as the Python side's JSON writer prints it. */
export function floatJson(x: number): string {
  if (!Number.isFinite(x)) throw new TypeError("JSON cannot hold NaN or infinity");
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const { negative, digits, exp } = shortestDigits(x);
  let body: string;
  if (exp < -5) body = scientific(digits, exp, 1).replace("e+", "e");
  else if (exp >= 16) body = scientific(digits, exp, 1);
  else body = placeDigits(digits, exp);
  return (negative ? "-" : "") + body;
}

/** `repr(float)` / `str(float)` of the Python side. */
export function floatRepr(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const { negative, digits, exp } = shortestDigits(x);
  const body = exp < -4 || exp >= 16 ? scientific(digits, exp, 2) : placeDigits(digits, exp);
  return (negative ? "-" : "") + body;
}

// --- conversion from and to plain JavaScript values ---------------------------------------------

/** A plain JavaScript value (objects, arrays, numbers) in the core's model. */
export function fromPlain(value: unknown): Json {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return value.map(fromPlain);
  if (value instanceof Map) {
    const out: JsonObject = new Map();
    for (const [k, v] of value) out.set(String(k), fromPlain(v));
    return out;
  }
  if (value instanceof PyFloat) return value;
  if (typeof value === "object") {
    const out: JsonObject = new Map();
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out.set(k, fromPlain(v));
    return out;
  }
  return value as Json;
}

/** A core value as plain JavaScript (maps become objects, `PyFloat` a number). */
export function toPlain(value: unknown): unknown {
  if (value instanceof PyFloat) return value.value;
  if (Array.isArray(value)) return value.map(toPlain);
  if (value instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of value) {
      Object.defineProperty(out, k, { value: toPlain(v), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return value;
}
