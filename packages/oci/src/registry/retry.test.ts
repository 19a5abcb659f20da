import { describe, expect, it } from "vitest";
import {
  backoffDelay,
  isRetryableNetworkError,
  isRetryableStatus,
  retryAfterDelay,
  tlsFailureCode,
} from "./retry.ts";

const policy = { attempts: 5, initialDelayMs: 100, maxDelayMs: 1000 };

describe("backoffDelay", () => {
  it("doubles from the initial delay, with jitter, up to the cap", () => {
    expect(backoffDelay(policy, 1, () => 0.5)).toBe(100);
    expect(backoffDelay(policy, 2, () => 0.5)).toBe(200);
    expect(backoffDelay(policy, 3, () => 0)).toBe(320);
    expect(backoffDelay(policy, 3, () => 1)).toBe(480);
    expect(backoffDelay(policy, 10, () => 1)).toBe(1000);
  });
});

describe("retryAfterDelay", () => {
  const now = Date.parse("2025-01-01T00:00:00Z");

  it("reads seconds and HTTP dates, capped by the policy", () => {
    expect(retryAfterDelay("0", policy, now)).toBe(0);
    expect(retryAfterDelay("1", policy, now)).toBe(1000);
    expect(retryAfterDelay("3600", policy, now)).toBe(1000);
    expect(retryAfterDelay("Wed, 01 Jan 2025 00:00:00 GMT", policy, now)).toBe(0);
  });

  it("leaves the choice to the backoff when the header is absent or unreadable", () => {
    expect(retryAfterDelay(undefined, policy, now)).toBeUndefined();
    expect(retryAfterDelay("soon", policy, now)).toBeUndefined();
  });
});

describe("what is retried", () => {
  it.each([
    [429, true],
    [500, true],
    [502, true],
    [503, true],
    [504, true],
    [501, false],
    [400, false],
    [401, false],
    [403, false],
    [404, false],
  ])("HTTP %i: %s", (status, expected) => {
    expect(isRetryableStatus(status)).toBe(expected);
  });

  it("retries dropped and refused connections, not TLS trust failures", () => {
    const withCode = (code: string) => Object.assign(new Error(code), { code });
    expect(isRetryableNetworkError(withCode("ECONNREFUSED"))).toBe(true);
    expect(isRetryableNetworkError(withCode("ECONNRESET"))).toBe(true);
    expect(isRetryableNetworkError(new Error("aborted"))).toBe(true);
    expect(isRetryableNetworkError(withCode("SELF_SIGNED_CERT_IN_CHAIN"))).toBe(false);
    expect(tlsFailureCode(withCode("SELF_SIGNED_CERT_IN_CHAIN"))).toBe("SELF_SIGNED_CERT_IN_CHAIN");
    expect(isRetryableNetworkError(new Error("something else"))).toBe(false);
  });
});
