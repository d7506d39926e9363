/**
 * The core: pure, deterministic logic shared with the Python SDK rule for rule. Time comes in as
 * `nowMs`; nothing here does I/O, reads a clock or starts a timer.
 */

export { CampaignEngine, Decision, EngineState } from "./campaigns/engine";
export type { Status } from "./campaigns/engine";
export { Campaign, parseCampaign, parseCampaigns } from "./campaigns/model";
export { ProjectSettings, parseProjectSettings } from "./campaigns/limits";
export { murmur3_32, holdoutBucket, pickTreatment } from "./campaigns/buckets";
export { Device, DeviceState } from "./device";
export type { Output } from "./device";
export { EventRecord, SYSTEM_EVENT_NAMES } from "./events";
export { InvalidCampaign, InvalidConfig, InvalidEvent, InvalidInput, InvalidScenario, TidingsError } from "./errors";
export { IdFactory } from "./ids";
export { PyFloat, parseJson, writeJson } from "./json";
export type { DeviceProfile } from "./profile";
