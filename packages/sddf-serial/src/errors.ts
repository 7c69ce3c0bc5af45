/**
 * The one error family of @vmmux/sddf-serial. Only configuration mistakes made by the
 * system builder throw; anything a client or the driver can cause at run time is
 * counted and contained (DESIGN.md "Conventions").
 */

export type SerialVirtErrorCode =
  | "BAD_CLIENT_COUNT"
  | "BAD_CHANNEL"
  | "BAD_BEGIN_STR"
  | "BAD_CLIENT_NAME"
  | "BAD_SWITCH_CHAR"
  | "PROFILE_MISMATCH"
  | "BAD_PROFILE"
  | "BAD_SCHEME";

/** A configuration record that the real sdfgen/virtualiser would reject or misbehave on. */
export class SerialVirtError extends Error {
  constructor(
    readonly code: SerialVirtErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "SerialVirtError";
  }
}
