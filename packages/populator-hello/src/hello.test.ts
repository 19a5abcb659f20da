import { describe, expect, it } from "vitest";
import { checkHelloSpec, helloFileBytes, MAX_FILE_CONTENTS_BYTES } from "./hello.ts";

describe("checkHelloSpec", () => {
  it("accepts the walkthrough's Hello", () => {
    expect(checkHelloSpec({ fileName: "example.txt", fileContents: "Hello, world!" })).toEqual({
      ok: true,
      spec: { fileName: "example.txt", fileContents: "Hello, world!" },
    });
  });

  it.each(["../etc/passwd", "/etc/passwd", "a/b", "..", ".", "x\0y"])(
    "refuses the file name %j",
    (fileName) => {
      const check = checkHelloSpec({ fileName, fileContents: "x" });
      expect(check.ok).toBe(false);
      if (!check.ok) expect(check.problems[0]).toMatch(/must be a plain file name/);
    },
  );

  it("names every missing field", () => {
    expect(checkHelloSpec({})).toEqual({
      ok: false,
      problems: ["spec.fileName is required", "spec.fileContents is required"],
    });
    expect(checkHelloSpec(null)).toMatchObject({ ok: false });
  });

  it("refuses contents over the limit, counted in bytes not characters", () => {
    const chars = "你".repeat(Math.floor(MAX_FILE_CONTENTS_BYTES / 3) + 1);
    expect(checkHelloSpec({ fileName: "a", fileContents: chars })).toEqual({
      ok: false,
      problems: [`spec.fileContents is larger than ${MAX_FILE_CONTENTS_BYTES} bytes`],
    });
  });
});

describe("helloFileBytes", () => {
  it("writes the contents as UTF-8 with a trailing newline", () => {
    expect(helloFileBytes({ fileName: "a", fileContents: "你好，世界！" }).toString("utf8")).toBe(
      "你好，世界！\n",
    );
  });
});
