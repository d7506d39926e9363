/**
 * Frequency limits of one campaign and project-wide frequency capping. `limit` + `limitType`
 * come together, `interval` + `intervalDimension` come together, `count` is a lifetime cap.
 */

import { InvalidCampaign, InvalidConfig } from "../errors";
import * as r from "./reader";
import { UNIT_MS } from "./values";

export const LIMIT_TYPES = ["session", "device"] as const;
export const INTERVAL_DIMENSIONS = ["sec", "min", "hour", "day"] as const;

export class Limit {
  constructor(
    readonly limit: number | null = null,
    readonly limitType: string | null = null,
    readonly intervalMs: number | null = null,
    readonly count: number | null = null,
  ) {}

  get isEmpty(): boolean {
    return this.limit === null && this.intervalMs === null && this.count === null;
  }
}

export const NO_LIMIT = new Limit();

function optNumber(value: number | bigint | null): number | null {
  return value === null ? null : Number(value);
}

export function parseLimit(raw: unknown, path: string): Limit {
  const item = r.obj(raw, path);
  const limit = optNumber(r.optInteger(item, "limit", path, 0));
  const limitType = r.get(item, "limitType");
  if (limitType !== null && !(LIMIT_TYPES as readonly unknown[]).includes(limitType)) {
    r.fail(r.join(path, "limitType"), `must be one of ${LIMIT_TYPES.join(", ")}`);
  }
  if ((limit === null) !== (limitType === null)) {
    const missing = limitType === null ? "limitType" : "limit";
    r.fail(
      r.join(path, missing),
      "is required when " + (missing === "limitType" ? "limit" : "limitType") + " is set",
    );
  }
  const interval = r.optInteger(item, "interval", path, 1);
  const dimension = r.get(item, "intervalDimension");
  if (dimension !== null && !(INTERVAL_DIMENSIONS as readonly unknown[]).includes(dimension)) {
    r.fail(r.join(path, "intervalDimension"), `must be one of ${INTERVAL_DIMENSIONS.join(", ")}`);
  }
  if ((interval === null) !== (dimension === null)) {
    const missing = dimension === null ? "intervalDimension" : "interval";
    const other = missing === "intervalDimension" ? "interval" : "intervalDimension";
    r.fail(r.join(path, missing), `is required when ${other} is set`);
  }
  const count = optNumber(r.optInteger(item, "count", path, 0));
  const intervalMs = interval === null ? null : Number(interval) * (UNIT_MS[String(dimension)] as number);
  return new Limit(limit, limitType === null ? null : String(limitType), intervalMs, count);
}

/** Project frequency capping across all campaigns (`null`: no cap). */
export class ProjectSettings {
  constructor(
    readonly perSession: number | null = null,
    readonly perDay: number | null = null,
  ) {}
}

/** Parse `{"frequencyCapping": {"perSession": n, "perDay": n}}` (every part optional). */
export function parseProjectSettings(obj: unknown): ProjectSettings {
  try {
    if (obj === null || obj === undefined) return new ProjectSettings();
    const root = r.obj(obj, "");
    const capping = r.optObj(root, "frequencyCapping", "");
    if (capping === null) return new ProjectSettings();
    const path = "frequencyCapping";
    return new ProjectSettings(
      optNumber(r.optInteger(capping, "perSession", path, 0)),
      optNumber(r.optInteger(capping, "perDay", path, 0)),
    );
  } catch (exc) {
    if (exc instanceof InvalidCampaign) throw new InvalidConfig(exc.field, exc.reason);
    throw exc;
  }
}
