import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { fakePopulator } from "./internal/fixtures.ts";
import { detectTarget, TARGET_ENV, targetPaths } from "./populate.ts";
import { runPopulator } from "./run.ts";
import { SPEC_ENV } from "./spec-env.ts";

describe("populate mode's target", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), "volpop-populate-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(() => vi.unstubAllEnvs());

  it.each([
    { env: {}, expected: {} },
    { env: { [TARGET_ENV]: "" }, expected: {} },
    { env: { [TARGET_ENV]: "/tmp/out" }, expected: { devicePath: "/tmp/out", mountPath: "/tmp/out" } },
  ])("is looked for at $expected when the env is $env", ({ env, expected }) => {
    expect(targetPaths(env)).toEqual(expected);
  });

  it("is the directory $VOLPOP_TARGET names, so that a populator runs by hand outside a pod", () => {
    expect(detectTarget(targetPaths({ [TARGET_ENV]: dir }))).toEqual({ kind: "directory", path: dir });
  });

  it("is refused, naming the path, when $VOLPOP_TARGET names nothing", () => {
    const missing = path.join(dir, "missing");
    expect(() => detectTarget(targetPaths({ [TARGET_ENV]: missing }))).toThrow(
      `neither a block device at ${missing} nor a directory at ${missing}`,
    );
  });

  it("is where runPopulator's populate mode writes when $VOLPOP_TARGET is set", async () => {
    vi.stubEnv(TARGET_ENV, dir);
    vi.stubEnv(SPEC_ENV, JSON.stringify({ fileName: "out.txt", contents: "hi" }));
    const code = await runPopulator(
      {
        populator: fakePopulator(),
        version: "1.0.0",
        programName: "hello-populator",
        defaults: { namespace: "hello" },
        async populate({ target, spec }) {
          await writeFile(path.join(target.path, spec.fileName), spec.contents);
        },
      },
      ["--mode=populate", "--log-level=error"],
    );
    expect(code).toBe(0);
    expect(readFileSync(path.join(dir, "out.txt"), "utf8")).toBe("hi");
  });
});
