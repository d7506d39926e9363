/**
 * Client options (checked once, at construction, naming the bad option) and the campaign
 * manifest (`{version, campaigns, settings, cohorts}`) fetched from the server.
 */

import { ProjectSettings, parseProjectSettings } from "../core/campaigns/limits";
import { Campaign, parseCampaign } from "../core/campaigns/model";
import { InvalidConfig, InvalidInput } from "../core/errors";
import { fromPlain, isNum, numValue, parseJson } from "../core/json";
import type { Json, JsonObject } from "../core/json";
import { LOG_LEVELS } from "./log";
import type { LogLevel, LogSink, Logger } from "./log";
import type { AppStateLike } from "./lifecycle";
import type { StorageAdapter, SyncStore } from "./storage";
import type { FetchLike } from "./transport";

/** Device attributes an app may set (everything else is detected). */
export interface DeviceOptions {
  deviceId?: string;
  platform?: string;
  osVersion?: string;
  appVersion?: string;
  appInstallVersion?: string;
  country?: string;
  timezone?: string;
  locale?: string;
  model?: string;
  manufacturer?: string;
}

export interface TidingsOptions {
  appId: string;
  /** The app's publishable key (`apiKeyPublic`). */
  apiKeyPublic: string;
  /** Only for code that can keep a secret (a Node service): uploads are then HMAC-signed. */
  apiKeySecret?: string;
  backendUrl: string;
  configUrl?: string;
  /** A manifest (object or JSON text) used until the first fetch succeeds. */
  defaultConfig?: unknown;
  /** Seconds; the server's settings override it once fetched. */
  sessionTimeout?: number;
  logLevel?: LogLevel;
  logSink?: LogSink;
  device?: DeviceOptions;
  /** `AsyncStorage`-style storage for the upload queue (default: IndexedDB, else memory). */
  storage?: StorageAdapter;
  /** Synchronous storage for the journal (default: `localStorage`); `null` for none. */
  syncStorage?: SyncStore | null;
  /** `"browser"` (default where there is a `document`), `"none"`, or React Native's `AppState`. */
  lifecycle?: "browser" | "none" | AppStateLike;
  uploadBatchSize?: number;
  /** Seconds a queued event may wait before it is uploaded. */
  uploadInterval?: number;
  maxQueueEvents?: number;
  /** Seconds. */
  httpTimeout?: number;
  fetch?: FetchLike;
}

export interface ClientConfig {
  appId: string;
  apiKeyPublic: string;
  apiKeySecret: string | null;
  backendUrl: string;
  configUrl: string;
  defaultConfig: Manifest | null;
  sessionTimeoutMs: number;
  logLevel: LogLevel;
  device: DeviceOptions;
  uploadBatchSize: number;
  uploadIntervalMs: number;
  maxQueueEvents: number;
  httpTimeoutMs: number;
}

function text(value: unknown, name: string): string {
  if (typeof value !== "string" || !value.trim()) throw new InvalidConfig(name, "is required (a non-empty string)");
  return value.trim();
}

function url(value: unknown, name: string): string {
  const t = text(value, name);
  let parsed: URL | null = null;
  try {
    parsed = new URL(t);
  } catch {
    parsed = null;
  }
  if (parsed === null || (parsed.protocol !== "http:" && parsed.protocol !== "https:")) {
    throw new InvalidConfig(name, "must be an http(s) URL such as https://tidings.example.com");
  }
  return t.replace(/\/+$/, "");
}

function positive(value: unknown, name: string, dflt: number, allowZero = false): number {
  if (value === undefined) return dflt;
  if (typeof value !== "number" || Number.isNaN(value)) throw new InvalidConfig(name, "must be a number");
  if (value < 0 || (value === 0 && !allowZero)) throw new InvalidConfig(name, "must be a positive number");
  return value;
}

const DEVICE_FIELDS = [
  "deviceId",
  "platform",
  "osVersion",
  "appVersion",
  "appInstallVersion",
  "country",
  "timezone",
  "locale",
  "model",
  "manufacturer",
];

