/**
 * Text and number rules shared with the Python SDK, spelled out where JavaScript differs:
 * lengths count code points (not UTF-16 units), strings order by code point, `strip()` removes
 * the Python whitespace set, rounding is half to even, and error messages quote values the way
 * the Python side does, so both SDKs say the same thing about the same bad input.
 */

/** Number of characters (code points), as the length limits of the event rules count them. */
export function charLength(s: string): number {
  let n = s.length;
  // Only a string with surrogate pairs needs the slow count.
  if (n === 0 || !/[\ud800-\udbff]/.test(s)) return n;
  n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/** Order two strings by code point (JavaScript's `<` orders UTF-16 units). */
export function compareText(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      // A surrogate (an astral code point) sorts above every other BMP unit.
      const xs = x >= 0xd800 && x <= 0xdfff;
      const ys = y >= 0xd800 && y <= 0xdfff;
      if (xs !== ys) return xs ? 1 : -1;
      return x < y ? -1 : 1;
    }
  }
  return a.length - b.length;
}

const PY_SPACE = "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const STRIP = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, "g");

/** Python's `str.strip()`. */
export function pyStrip(s: string): string {
  return s.replace(STRIP, "");
}

/** Python's `round(x)` for a float: half to even. */
export function roundHalfEven(x: number): number {
  if (!Number.isFinite(x)) throw new RangeError("cannot round a non-finite number");
  const f = Math.floor(x);
  const diff = x - f;
  if (diff > 0.5) return f + 1;
  if (diff < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

const NOT_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

/** Python's `repr()` of a string (the quoting used in error messages). */
export function pyRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    if (ch === quote || ch === "\\") out += "\\" + ch;
    else if (ch === "\t") out += "\\t";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (cp < 0x20 || cp === 0x7f) out += "\\x" + hex(cp, 2);
    else if (cp < 0x7f) out += ch;
    else if (ch !== " " && NOT_PRINTABLE.test(ch)) {
      out += cp <= 0xff ? "\\x" + hex(cp, 2) : cp <= 0xffff ? "\\u" + hex(cp, 4) : "\\U" + hex(cp, 8);
    } else out += ch;
  }
  return out + quote;
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, "0");
}

/** Python's `"%g" % x` (six significant digits, trailing zeros dropped). */
export function formatG(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0" : "0";
  const { digits, exp } = roundDigits(x, 6);
  const sign = x < 0 ? "-" : "";
  const trimmed = digits.replace(/0+$/, "") || "0";
  if (exp < -4 || exp >= 6) {
    const mant = trimmed.length === 1 ? trimmed : trimmed[0] + "." + trimmed.slice(1);
    return `${sign}${mant}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  if (exp < 0) return sign + "0." + "0".repeat(-exp - 1) + trimmed;
  const whole = trimmed.padEnd(exp + 1, "0");
  const frac = trimmed.slice(exp + 1);
  return sign + whole.slice(0, exp + 1) + (frac ? "." + frac : "");
}

/** The exact decimal value of |x| rounded half-to-even to `p` significant digits. */
function roundDigits(x: number, p: number): { digits: string; exp: number } {
  const { int: intPart, scale } = exactDecimal(Math.abs(x));
  // value = intPart / 10^scale
  const all = intPart.toString();
  const exp = all.length - 1 - scale;
  if (all.length <= p) return { digits: all.padEnd(p, "0"), exp };
  const keep = BigInt(all.slice(0, p));
  const rest = all.slice(p);
  const half = "5" + "0".repeat(rest.length - 1);
  let rounded = keep;
  if (rest > half || (rest === half && keep % 2n === 1n)) rounded += 1n;
  let digits = rounded.toString();
  let e = exp;
  if (digits.length > p) {
    digits = digits.slice(0, p);
    e += 1;
  }
  return { digits, exp: e };
}

/** |x| as an exact fraction intPart / 10^scale (every double has a finite decimal form). */
function exactDecimal(x: number): { int: bigint; scale: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e2: number;
  if (biased === 0) e2 = -1074;
  else {
    mant |= 1n << 52n;
    e2 = biased - 1075;
  }
  if (e2 >= 0) return { int: mant << BigInt(e2), scale: 0 };
  // mant * 2^e2 = mant * 5^-e2 / 10^-e2
  return { int: mant * 5n ** BigInt(-e2), scale: -e2 };
}
