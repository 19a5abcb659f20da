import { describe, expect, it } from "vitest";
import { quantityToBytes } from "./quantity.ts";

describe("quantityToBytes", () => {
  it.each([
    ["1Gi", 1073741824],
    ["10Mi", 10485760],
    ["500M", 500_000_000],
    ["1.5Gi", 1610612736],
    ["1e3", 1000],
    ["1024", 1024],
    ["100m", 1],
  ])("reads %s as %d bytes", (quantity, bytes) => {
    expect(quantityToBytes(quantity)).toBe(bytes);
  });

  it.each([
    ["", undefined],
    ["Gi", undefined],
    ["1GB", undefined],
    ["-1Gi", undefined],
  ])("refuses %j", (quantity) => {
    expect(quantityToBytes(quantity)).toBeUndefined();
  });
});
