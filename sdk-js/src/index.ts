/**
 * Tidings for web and React Native apps: sessions, events and campaigns evaluated on the
 * device by the same engine as the Python SDK, uploaded in batches to a Tidings server.
 */

export { Tidings, SDK_VERSION } from "./sdk/client";
export type { DeepLinkListener, RateReviewHandler, SystemEventsListener, TidingsEvent } from "./sdk/client";
export type { DeviceOptions, TidingsOptions } from "./sdk/config";
export type { GateDecision, Presenter, Resolution } from "./sdk/gates";
export type { AppStateLike } from "./sdk/lifecycle";
export type { LogLevel, LogSink } from "./sdk/log";
export { IndexedDBStorage, MemoryStorage, MemorySyncStore } from "./sdk/storage";
export type { StorageAdapter, SyncStore } from "./sdk/storage";
export type { ActionInfo } from "./core/actions";
export { InvalidConfig, InvalidEvent, InvalidInput, TidingsError } from "./core/errors";
export { murmur3_32 } from "./core/campaigns/buckets";
