/**
 * One error hierarchy: every error caused by bad input names *where* (a field path such as
 * `properties['price']` or `triggering.repeat.repeatValue[0]`) and *what*, and its message is
 * `"<field>: <reason>"`, the same text the Python SDK uses for the same input.
 */

export class TidingsError extends Error {
  override name = "TidingsError";
}

/** Bad input, with the path of the offending field (`""` when the whole value is wrong). */
export class InvalidInput extends TidingsError {
  override name = "InvalidInput";
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(field ? `${field}: ${reason}` : reason);
  }
}

/** An event name or property map breaks the event rules. */
export class InvalidEvent extends InvalidInput {
  override name = "InvalidEvent";
}

/** A campaign definition is malformed; `field` is its JSON path. */
export class InvalidCampaign extends InvalidInput {
  override name = "InvalidCampaign";
}

/** A scenario is malformed; `field` is its JSON path. */
export class InvalidScenario extends InvalidInput {
  override name = "InvalidScenario";
}

/** Client configuration is missing or malformed (code `AMP_INVALID_CONFIG`). */
export class InvalidConfig extends InvalidInput {
  override name = "InvalidConfig";
  readonly code = "AMP_INVALID_CONFIG";
}
