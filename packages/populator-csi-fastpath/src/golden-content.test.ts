import { describe, expect, it } from "vitest";
import { checkGoldenContentSpec } from "./golden-content.ts";

describe("checkGoldenContentSpec", () => {
  it.each(["base", "ubuntu-24.04", "model_v2", "A1"])("accepts the plain identifier %j", (content) => {
    expect(checkGoldenContentSpec({ content })).toEqual({ ok: true, spec: { content } });
  });

  it.each(["..", ".", ".hidden", "a/b", "../etc", "/abs", "a\0b", "x".repeat(64), "-dash", "a b"])(
    "refuses %j, which is not a plain identifier",
    (content) => {
      const check = checkGoldenContentSpec({ content });
      expect(check.ok).toBe(false);
      if (!check.ok) expect(check.problems[0]).toMatch(/must be a plain identifier/);
    },
  );

  it("refuses a name ending in .img, which would be ambiguous with a block image", () => {
    expect(checkGoldenContentSpec({ content: "disk.img" })).toEqual({
      ok: false,
      problems: ['spec.content must not end with ".img": the suffix is added for Block volumes'],
    });
  });

  it.each([{}, { content: "" }, { content: 7 }, null, "base"])(
    "says spec.content is required for %j",
    (spec) => {
      expect(checkGoldenContentSpec(spec)).toEqual({ ok: false, problems: ["spec.content is required"] });
    },
  );
});
