/**
 * What a device hands to the app when a campaign fires: the deep-link URL and the `info` map
 * given to deep-link listeners, rate-review handlers and gate presenters.
 */

import type { Decision } from "./campaigns/engine";
import { toPlain } from "./json";
import type { JsonObject } from "./json";

/** The URL a DeepLink decision opens (the treatment's content wins), or null. */
export function deepLinkUrl(decision: Decision): string | null {
  const content = decision.content;
  if (decision.campaign.type !== "DeepLink" || content === null) return null;
  const url = content.get("url");
  return typeof url === "string" && url ? url : null;
}

export interface ActionInfo {
  campaignId: string;
  campaignName: string;
  triggeringEvent: string;
  triggeringProperties: Record<string, unknown>;
  treatmentId: string;
  url?: string;
  content?: Record<string, unknown>;
}

/** The contract's five keys, plus `url` and `content` when the action has them. */
export function actionInfo(decision: Decision, triggeringProperties: JsonObject, url: string | null = null): ActionInfo {
  const info: ActionInfo = {
    campaignId: decision.campaignId,
    campaignName: decision.campaign.name,
    triggeringEvent: decision.source,
    triggeringProperties: toPlain(triggeringProperties) as Record<string, unknown>,
    treatmentId: decision.treatmentId,
  };
  if (url !== null) info.url = url;
  if (decision.content !== null) info.content = toPlain(decision.content) as Record<string, unknown>;
  return info;
}

/** A gate presenter's `params`: the URL's query string as a flat map (last value wins). */
export function urlParams(url: string): Record<string, string> {
  const out: Record<string, string> = {};
  const hash = url.indexOf("#");
  const withoutHash = hash >= 0 ? url.slice(0, hash) : url;
  const q = withoutHash.indexOf("?");
  if (q < 0) return out;
  for (const part of withoutHash.slice(q + 1).split("&")) {
    if (!part) continue;
    const eq = part.indexOf("=");
    const k = eq >= 0 ? part.slice(0, eq) : part;
    const v = eq >= 0 ? part.slice(eq + 1) : "";
    out[decode(k)] = decode(v);
  }
  return out;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, " "));
  } catch {
    return s;
  }
}
