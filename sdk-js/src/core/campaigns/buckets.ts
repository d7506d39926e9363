/**
 * Deterministic holdout and treatment assignment (MurmurHash3 x86 32-bit, seed 0, unsigned), so
 * the same user lands in the same bucket on every device, in every SDK and on the server.
 */

import type { Json, JsonObject } from "../json";
import * as r from "./reader";
import { formatG, pyRepr } from "../text";

const encoder = new TextEncoder();

/** MurmurHash3 x86 32-bit of the UTF-8 bytes of `text`, seed 0, as an unsigned int. */
export function murmur3_32(text: string, seed = 0): number {
  const data = encoder.encode(text);
  const len = data.length;
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = seed >>> 0;
  const blocks = len & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k =
      (data[i] as number) |
      ((data[i + 1] as number) << 8) |
      ((data[i + 2] as number) << 16) |
      ((data[i + 3] as number) << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  let k = 0;
  const tail = len & 3;
  if (tail === 3) k ^= (data[blocks + 2] as number) << 16;
  if (tail >= 2) k ^= (data[blocks + 1] as number) << 8;
  if (tail >= 1) {
    k ^= data[blocks] as number;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** One A/B arm: `sizePercent` of users; `content` overrides the campaign content. */
export class Treatment {
  constructor(
    readonly id: string,
    readonly sizePercent: number,
    readonly content: JsonObject | null,
  ) {}
}

/** 0..9999; the user is held out when it is below `holdoutPercent * 100`. */
export function holdoutBucket(campaignId: string, userKey: string): number {
  return murmur3_32(`${campaignId}/${userKey}`) % 10000;
}

export function inHoldout(campaignId: string, userKey: string, holdoutPercent: number): boolean {
  return holdoutBucket(campaignId, userKey) < holdoutPercent * 100;
}

/** Walk the cumulative `sizePercent` with `murmur3_32("{id}/treatment/{user}") % 100`. */
export function pickTreatment(
  campaignId: string,
  userKey: string,
  treatments: readonly Treatment[],
): Treatment | null {
  if (!treatments.length) return null;
  const bucket = murmur3_32(`${campaignId}/treatment/${userKey}`) % 100;
  let cumulative = 0;
  for (const t of treatments) {
    cumulative += t.sizePercent;
    if (bucket < cumulative) return t;
  }
  return treatments[treatments.length - 1] as Treatment;
}

export function parseTreatments(raw: Json, path: string, campaignType: string): Treatment[] {
  const items = r.arr(raw, path);
  if (!items.length) r.fail(path, "must be a non-empty array when present");
  const out: Treatment[] = [];
  const seen = new Set<string>();
  let total = 0;
  items.forEach((value, i) => {
    const itemPath = `${path}[${i}]`;
    const item = r.obj(value, itemPath);
    let rawId: Json = r.get(item, "id");
    if ((typeof rawId === "number" && Number.isSafeInteger(rawId)) || typeof rawId === "bigint") {
      rawId = String(rawId);
    }
    if (typeof rawId !== "string" || !rawId) r.fail(r.join(itemPath, "id"), "must be a non-empty string");
    if (seen.has(rawId)) r.fail(r.join(itemPath, "id"), `duplicate treatment id ${pyRepr(rawId)}`);
    seen.add(rawId);
    const size = r.number(item, "sizePercent", itemPath);
    if (!(size >= 0 && size <= 100)) r.fail(r.join(itemPath, "sizePercent"), "must be between 0 and 100");
    total += size;
    const content = r.optObj(item, "content", itemPath);
    if (content !== null && campaignType === "DeepLink") {
      const url = r.get(content, "url");
      if (typeof url !== "string" || !url) r.fail(`${itemPath}.content.url`, "must be a non-empty string");
    }
    out.push(new Treatment(rawId, size, content));
  });
  if (Math.abs(total - 100) > 1e-9) r.fail(path, `sizePercent values must sum to 100 (got ${formatG(total)})`);
  return out;
}
