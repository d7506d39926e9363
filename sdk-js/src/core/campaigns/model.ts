/**
 * The campaign model: Amply's campaign JSON plus Tidings' delivery extensions, validated once,
 * up front, with every compare value turned into its typed form. `raw` keeps the document.
 */

import { InvalidCampaign } from "../errors";
import type { Json, JsonObject } from "../json";
import { compareText } from "../text";
import { Treatment, parseTreatments } from "./buckets";
import { Limit, NO_LIMIT, parseLimit } from "./limits";
import * as r from "./reader";
import { DEFAULT_REPEAT, Repeat, parseRepeat } from "./repeat";
import { QuietTime, Schedule, parseQuietTime, parseSchedule } from "./schedule";
import { parseTargeting } from "./targeting";
import type { Slot } from "./targeting";
import { EventFilter, parseEventFilter } from "./trigger";

export const CAMPAIGN_TYPES = ["DeepLink", "RateReview"];
export const CAMPAIGN_STATES = ["Draft", "Active", "Cancel"];

export class Campaign {
  constructor(
    readonly id: string,
    readonly name: string,
    readonly type: string,
    readonly state: string,
    readonly priority: number | bigint,
    readonly createdAt: number | bigint,
    readonly trigger: EventFilter,
    readonly repeat: Repeat,
    readonly limit: Limit,
    readonly targeting: readonly Slot[],
    readonly content: JsonObject | null,
    readonly schedule: Schedule | null,
    readonly quietTime: QuietTime | null,
    readonly holdoutPercent: number,
    readonly treatments: readonly Treatment[],
    readonly raw: JsonObject,
  ) {}

  get active(): boolean {
    return this.state === "Active";
  }
}

/** Rank order: priority high to low, then earliest created, then id. */
export function compareRank(a: Campaign, b: Campaign): number {
  if (a.priority != b.priority) return a.priority > b.priority ? -1 : 1; // eslint-disable-line eqeqeq
  if (a.createdAt != b.createdAt) return a.createdAt < b.createdAt ? -1 : 1; // eslint-disable-line eqeqeq
  return compareText(a.id, b.id);
}

/** Validate a campaign JSON object; every error is `InvalidCampaign(path, reason)`. */
export function parseCampaign(obj: unknown): Campaign {
  const root = r.obj(obj, "");
  const cid = r.get(root, "id");
  if (typeof cid !== "string" || !cid) r.fail("id", "is required (a non-empty string)");
  const name = r.get(root, "name");
  if (name !== null && typeof name !== "string") r.fail("name", "must be a string");
  const ctype = r.enumValue(root, "type", "", CAMPAIGN_TYPES);
  const state = r.enumValue(root, "state", "", CAMPAIGN_STATES, "Draft");
  const priority = r.integer(root, "priority", "", { dflt: 0 });
  const createdAt = r.integer(root, "createdAt", "", { minimum: 0, dflt: 0 });

  const triggering = r.obj(r.get(root, "triggering"), "triggering");
  const trigger = parseEventFilter(r.get(triggering, "event"), "triggering.event");
  const repeatRaw = r.get(triggering, "repeat");
  const repeat = repeatRaw === null ? DEFAULT_REPEAT : parseRepeat(repeatRaw, "triggering.repeat");
  const limitRaw = r.get(triggering, "limit");
  const limit = limitRaw === null ? NO_LIMIT : parseLimit(limitRaw, "triggering.limit");

  const targeting = parseTargeting(r.get(root, "targeting"));
  const treatmentsRaw = r.get(root, "treatments");
  const treatments = treatmentsRaw === null ? [] : parseTreatments(treatmentsRaw, "treatments", ctype);
  const content = parseContent(root, ctype, treatments);

  const scheduleRaw = r.get(root, "schedule");
  const schedule = scheduleRaw === null ? null : parseSchedule(scheduleRaw, "schedule");
  const quietRaw = r.get(root, "quietTime");
  const quietTime = quietRaw === null ? null : parseQuietTime(quietRaw, "quietTime");
  const holdout = r.number(root, "holdoutPercent", "", 0);
  if (!(holdout >= 0 && holdout <= 100)) r.fail("holdoutPercent", "must be between 0 and 100");

  // Rules across parts, after every part was read, in the Python validator's order.
  if (trigger.name === "SessionFinished") {
    r.fail("triggering.event.name", "a campaign triggered on SessionFinished can never show");
  }
  if (trigger.name === "SessionStarted" && usesSessionEntity(repeat)) {
    r.fail("triggering.repeat.repeatEntity", "a SessionStarted trigger requires repeatEntity 'event'");
  }

  return new Campaign(
    cid,
    name !== null ? name : cid,
    ctype,
    state,
    priority,
    createdAt,
    trigger,
    repeat,
    limit,
    targeting,
    content,
    schedule,
    quietTime,
    holdout,
    treatments,
    root,
  );
}

/** One campaign object or a list of them; paths of list items start with `[i]`. */
export function parseCampaigns(obj: Json): Campaign[] {
  if (Array.isArray(obj)) {
    return obj.map((item, i) => {
      try {
        return parseCampaign(item);
      } catch (exc) {
        if (exc instanceof InvalidCampaign) throw new InvalidCampaign(prefix(i, exc.field), exc.reason);
        throw exc;
      }
    });
  }
  return [parseCampaign(obj)];
}

function prefix(index: number, field: string): string {
  if (!field) return `[${index}]`;
  return field.startsWith("[") ? `[${index}]${field}` : `[${index}].${field}`;
}

function usesSessionEntity(repeat: Repeat | null): boolean {
  while (repeat !== null) {
    if (repeat.entity === "session") return true;
    repeat = repeat.sub;
  }
  return false;
}

function isEmptyObject(value: Json): boolean {
  return value instanceof Map && value.size === 0;
}

function parseContent(root: JsonObject, ctype: string, treatments: readonly Treatment[]): JsonObject | null {
  const raw = r.get(root, "content");
  if (ctype === "RateReview") {
    if (raw !== null && !isEmptyObject(raw)) r.fail("content", "must be null or absent for a RateReview campaign");
    return null;
  }
  if (raw === null) {
    if (treatments.length && treatments.every((t) => t.content !== null)) return null;
    r.fail("content.url", "is required for a DeepLink campaign");
  }
  const content = r.obj(raw, "content");
  const url = r.get(content, "url");
  if (typeof url !== "string" || !url) r.fail("content.url", "is required for a DeepLink campaign (a non-empty string)");
  return content;
}
