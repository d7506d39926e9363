/**
 * Who the device is: a random device id made once and kept in the store, the install time, and
 * what the platform tells about itself (time zone from `Intl`, language, user agent platform);
 * the app's `device` option wins over anything detected.
 */

import type { DeviceProfile } from "../core/profile";
import type { DeviceOptions } from "./config";
import { newRequestId } from "./transport";

export interface Identity {
  deviceId: string;
  installTime: number;
}

export function loadIdentity(saved: string | null, nowMs: number, randomBytes: (n: number) => Uint8Array): Identity {
  if (saved) {
    try {
      const data = JSON.parse(saved) as Partial<Identity>;
      if (typeof data.deviceId === "string" && data.deviceId && typeof data.installTime === "number") {
        return { deviceId: data.deviceId, installTime: data.installTime };
      }
    } catch {
      // a damaged record: start over with a new identity
    }
  }
  return { deviceId: newRequestId(randomBytes), installTime: nowMs };
}

function detectedZone(): string | null {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || null;
  } catch {
    return null;
  }
}

function navigatorLocale(): string | null {
  const nav = (globalThis as { navigator?: { language?: string } }).navigator;
  return typeof nav?.language === "string" && nav.language ? nav.language : null;
}

function defaultPlatform(): string {
  const g = globalThis as { document?: unknown; navigator?: { product?: string } };
  if (g.navigator?.product === "ReactNative") return "react-native";
  return g.document !== undefined ? "web" : "node";
}

/** Extra device attributes uploaded with every batch but not read by targeting. */
export interface DeviceExtras {
  locale: string | null;
  model: string | null;
  manufacturer: string | null;
}

export function buildProfile(
  identity: Identity,
  device: DeviceOptions,
  appId: string,
): { profile: DeviceProfile; extras: DeviceExtras } {
  return {
    profile: {
      deviceId: device.deviceId ?? identity.deviceId,
      platform: device.platform ?? defaultPlatform(),
      osVersion: device.osVersion ?? null,
      appVersion: device.appVersion ?? null,
      appInstallVersion: device.appInstallVersion ?? device.appVersion ?? null,
      country: device.country ?? null,
      timezone: device.timezone ?? detectedZone(),
      installTime: identity.installTime,
      application: appId,
    },
    extras: {
      locale: device.locale ?? navigatorLocale(),
      model: device.model ?? null,
      manufacturer: device.manufacturer ?? null,
    },
  };
}

/** The upload envelope's `device` block. */
export function deviceBlock(profile: DeviceProfile, extras: DeviceExtras, sdkVersion: string): Record<string, unknown> {
  const out: Record<string, unknown> = { deviceId: profile.deviceId };
  const fields: Array<[string, unknown]> = [
    ["platform", profile.platform],
    ["osVersion", profile.osVersion],
    ["appVersion", profile.appVersion],
    ["appInstallVersion", profile.appInstallVersion],
    ["country", profile.country],
    ["timezone", profile.timezone],
    ["locale", extras.locale],
    ["model", extras.model],
    ["manufacturer", extras.manufacturer],
  ];
  for (const [k, v] of fields) if (typeof v === "string" && v) out[k] = v.slice(0, 255);
  out["installTime"] = profile.installTime;
  out["sdk"] = { name: "tidings-js", version: sdkVersion };
  return out;
}
