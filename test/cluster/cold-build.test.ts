import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkColdBuild } from "./build.ts";

// CI's machine keeps ~/.cache/volpop warm, so `up` skips every build there and a broken build step
// would pass CI and fail the first new user. This builds the smallest recipe from nothing through the
// same function `up` uses, on every run.
describe("the cold build path", () => {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "volpop-cold-build-"));
  afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

  it("builds the pause recipe into an empty cache with an empty Go build cache, and the binary runs", async () => {
    const binary = await checkColdBuild(scratch);
    expect(fs.existsSync(path.join(path.dirname(path.dirname(binary)), ".complete"))).toBe(true);
    // pause holds a pod's namespaces until told to stop: it must start, then exit 0 on SIGTERM.
    const child = spawn(binary, [], { stdio: "ignore" });
    await new Promise((resolve) => setTimeout(resolve, 200));
    child.kill("SIGTERM");
    const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
    expect(code).toBe(0);
  }, 600_000);
});
