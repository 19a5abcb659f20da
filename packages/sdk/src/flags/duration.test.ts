import { describe, expect, it } from "vitest";
import { formatGoDuration, parseGoDuration } from "./duration.ts";

describe("formatGoDuration", () => {
  it.each([
    [0, "0s"],
    [15_000, "15s"],
    [90_000, "1m30s"],
    [60_000, "1m0s"],
    [3_600_000, "1h0m0s"],
    [9_900_000, "2h45m0s"],
    [2_500, "2.5s"],
    [500, "500ms"],
    [1.5, "1.5ms"],
    [0.001, "1µs"],
    [0.0015, "1.5µs"],
    [0.000_001, "1ns"],
    [-2_000, "-2s"],
  ])("writes %d ms as Go writes it: %s", (ms, text) => {
    expect(formatGoDuration(ms)).toBe(text);
  });

  it.each(["15s", "1m30s", "1h0m0s", "2.5s", "500ms", "1.5µs", "-2s"])(
    "writes %s back as parseGoDuration read it",
    (text) => {
      expect(formatGoDuration(parseGoDuration(text))).toBe(text);
    },
  );
});
