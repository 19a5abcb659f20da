import { describe, expect, it } from "vitest";
import { showsWrite } from "./resource-version.ts";

describe("showsWrite", () => {
  it("is shown by the version written and by any later one", () => {
    expect(showsWrite("6309", "6309")).toBe(true);
    expect(showsWrite("6310", "6309")).toBe(true);
    // Numbers, not strings: "10000" sorts before "9999" as text.
    expect(showsWrite("10000", "9999")).toBe(true);
  });

  it("is not shown by an earlier version or by nothing", () => {
    expect(showsWrite("6308", "6309")).toBe(false);
    expect(showsWrite("9999", "10000")).toBe(false);
    expect(showsWrite(undefined, "1")).toBe(false);
  });

  it("falls back to equality for versions that are not numbers", () => {
    expect(showsWrite("abc", "abc")).toBe(true);
    expect(showsWrite("abd", "abc")).toBe(false);
    expect(showsWrite("7", "abc")).toBe(false);
  });
});
