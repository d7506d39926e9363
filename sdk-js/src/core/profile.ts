/** What the device knows about itself: the `@device` attributes targeting reads. */

/**
 * Static device attributes. Every field but `deviceId` may be unknown (`null`).
 * `timezone` is an IANA name; `installTime` is epoch ms; `application` is the app id the
 * campaign `application` slot compares against.
 */
export interface DeviceProfile {
  readonly deviceId: string;
  readonly platform?: string | null;
  readonly osVersion?: string | null;
  readonly appVersion?: string | null;
  readonly appInstallVersion?: string | null;
  readonly country?: string | null;
  readonly timezone?: string | null;
  readonly installTime?: number | bigint | null;
  readonly application?: string | null;
}
