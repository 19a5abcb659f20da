import { describe, expect, it } from "vitest";
import { defaultSettings, retryDelayMs, withDefaults } from "./settings.ts";

describe("withDefaults", () => {
  it("fills every setting but the namespace with its default, and no image", () => {
    expect(withDefaults({ namespace: "volpop" })).toEqual({
      namespace: "volpop",
      imageName: undefined,
      maxAttempts: 5,
      retryBaseDelayMs: 10_000,
      retryMaxDelayMs: 300_000,
      retainOnFailure: false,
      allowCrossNamespace: false,
      progressIntervalMs: 10_000,
      referenceGrantRecheckMs: 15_000,
      podStartTimeoutMs: 300_000,
    });
  });

  it("keeps what the caller sets, including false and zero", () => {
    const settings = withDefaults({
      namespace: "volpop",
      imageName: "hello:1",
      maxAttempts: 1,
      retryBaseDelayMs: 0,
      retainOnFailure: true,
      allowCrossNamespace: true,
    });
    expect(settings).toMatchObject({
      imageName: "hello:1",
      maxAttempts: 1,
      retryBaseDelayMs: 0,
      retainOnFailure: true,
      allowCrossNamespace: true,
      retryMaxDelayMs: defaultSettings.retryMaxDelayMs,
    });
  });

  it("leaves the shared defaults alone", () => {
    const before = { ...defaultSettings };
    withDefaults({ namespace: "volpop", maxAttempts: 9 });
    expect(defaultSettings).toEqual(before);
  });
});

describe("retryDelayMs", () => {
  const settings = withDefaults({ namespace: "volpop", retryBaseDelayMs: 10_000, retryMaxDelayMs: 60_000 });

  it.each([
    [-1, 0],
    [0, 0],
    [1, 10_000],
    [2, 20_000],
    [3, 40_000],
    [4, 60_000],
    [30, 60_000],
  ])("waits before the attempt after %i failures for %i ms", (failures, delay) => {
    expect(retryDelayMs(settings, failures)).toBe(delay);
  });

  it("never waits with a zero base delay", () => {
    expect(retryDelayMs({ ...settings, retryBaseDelayMs: 0 }, 3)).toBe(0);
  });

  it("stays at the cap however many failures there were", () => {
    expect(retryDelayMs(settings, 2_000)).toBe(60_000);
  });
});
