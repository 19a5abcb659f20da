import { spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { withPrivateScratch } from "./private-scratch.ts";

const module = path.join(import.meta.dirname, "private-scratch.ts");

/** A process that makes a scratch folder, writes a "secret" in it, prints its path and waits. */
async function waitingProcess() {
  const child = spawn(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `const { withPrivateScratch } = await import(${JSON.stringify(module)});
       const fs = await import("node:fs");
       await withPrivateScratch("volpop-scratch-test-", async (dir) => {
         fs.writeFileSync(dir + "/auth.json", "secret", { mode: 0o600 });
         console.log(dir);
         await new Promise((resolve) => setInterval(() => {}, 1000));
       });`,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const [line] = (await once(child.stdout, "data")) as [Buffer];
  return { child, dir: line.toString().trim() };
}

describe("withPrivateScratch", () => {
  it.each(["SIGINT", "SIGTERM"] as const)(
    "removes the folder when %s interrupts the work, then dies of it",
    async (signal) => {
      const { child, dir } = await waitingProcess();
      expect(fs.existsSync(path.join(dir, "auth.json"))).toBe(true);
      expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
      const exited = once(child, "exit");
      child.kill(signal);
      const [code, killedBy] = await exited;
      expect({ code, killedBy }).toEqual({ code: null, killedBy: signal });
      expect(fs.existsSync(dir)).toBe(false);
    },
  );

  it("removes the folder when the work fails, and leaves no signal handler behind", async () => {
    const before = process.listenerCount("SIGINT");
    let seen = "";
    await expect(
      withPrivateScratch("volpop-scratch-test-", async (dir) => {
        seen = dir;
        throw new Error("push failed");
      }),
    ).rejects.toThrow("push failed");
    expect(fs.existsSync(seen)).toBe(false);
    expect(process.listenerCount("SIGINT")).toBe(before);
  });
});
