/**
 * Schedule windows and quiet time, both read in the device's own calendar.
 *
 * Time zones come from `Intl` (the platform's IANA data); a device whose zone is unknown or not
 * a valid IANA name has no local time: quiet time is skipped and daily caps use the UTC day.
 */

import * as r from "./reader";

const HHMM = /^([01][0-9]|2[0-3]):([0-5][0-9])$/;

/** `startMs` inclusive, `endMs` exclusive; either may be open. */
export class Schedule {
  constructor(
    readonly startMs: number | null,
    readonly endMs: number | null,
  ) {}
}

/** Minutes after local midnight; `start > end` means the window crosses midnight. */
export class QuietTime {
  constructor(
    readonly startMinute: number,
    readonly endMinute: number,
  ) {}

  contains(minuteOfDay: number): boolean {
    if (this.startMinute < this.endMinute) {
      return this.startMinute <= minuteOfDay && minuteOfDay < this.endMinute;
    }
    return minuteOfDay >= this.startMinute || minuteOfDay < this.endMinute;
  }
}

export function parseSchedule(raw: unknown, path: string): Schedule {
  const item = r.obj(raw, path);
  const start = r.optInteger(item, "startTime", path, 0);
  const end = r.optInteger(item, "endTime", path, 0);
  if (start !== null && end !== null && end <= start) r.fail(r.join(path, "endTime"), "must be after startTime");
  return new Schedule(start === null ? null : Number(start), end === null ? null : Number(end));
}

function minute(item: r.JsonObject, key: string, path: string): number {
  const text = r.string(item, key, path);
  const m = HHMM.exec(text);
  if (m === null) r.fail(r.join(path, key), "must be a time of day HH:MM (00:00 to 23:59)");
  return Number(m[1]) * 60 + Number(m[2]);
}

export function parseQuietTime(raw: unknown, path: string): QuietTime {
  const item = r.obj(raw, path);
  const start = minute(item, "start", path);
  const end = minute(item, "end", path);
  if (start === end) r.fail(r.join(path, "end"), "must differ from start");
  return new QuietTime(start, end);
}

/** A time zone the device can compute local time in. */
export interface Zone {
  readonly name: string;
  readonly format: Intl.DateTimeFormat;
}

const zones = new Map<string, Zone | null>();

/** The zone for an IANA name, or `null` when unknown or invalid. */
export function zone(name: string | null | undefined): Zone | null {
  if (!name) return null;
  const cached = zones.get(name);
  if (cached !== undefined) return cached;
  let found: Zone | null = null;
  // Offsets ("+01:00") are not zone names; names differ from a known zone only by case are not
  // the zone either (zone names are case sensitive).
  if (/^[A-Za-z]/.test(name) && !name.includes("..")) {
    try {
      const format = new Intl.DateTimeFormat("en-US", {
        timeZone: name,
        hourCycle: "h23",
        year: "numeric",
        month: "numeric",
        day: "numeric",
        hour: "numeric",
        minute: "numeric",
      });
      const resolved = format.resolvedOptions().timeZone;
      if (resolved === name || resolved.toLowerCase() !== name.toLowerCase()) found = { name, format };
    } catch {
      found = null;
    }
  }
  if (zones.size > 256) zones.clear();
  zones.set(name, found);
  return found;
}

interface Local {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

/** The wall-clock time at `nowMs` in `tz` (UTC when `tz` is null). */
export function localTime(nowMs: number, tz: Zone | null): Local {
  if (tz === null) {
    const d = new Date(nowMs);
    return {
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      hour: d.getUTCHours(),
      minute: d.getUTCMinutes(),
    };
  }
  const out: Local = { year: 0, month: 0, day: 0, hour: 0, minute: 0 };
  for (const part of tz.format.formatToParts(nowMs)) {
    if (part.type in out) (out as unknown as Record<string, number>)[part.type] = Number(part.value);
  }
  return out;
}

export function localMinute(nowMs: number, tz: Zone): number {
  const t = localTime(nowMs, tz);
  return t.hour * 60 + t.minute;
}

/** Number of the calendar day at `nowMs` in `tz` (UTC when unknown). */
export function localDay(nowMs: number, tz: Zone | null): number {
  const t = localTime(nowMs, tz);
  return Math.floor(Date.UTC(t.year, t.month - 1, t.day) / 86_400_000);
}
