/**
 * Errors the driver answers with. Every failure a handler wants the caller to see is a {@link CsiError}
 * carrying the gRPC status the CSI spec prescribes; {@link toStatus} turns anything thrown into the
 * status sent on the wire.
 */

/** gRPC status codes (fixed by the gRPC wire protocol), by name. */
export const Status = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

export type StatusName = keyof typeof Status;

/** A failure with the gRPC status the caller should receive. */
export class CsiError extends Error {
  override name = "CsiError";
  readonly code: StatusName;

  constructor(code: StatusName, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** What goes on the wire for a failed call. */
export type WireStatus = {
  code: number;
  codeName: StatusName;
  details: string;
};

/** Normalises anything thrown by a handler: CsiErrors keep their code, everything else is INTERNAL. */
export function toStatus(error: unknown): WireStatus {
  if (error instanceof CsiError) {
    return { code: Status[error.code], codeName: error.code, details: error.message };
  }
  const details = error instanceof Error ? error.message : String(error);
  return { code: Status.INTERNAL, codeName: "INTERNAL", details };
}

/** Shorthand for the most common failure: a request field is missing or malformed. */
export function invalidArgument(message: string): CsiError {
  return new CsiError("INVALID_ARGUMENT", message);
}
