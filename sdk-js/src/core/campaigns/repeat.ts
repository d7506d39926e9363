/** Repeat rules: which occurrences of the trigger may fire. */

import * as r from "./reader";

export const REPEAT_TYPES = ["every", "interval"] as const;
export const REPEAT_ENTITIES = ["event", "session"] as const;

/**
 * `every`: n is a multiple of one of `values`; `interval`: n is one of `values`.
 * `sessionScoped` is true for an `event` rule nested under a `session` rule: its n is the
 * occurrence count within the current session instead of the lifetime count.
 */
export class Repeat {
  constructor(
    readonly repeatType: string,
    readonly entity: string,
    readonly values: readonly number[],
    readonly sub: Repeat | null,
    readonly sessionScoped = false,
  ) {}

  holds(lifetimeCount: number, sessionCount: number, sessionCounter: number): boolean {
    let n: number;
    if (this.entity === "session") n = sessionCounter;
    else n = this.sessionScoped ? sessionCount : lifetimeCount;
    const ok =
      this.repeatType === "every"
        ? n >= 1 && this.values.some((k) => n % k === 0)
        : this.values.includes(n);
    if (!ok) return false;
    return this.sub === null || this.sub.holds(lifetimeCount, sessionCount, sessionCounter);
  }

  /** `every [1]` on `event` with nothing nested: every occurrence fires. */
  get isDefault(): boolean {
    return (
      this.repeatType === "every" &&
      this.entity === "event" &&
      this.values.length === 1 &&
      this.values[0] === 1 &&
      this.sub === null
    );
  }
}

export const DEFAULT_REPEAT = new Repeat("every", "event", [1], null);

export function parseRepeat(raw: unknown, path: string, inSession = false): Repeat {
  const item = r.obj(raw, path);
  const repeatType = r.enumValue(item, "repeatType", path, REPEAT_TYPES);
  const entity = r.enumValue(item, "repeatEntity", path, REPEAT_ENTITIES);
  const valuesPath = r.join(path, "repeatValue");
  const valuesRaw = r.get(item, "repeatValue");
  if (valuesRaw === null) r.fail(valuesPath, "is required");
  if (!Array.isArray(valuesRaw)) r.fail(valuesPath, "must be an array");
  if (!valuesRaw.length) r.fail(valuesPath, "must be a non-empty array");
  // Values beyond 2^53 can never equal a count, so a plain number keeps their meaning.
  const values = valuesRaw.map((v, i) => Number(r.intValue(v, `${valuesPath}[${i}]`, 1)));
  const scoped = inSession || entity === "session";
  const subRaw = r.get(item, "subRepeat");
  const sub = subRaw === null ? null : parseRepeat(subRaw, r.join(path, "subRepeat"), scoped);
  return new Repeat(repeatType, entity, values, sub, inSession);
}
