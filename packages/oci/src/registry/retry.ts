/**
 * When to try a registry request again, and how long to wait first. Retried: network failures,
 * 429 and 5xx (registries and the storage they redirect to fail this way under load or during a
 * rollout). Not retried: other 4xx, which say something about the request that waiting won't change.
 */

export interface RetryPolicy {
  /** Tries in all, the first included; 1 means no retry. */
  readonly attempts: number;
  /** Wait before the first retry; each later one doubles it, with ±20 % jitter. */
  readonly initialDelayMs: number;
  /** Longest wait between tries, also the cap on a server's `Retry-After`. */
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { attempts: 5, initialDelayMs: 500, maxDelayMs: 30_000 };

/** The wait before retry number `retry` (1 for the first retry). */
export function backoffDelay(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const exponential = policy.initialDelayMs * 2 ** Math.max(0, retry - 1);
  const jittered = exponential * (0.8 + 0.4 * random());
  return Math.round(Math.min(policy.maxDelayMs, jittered));
}

/**
 * A `Retry-After` value (seconds or an HTTP date) in milliseconds, capped by the policy; undefined
 * when absent or unreadable, so the caller falls back to its own backoff.
 */
export function retryAfterDelay(
  header: string | undefined,
  policy: RetryPolicy,
  now = Date.now(),
): number | undefined {
  if (header === undefined) return undefined;
  const text = header.trim();
  let delay: number;
  if (/^\d+$/.test(text)) delay = Number(text) * 1000;
  else {
    const date = Date.parse(text);
    if (Number.isNaN(date)) return undefined;
    delay = Math.max(0, date - now);
  }
  return Math.min(delay, policy.maxDelayMs);
}

/** Whether an HTTP status is worth another try. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 408 || (status >= 500 && status !== 501 && status !== 505);
}

const RETRYABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ERR_STREAM_PREMATURE_CLOSE",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
]);

/** Whether a thrown error is a network failure worth another try (not TLS trust, not our own errors). */
export function isRetryableNetworkError(error: unknown): boolean {
  const code = errorCode(error);
  if (code !== undefined && RETRYABLE_CODES.has(code)) return true;
  // Node reports a response cut short as a bare "aborted" or "socket hang up".
  const message = error instanceof Error ? error.message : "";
  return message === "aborted" || message === "socket hang up";
}

const TLS_CODES = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "EPROTO",
  "ERR_SSL_WRONG_VERSION_NUMBER",
]);

/** The code of a TLS failure (untrusted or mismatched certificate, HTTPS to a plain HTTP port…), if it is one. */
export function tlsFailureCode(error: unknown): string | undefined {
  const code = errorCode(error);
  return code !== undefined && TLS_CODES.has(code) ? code : undefined;
}

/** `error.code` when it is a string, as Node's system and TLS errors have. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null || !("code" in error)) return undefined;
  return typeof error.code === "string" ? error.code : undefined;
}

/** Waits `ms`, or rejects with the signal's reason when it is aborted first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
