/**
 * The SDK's error vocabulary: every failure is a {@link VolpopError} with a stable `code` (used
 * in logs, events and `volpop_reconcile_errors_total`) and the original error as `cause`.
 * Anything thrown from elsewhere becomes one through {@link toVolpopError}.
 */

/** The `code` of each error class; `ApiError` codes are `API_<HTTP status>`. */
export const ErrorCode = {
  Config: "CONFIG",
  SourceInvalid: "SOURCE_INVALID",
  Terminal: "TERMINAL",
  Transient: "TRANSIENT",
  Usage: "USAGE",
  Unknown: "UNKNOWN",
} as const;

/** Options every {@link VolpopError} constructor takes. */
export interface VolpopErrorOptions {
  /** The error this one reports, kept for logs and debugging. */
  cause?: unknown;
}

/** Base of all SDK errors. */
export class VolpopError extends Error {
  /** Stable, machine-readable kind of error: branch on this, never on `message`. */
  readonly code: string;

  /** Creates an error with the given `code`. */
  constructor(code: string, message: string, options: VolpopErrorOptions = {}) {
    super(message, "cause" in options ? { cause: options.cause } : undefined);
    this.code = code;
  }

  // Spelled out in every class rather than read from `constructor.name`, which minifiers rename.
  override name = "VolpopError";
}

/** The populator's configuration (flags, options, environment) is invalid; retrying cannot help. */
export class ConfigError extends VolpopError {
  override name = "ConfigError";

  /** Creates a CONFIG error. */
  constructor(message: string, options: VolpopErrorOptions = {}) {
    super(ErrorCode.Config, message, options);
  }
}

/** The data source custom resource is invalid; `problems` lists each problem for events and status. */
export class SourceInvalidError extends VolpopError {
  override name = "SourceInvalidError";

  /** One human-readable sentence per problem found. */
  readonly problems: readonly string[];

  /** Creates a SOURCE_INVALID error whose message lists the problems. */
  constructor(problems: readonly string[], options: VolpopErrorOptions = {}) {
    super(ErrorCode.SourceInvalid, `invalid data source: ${problems.join("; ")}`, options);
    this.problems = [...problems];
  }
}

/**
 * A failure that retrying will not fix (controller-runtime's `TerminalError`): the controller
 * records it and stops requeueing the PVC until something about it changes.
 */
export class TerminalError extends VolpopError {
  override name = "TerminalError";

  /** Creates a TERMINAL error. */
  constructor(message: string, options: VolpopErrorOptions = {}) {
    super(ErrorCode.Terminal, message, options);
  }
}

/** A failure expected to clear by itself (network, API server unavailable): retry with backoff. */
export class TransientError extends VolpopError {
  override name = "TransientError";

  /** Creates a TRANSIENT error. */
  constructor(message: string, options: VolpopErrorOptions = {}) {
    super(ErrorCode.Transient, message, options);
  }
}

/** A Kubernetes API request failed with an HTTP status; `reason` comes from the `Status` body when there is one. */
export class ApiError extends VolpopError {
  override name = "ApiError";

  /** HTTP status code, e.g. 404. */
  readonly status: number;
  /** The `Status` object's `reason` (`NotFound`, `AlreadyExists`, `Conflict`…), if the body had one. */
  readonly reason: string | undefined;

  /** Creates an `API_<status>` error. */
  constructor(status: number, reason: string | undefined, message: string, options: VolpopErrorOptions = {}) {
    super(`API_${status}`, message, options);
    this.status = status;
    this.reason = reason;
  }
}

// Network failures worth retrying: connection-level errors from node:net and node:dns, and
// undici's (fetch) socket errors, which client-node surfaces directly or as a `cause`.
const TRANSIENT_SYSTEM_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "EAI_AGAIN",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
]);

/**
 * Turns anything thrown into a {@link VolpopError}:
 * - a `VolpopError` is returned as is;
 * - an `@kubernetes/client-node` `ApiException` (recognised by shape: a numeric HTTP `code` and a
 *   `body`, so the SDK need not import client-node) becomes an {@link ApiError};
 * - a network error (`ECONNREFUSED`, `ETIMEDOUT`, undici socket errors…), also when it is the
 *   `cause` of a `fetch failed` error, becomes a {@link TransientError};
 * - anything else becomes a `VolpopError` with code `UNKNOWN`.
 * The original is always kept as `cause`.
 */
