import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { temporaryDir, writeTree } from "../fixtures.ts";
import { copyRegularFile, type FileCopyRun } from "./copy-file.ts";
import { PopulationFailure } from "./population-failure.ts";
import { walkTree } from "./walk.ts";

describe("copyRegularFile", () => {
  let dir: string;
  let golden: string;
  let secret: string;
  beforeEach(() => {
    dir = temporaryDir();
    golden = path.join(dir, "golden");
    secret = path.join(dir, "secret");
    writeTree(golden, { "data.bin": "golden data" });
    fs.writeFileSync(secret, "the node's secret");
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const run = (wholeFileLimit: number, kernelCopy = false): FileCopyRun => ({
    signal: undefined,
    wholeFileLimit,
    buffer: Buffer.alloc(4),
    clone: "unknown",
    pacer: undefined,
    kernelCopy,
    onBytes: () => {},
  });

  // Whole (libuv's copyfile, which follows a symlink), in chunks, and through cp.
  it.each([
    ["whole", run(1 << 20)],
    ["in chunks", run(0)],
    ["with cp", run(0, true)],
  ])(
    "refuses a file swapped for a symlink after the walk looked at it, copying nothing (%s)",
    async (_how, copyRun) => {
      const target = path.join(dir, "copy");
      let error: unknown;
      for await (const entry of walkTree(golden)) {
        fs.renameSync(path.join(golden, "data.bin"), path.join(dir, "moved-away"));
        fs.symlinkSync(secret, path.join(golden, "data.bin"));
        error = await copyRegularFile(entry, target, copyRun).catch((e: unknown) => e);
      }
      expect(error).toBeInstanceOf(PopulationFailure);
      expect((error as Error).message).toBe(
        '"data.bin" changed while it was read: it is no longer the file it was',
      );
      expect(fs.existsSync(target)).toBe(false);
    },
  );

  it.each([
    ["whole", run(1 << 20)],
    ["in chunks", run(0)],
    ["with cp", run(0, true)],
  ])("copies the file the walk found (%s)", async (_how, copyRun) => {
    const target = path.join(dir, "copy");
    for await (const entry of walkTree(golden)) await copyRegularFile(entry, target, copyRun);
    expect(fs.readFileSync(target, "utf8")).toBe("golden data");
  });

  it("refuses a file swapped for another file after the walk looked at it", async () => {
    const target = path.join(dir, "copy");
    let error: unknown;
    for await (const entry of walkTree(golden)) {
      fs.renameSync(path.join(golden, "data.bin"), path.join(dir, "moved-away"));
      fs.copyFileSync(secret, path.join(golden, "data.bin"));
      error = await copyRegularFile(entry, target, run(1 << 20)).catch((e: unknown) => e);
    }
    expect((error as Error).message).toMatch(/"data.bin" changed while it was read/);
    expect(fs.existsSync(target)).toBe(false);
  });
});
