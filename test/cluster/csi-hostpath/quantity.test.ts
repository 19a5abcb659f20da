import { describe, expect, it } from "vitest";
import { parseQuantity } from "./quantity.ts";

describe("parseQuantity", () => {
  it.each([
    ["1024", 1024],
    ["10Gi", 10 * 2 ** 30],
    ["512Mi", 512 * 2 ** 20],
    ["4Ki", 4096],
    ["1Ti", 2 ** 40],
    ["2G", 2e9],
    ["3k", 3000],
    [" 5Mi ", 5 * 2 ** 20],
  ])("reads %j as %d bytes", (text, bytes) => {
    expect(parseQuantity(text)).toBe(bytes);
  });

  it.each(["", "Gi", "1.5Gi", "-1Gi", "0", "10GB", "10 Gi", "1Ei", "99999999999Pi"])("rejects %j", (text) => {
    expect(() => parseQuantity(text)).toThrow(/invalid size/);
  });
});