export function buildConfig(o: TidingsOptions): ClientConfig {
  if (o === null || typeof o !== "object") throw new InvalidConfig("options", "must be an object");
  const appId = text(o.appId, "appId");
  const apiKeyPublic = text(o.apiKeyPublic, "apiKeyPublic");
  const apiKeySecret = o.apiKeySecret === undefined || o.apiKeySecret === null ? null : text(o.apiKeySecret, "apiKeySecret");
  const backendUrl = url(o.backendUrl, "backendUrl");
  const configUrl = o.configUrl === undefined ? backendUrl : url(o.configUrl, "configUrl");
  let defaultConfig: Manifest | null = null;
  if (o.defaultConfig !== undefined && o.defaultConfig !== null) {
    let parsed: Json;
    if (typeof o.defaultConfig === "string") {
      try {
        parsed = parseJson(o.defaultConfig);
      } catch (exc) {
        throw new InvalidConfig("defaultConfig", `is not valid JSON: ${(exc as Error).message}`);
      }
    } else parsed = fromPlain(o.defaultConfig);
    defaultConfig = parseManifest(parsed, null, "defaultConfig", true);
  }
  const logLevel = o.logLevel ?? "warn";
  if (!LOG_LEVELS.includes(logLevel)) throw new InvalidConfig("logLevel", `must be one of ${LOG_LEVELS.join(", ")}`);
  const device: DeviceOptions = {};
  for (const [key, value] of Object.entries(o.device ?? {})) {
    if (!DEVICE_FIELDS.includes(key)) throw new InvalidConfig(`device.${key}`, `is not one of ${DEVICE_FIELDS.join(", ")}`);
    if (value !== undefined && value !== null && (typeof value !== "string" || !value)) {
      throw new InvalidConfig(`device.${key}`, "must be a non-empty string or null");
    }
    if (typeof value === "string") (device as Record<string, string>)[key] = value;
  }
  const batch = positive(o.uploadBatchSize, "uploadBatchSize", 100);
  if (!Number.isInteger(batch) || batch > 1000) throw new InvalidConfig("uploadBatchSize", "must be an integer from 1 to 1000");
  const maxQueue = positive(o.maxQueueEvents, "maxQueueEvents", 10_000);
  if (!Number.isInteger(maxQueue)) throw new InvalidConfig("maxQueueEvents", "must be an integer");
  return {
    appId,
    apiKeyPublic,
    apiKeySecret,
    backendUrl,
    configUrl,
    defaultConfig,
    sessionTimeoutMs: Math.round(positive(o.sessionTimeout, "sessionTimeout", 60, true) * 1000),
    logLevel,
    device,
    uploadBatchSize: batch,
    uploadIntervalMs: positive(o.uploadInterval, "uploadInterval", 5) * 1000,
    maxQueueEvents: maxQueue,
    httpTimeoutMs: positive(o.httpTimeout, "httpTimeout", 10) * 1000,
  };
}

/** The campaign configuration in force. */
export interface Manifest {
  readonly version: string | null;
  readonly campaigns: readonly Campaign[];
  readonly project: ProjectSettings;
  readonly sessionTimeoutMs: number | null;
  readonly configRefreshMs: number | null;
  readonly cohorts: ReadonlySet<string>;
}

function secondsMs(value: Json | undefined): number | null {
  if (value === undefined || typeof value === "boolean" || !isNum(value)) return null;
  const n = Number(numValue(value));
  return n < 0 ? null : Math.round(n * 1000);
}

/**
 * Read a manifest. A campaign the client cannot read is skipped with a warning (a newer server
 * may send fields this client does not know), unless `strict` (the app's own `defaultConfig`).
 */
export function parseManifest(obj: Json, log: Logger | null, source = "config", strict = false): Manifest {
  if (!(obj instanceof Map)) throw new InvalidConfig(source, "must be a JSON object");
  const rawCampaigns = obj.get("campaigns") ?? [];
  if (rawCampaigns !== null && !Array.isArray(rawCampaigns)) throw new InvalidConfig(`${source}.campaigns`, "must be a list");
  const campaigns: Campaign[] = [];
  (rawCampaigns ?? []).forEach((item, i) => {
    try {
      campaigns.push(parseCampaign(item));
    } catch (exc) {
      if (!(exc instanceof InvalidInput)) throw exc;
      if (strict) throw new InvalidConfig(`${source}.campaigns[${i}].${exc.field}`, exc.reason);
      log?.warn(`config: campaign ${i} skipped: ${exc.message}`);
    }
  });
  const settingsRaw = obj.get("settings") ?? new Map();
  if (!(settingsRaw instanceof Map)) throw new InvalidConfig(`${source}.settings`, "must be an object");
  const settings = settingsRaw as JsonObject;
  let project: ProjectSettings;
  try {
    project = parseProjectSettings(settings);
  } catch (exc) {
    if (!(exc instanceof InvalidInput)) throw exc;
    if (strict) throw new InvalidConfig(`${source}.settings.${exc.field}`, exc.reason);
    log?.warn(`config: frequency capping ignored: ${exc.message}`);
    project = new ProjectSettings();
  }
  const cohorts = obj.get("cohorts") ?? [];
  if (cohorts !== null && (!Array.isArray(cohorts) || !cohorts.every((c) => typeof c === "string"))) {
    throw new InvalidConfig(`${source}.cohorts`, "must be a list of cohort ids");
  }
  const version = obj.get("version");
  return {
    version: typeof version === "string" ? version : null,
    campaigns,
    project,
    sessionTimeoutMs: secondsMs(settings.get("sessionTimeoutSeconds")),
    configRefreshMs: secondsMs(settings.get("configRefreshSeconds")),
    cohorts: new Set((cohorts ?? []) as string[]),
  };
}

export type { AppStateLike, FetchLike };
