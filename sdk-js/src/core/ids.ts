/**
 * Time-ordered event ids (UUIDv7, RFC 9562) from injected time and randomness. Ids made by one
 * factory sort in the order they were made, even within one millisecond or when the clock steps
 * back (the 74 random bits are treated as a counter and incremented).
 *
 * The 74 bits are kept as three plain numbers (12 + 30 + 32 bits) rather than a bigint: an id is
 * made for every event, and this is on the path of `track()`.
 */

const MAX_MS = 2 ** 48 - 1;
const TWO_32 = 2 ** 32;
const TWO_30 = 2 ** 30;

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, "0");
}

/** A 48-bit ms timestamp and 74 random bits (12 + 30 + 32) as a canonical UUIDv7 string. */
export function formatUuid7(ms: number, a: number, h: number, l: number): string {
  const t = hex(ms, 12);
  const hi = hex((0x80000000 | h) >>> 0, 8);
  return `${t.slice(0, 8)}-${t.slice(8)}-7${hex(a, 3)}-${hi.slice(0, 4)}-${hi.slice(4)}${hex(l, 8)}`;
}

/** The millisecond timestamp embedded in a UUIDv7 string. */
export function uuid7Ms(uuid: string): number {
  return parseInt(uuid.slice(0, 8) + uuid.slice(9, 13), 16);
}

export type RandomBytes = (n: number) => Uint8Array;

/** Makes UUIDv7 strings that strictly increase for the life of the factory. */
export class IdFactory {
  private lastMs = -1;
  private a = 0;
  private h = 0;
  private l = 0;

  constructor(private readonly randomBytes: RandomBytes) {}

  /** A fresh id for an event that happened at `nowMs`. */
  newId(nowMs: number): string {
    let ms = Math.min(Math.max(nowMs, 0), MAX_MS);
    if (ms > this.lastMs) {
      // The low 74 bits of 80 random bits (big-endian), halved to leave room to count upwards.
      const r = this.randomBytes(10);
      const b = (i: number): number => r[i] as number;
      const xHi = ((b(0) & 3) << 24) | (b(1) << 16) | (b(2) << 8) | b(3); // bits 48..73
      const xMid = (b(4) << 16) | (b(5) << 8) | b(6); // bits 24..47
      const xLo = (b(7) << 16) | (b(8) << 8) | b(9); // bits 0..23
      const rHi = xHi >>> 1; // bits 48..72
      const rMid = (xMid >>> 1) | ((xHi & 1) << 23); // bits 24..47
      const rLo = (xLo >>> 1) | ((xMid & 1) << 23); // bits 0..23
      this.a = rHi >>> 14;
      this.h = ((rHi & 0x3fff) << 16) | (rMid >>> 8);
      this.l = (((rMid & 0xff) << 24) | rLo) >>> 0;
    } else {
      ms = this.lastMs;
      this.l += 1;
      if (this.l === TWO_32) {
        this.l = 0;
        this.h += 1;
        if (this.h === TWO_30) {
          this.h = 0;
          this.a += 1;
          if (this.a === 4096) {
            this.a = 0;
            ms += 1;
          }
        }
      }
    }
    this.lastMs = ms;
    return formatUuid7(ms, this.a, this.h, this.l);
  }
}

/** Random bytes from the platform's CSPRNG (browsers, React Native with a polyfill, Node). */
export function cryptoRandomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  const c = (globalThis as { crypto?: { getRandomValues?: (a: Uint8Array) => Uint8Array } }).crypto;
  if (c && typeof c.getRandomValues === "function") c.getRandomValues(out);
  else for (let i = 0; i < n; i++) out[i] = Math.floor(Math.random() * 256);
  return out;
}
