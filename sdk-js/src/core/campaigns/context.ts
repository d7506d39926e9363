/** What the engine knows about the device at the moment it judges an event. */

import type { Json } from "../json";
import type { DeviceProfile } from "../profile";

/**
 * The device side of targeting, holdout and the session rules. `sessionCounter` is the number
 * of sessions this device has started (1 during the first); `foreground` false means the app is
 * backgrounded: events are counted but never trigger.
 */
export interface EvaluationContext {
  readonly profile: DeviceProfile;
  readonly userId: string | null;
  readonly customProperties: ReadonlyMap<string, Json>;
  readonly sessionId: string | null;
  readonly sessionCounter: number;
  readonly cohorts: ReadonlySet<string>;
  readonly foreground: boolean;
}

/** The identity holdout and treatments hash: the user id when set, else the device id. */
export function userKey(ctx: EvaluationContext): string {
  return ctx.userId ? ctx.userId : ctx.profile.deviceId;
}
