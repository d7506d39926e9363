/**
 * Instants as people write them in scenarios and campaigns, to epoch ms, read the way the Python
 * SDK reads them (`datetime.fromisoformat`): `YYYY-MM-DD`, then any one separator character and
 * a time `HH[:MM[:SS[.fff]]]` (or the basic forms `HHMM`, `HHMMSS`), then `Z` or an offset.
 */

import { roundHalfEven } from "./text";

const DATE_EXT = /^([0-9]{4})-([0-9]{2})-([0-9]{2})/;
const DATE_BASIC = /^([0-9]{4})([0-9]{2})([0-9]{2})/;
const OFFSET_RE = /^\+([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)\n?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

interface Parsed {
  /** Microseconds since the epoch of the wall time, as if it were UTC. */
  micros: bigint;
  /** Offset in microseconds, or null for a naive time. */
  offset: bigint | null;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(m) ? 30 : 31;
}

/** Days from 1970-01-01 to a civil date (proleptic Gregorian). */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** A real calendar date `YYYY-MM-DD` as days since the epoch, or null. */
export function parseDate(text: string): number | null {
  const m = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/.exec(text);
  if (m === null) return null;
  return civil(Number(m[1]), Number(m[2]), Number(m[3]));
}

function civil(y: number, mo: number, d: number): number | null {
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) return null;
  return daysFromCivil(y, mo, d);
}

/** `HH[:MM[:SS[.f+]]]` or `HH[MM[SS[.f+]]]`, as microseconds after midnight. */
function parseTime(text: string): bigint | null {
  const m =
    /^([0-9]{2})(?::([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]+))?)?)?$/.exec(text) ??
    /^([0-9]{2})(?:([0-9]{2})(?:([0-9]{2})(?:[.,]([0-9]+))?)?)?$/.exec(text);
  if (m === null) return null;
  const h = Number(m[1]);
  const mi = m[2] === undefined ? 0 : Number(m[2]);
  const s = m[3] === undefined ? 0 : Number(m[3]);
  if (h > 23 || mi > 59 || s > 59) return null;
  let micros = 0;
  if (m[4] !== undefined) micros = Number(m[4].slice(0, 6).padEnd(6, "0"));
  return BigInt(((h * 60 + mi) * 60 + s) * 1_000_000 + micros);
}

/** `Z`, or `±HH[:MM[:SS[.ffffff]]]` / `±HHMM[SS]`, as microseconds east of UTC. */
function parseOffset(text: string): bigint | null {
  if (text === "Z") return 0n;
  const sign = text[0] === "-" ? -1n : text[0] === "+" ? 1n : null;
  if (sign === null) return null;
  const t = parseTime(text.slice(1));
  if (t === null || t >= 86_400_000_000n) return null;
  return sign * t;
}

function split(text: string): Parsed | null {
  let m = DATE_EXT.exec(text);
  let rest: string;
  if (m !== null) rest = text.slice(10);
  else {
    m = DATE_BASIC.exec(text);
    if (m === null) return null;
    rest = text.slice(8);
  }
  const days = civil(Number(m[1]), Number(m[2]), Number(m[3]));
  if (days === null) return null;
  let micros = BigInt(days) * 86_400_000_000n;
  if (rest === "") return { micros, offset: null };
  const [, ...tail] = Array.from(rest); // any single character separates date and time
  const timeAndZone = tail.join("");
  const z = /[Z+-]/.exec(timeAndZone);
  const timeText = z === null ? timeAndZone : timeAndZone.slice(0, z.index);
  const time = parseTime(timeText);
  if (time === null) return null;
  micros += time;
  if (z === null) return { micros, offset: null };
  const offset = parseOffset(timeAndZone.slice(z.index));
  if (offset === null) return null;
  return { micros, offset };
}

/** Epoch ms of micros / 10^6 seconds, computed as the Python side does (float, then round). */
function microsToMs(micros: bigint): number {
  return roundHalfEven((Number(micros) / 1e6) * 1000);
}

/** Epoch ms of an ISO-8601 instant with an offset (`Z` or `+01:00`); null if not one. */
export function parseInstant(text: string): number | null {
  const p = split(text);
  if (p === null || p.offset === null) return null;
  return microsToMs(p.micros - p.offset);
}

/** Epoch ms of ISO-8601 text; a naive time (or a bare date) is read as UTC. */
export function parseInstantOrNaive(text: string): number | null {
  const p = split(text);
  if (p === null) return null;
  return microsToMs(p.micros - (p.offset ?? 0n));
}

/** Milliseconds of a relative offset such as `+5s` or `+250ms`; null if not one. */
export function parseOffsetText(text: string): number | null {
  const m = OFFSET_RE.exec(text);
  if (m === null) return null;
  const value = Number(m[1]) * (UNIT_MS[m[2] as string] as number);
  if (!Number.isFinite(value)) return null;
  return roundHalfEven(value);
}