export function toVolpopError(error: unknown): VolpopError {
  if (error instanceof VolpopError) return error;
  const api = apiFailure(error);
  if (api !== undefined) return api;
  const systemCode = transientSystemCode(error) ?? transientSystemCode(causeOf(error));
  if (systemCode !== undefined) {
    return new TransientError(`${systemCode}: ${messageOf(error)}`, { cause: error });
  }
  return new VolpopError(ErrorCode.Unknown, messageOf(error), { cause: error });
}

/** Whether `error` is a Kubernetes API "not found" (reason `NotFound`, or a 404 with no other reason). */
export function isNotFound(error: unknown): boolean {
  return hasReason(error, "NotFound", 404);
}

/**
 * Whether `error` is a Kubernetes API write conflict (reason `Conflict`, or a 409 with no other
 * reason). A 409 `AlreadyExists` is not a conflict, as in apimachinery.
 */
export function isConflict(error: unknown): boolean {
  return hasReason(error, "Conflict", 409);
}

/** Whether `error` is a Kubernetes API "already exists" (reason `AlreadyExists`). */
export function isAlreadyExists(error: unknown): boolean {
  // No status fallback: 409 also means Conflict, so only the reason tells the two apart.
  return hasReason(error, "AlreadyExists", undefined);
}

// metav1.StatusReason values other than Unknown, as apimachinery's errors package lists them.
const KNOWN_REASONS = new Set([
  "Unauthorized",
  "Forbidden",
  "NotFound",
  "AlreadyExists",
  "Conflict",
  "Gone",
  "Invalid",
  "ServerTimeout",
  "StoreReadError",
  "Timeout",
  "TooManyRequests",
  "BadRequest",
  "MethodNotAllowed",
  "NotAcceptable",
  "RequestEntityTooLarge",
  "UnsupportedMediaType",
  "InternalError",
  "Expired",
  "ServiceUnavailable",
]);

// apimachinery's rule: the status code stands in for the reason only when the Status names no
// known reason, so that e.g. a 409 AlreadyExists is not taken for a Conflict.
function hasReason(error: unknown, reason: string, fallbackStatus: number | undefined): boolean {
  const normalised = toVolpopError(error);
  if (!(normalised instanceof ApiError)) return false;
  if (normalised.reason === reason) return true;
  const known = normalised.reason !== undefined && KNOWN_REASONS.has(normalised.reason);
  return !known && normalised.status === fallbackStatus;
}

function apiFailure(error: unknown): ApiError | undefined {
  if (!isRecord(error) || !("body" in error)) return undefined;
  // client-node 1.x ApiException has `code`; the 0.x HttpError had `statusCode`.
  const status = typeof error.code === "number" ? error.code : error.statusCode;
  if (typeof status !== "number" || !Number.isInteger(status) || status < 100 || status > 599) {
    return undefined;
  }
  const body = statusBody(error.body);
  const reason = typeof body?.reason === "string" ? body.reason : undefined;
  const detail = typeof body?.message === "string" ? body.message : messageOf(error);
  return new ApiError(status, reason, `Kubernetes API ${status}${reason ? ` ${reason}` : ""}: ${detail}`, {
    cause: error,
  });
}

// client-node hands the body over parsed when the response was JSON and as text otherwise.
function statusBody(body: unknown): Record<string, unknown> | undefined {
  if (typeof body === "string") {
    try {
      const parsed: unknown = JSON.parse(body);
      return isRecord(parsed) ? parsed : undefined;
    } catch {
      return undefined;
    }
  }
  return isRecord(body) ? body : undefined;
}

function transientSystemCode(error: unknown): string | undefined {
  if (!isRecord(error) || typeof error.code !== "string") return undefined;
  return TRANSIENT_SYSTEM_CODES.has(error.code) ? error.code : undefined;
}

function causeOf(error: unknown): unknown {
  return isRecord(error) ? error.cause : undefined;
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === "string") return error;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}
