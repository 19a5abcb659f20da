import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { failpoint, failpointLine } from "./failpoints.ts";

const run = promisify(execFile);

describe("failpoints", () => {
  it("let the code pass when none is armed", async () => {
    await expect(failpoint("after:createPod")).resolves.toBeUndefined();
  });

  it("stop the process dead at an armed point, saying which on stderr", async () => {
    // A child armed at one point: it reaches it and hangs, so only the timeout ends it.
    const script = `
      const { failpoint } = await import(${JSON.stringify(new URL("./failpoints.ts", import.meta.url).pathname)});
      await failpoint("before:createPod");
      console.log("passed the unarmed point");
      await failpoint("after:createPod");
      console.log("passed the armed point");
    `;
    const child = run(process.execPath, ["--input-type=module", "-e", script], {
      env: { ...process.env, VOLPOP_FAILPOINTS: "after:createPod,after:rebindPv" },
      timeout: 3000,
    });
    const failure = await child.then(
      () => undefined,
      (error: { stdout: string; stderr: string; killed: boolean }) => error,
    );
    expect(failure?.killed).toBe(true);
    expect(failure?.stdout).toBe("passed the unarmed point\n");
    expect(failure?.stderr).toContain(failpointLine("after:createPod"));
  });
});
