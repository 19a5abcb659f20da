import { describe, expect, it } from "vitest";
import { CsiError, toStatus } from "./errors.ts";

describe("toStatus", () => {
  it("keeps the code of a CsiError", () => {
    expect(toStatus(new CsiError("NOT_FOUND", "volume x does not exist"))).toEqual({
      code: 5,
      codeName: "NOT_FOUND",
      details: "volume x does not exist",
    });
  });

  it("turns any other error into INTERNAL with its message", () => {
    expect(toStatus(new Error("EIO: i/o error"))).toEqual({
      code: 13,
      codeName: "INTERNAL",
      details: "EIO: i/o error",
    });
    expect(toStatus("thrown string")).toEqual({ code: 13, codeName: "INTERNAL", details: "thrown string" });
  });
});
