import fs from "node:fs";
import path from "node:path";
import { readSpec, SPEC_ENV } from "@volpop/sdk";
import { crdSpecSchema } from "@volpop/sdk/testing";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { helloFileBytes, helloSpec, MAX_FILE_CONTENTS_BYTES } from "./hello.ts";

const HOSTILE_NAMES = ["../etc/passwd", "/etc/passwd", "a/b", "..", ".", "x\0y"];

describe("helloSpec.validate", () => {
  it("accepts the walkthrough's Hello", () => {
    expect(helloSpec.validate({ fileName: "example.txt", fileContents: "Hello, world!" })).toEqual({
      ok: true,
      spec: { fileName: "example.txt", fileContents: "Hello, world!" },
    });
  });

  it.each(HOSTILE_NAMES)("refuses the file name %j", (fileName) => {
    const check = helloSpec.validate({ fileName, fileContents: "x" });
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.problems).toEqual([expect.stringMatching(/must be a plain file name/)]);
  });

  it("names every missing field", () => {
    expect(helloSpec.validate({})).toEqual({
      ok: false,
      problems: ["spec.fileName is required", "spec.fileContents is required"],
    });
    expect(helloSpec.validate({ fileName: "", fileContents: "x" })).toEqual({
      ok: false,
      problems: ["spec.fileName is required"],
    });
    expect(helloSpec.validate(null)).toEqual({ ok: false, problems: ["spec must be an object"] });
  });

  it("refuses contents over the limit, counted in bytes not characters", () => {
    const chars = "你".repeat(Math.floor(MAX_FILE_CONTENTS_BYTES / 3) + 1);
    expect(helloSpec.validate({ fileName: "a", fileContents: chars })).toEqual({
      ok: false,
      problems: [`spec.fileContents is larger than ${MAX_FILE_CONTENTS_BYTES} bytes`],
    });
  });

  it("is the schema deploy/crd.yaml gives the API server", () => {
    const crd = parse(fs.readFileSync(path.join(import.meta.dirname, "../deploy/crd.yaml"), "utf8"));
    expect(crdSpecSchema(crd)).toEqual(helloSpec.openApiSchema());
  });
});

describe("populate mode's spec", () => {
  const env = (spec: unknown) => ({ [SPEC_ENV]: JSON.stringify(spec) });

  it("is the controller's, checked again", () => {
    const spec = { fileName: "zh.txt", fileContents: "你好，世界！\n$(HOME) $$" };
    expect(readSpec(helloSpec.validate, env(spec))).toEqual(spec);
  });

  // Whoever set the pod's env, populate mode refuses what the controller would have refused.
  it.each(HOSTILE_NAMES)("refuses the file name %j before writing anything", (fileName) => {
    expect(() => readSpec(helloSpec.validate, env({ fileName, fileContents: "x" }))).toThrow(
      /^refusing to populate: spec.fileName .*must be a plain file name/,
    );
  });

  it("says which field is missing", () => {
    expect(() => readSpec(helloSpec.validate, env({}))).toThrow(
      "refusing to populate: spec.fileName is required; spec.fileContents is required",
    );
  });
});

describe("helloFileBytes", () => {
  it("writes the contents as UTF-8 with a trailing newline", () => {
    expect(helloFileBytes({ fileName: "a", fileContents: "你好，世界！" }).toString("utf8")).toBe(
      "你好，世界！\n",
    );
  });
});
