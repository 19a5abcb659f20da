import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readTree, sparseFile, temporaryDir, writeTree } from "../fixtures.ts";
import { fillFilesystem } from "./fill-filesystem.ts";
import { MARKER_NAME } from "./marker.ts";
import type { CopyProgress } from "./progress.ts";

const GOLDEN = {
  "etc.conf": { file: "setting=1\n", mtime: new Date("2021-05-06T07:08:09.000Z") },
  data: { dir: { "a.bin": "aaaa", nested: { dir: { "b.bin": "bb" } } } },
  latest: { link: "data/a.bin" },
};

describe("fillFilesystem", () => {
  let dir: string;
  let golden: string;
  let volume: string;
  beforeEach(() => {
    dir = temporaryDir();
    golden = path.join(dir, "golden", "base");
    volume = path.join(dir, "volume");
    writeTree(golden, GOLDEN);
    fs.mkdirSync(volume, { mode: 0o777 });
  });
  afterEach(() => {
    execFileSync("chmod", ["-R", "u+rwx", dir]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const fill = (extra: Partial<Parameters<typeof fillFilesystem>[0]> = {}) =>
    fillFilesystem({
      goldenTree: golden,
      volumeDir: volume,
      operationId: "op-1",
      preserveOwnership: false,
      ...extra,
    });

  it("fills an empty volume, reports progress against the measured total, and removes its marker", async () => {
    const progress: CopyProgress[] = [];
    const result = await fill({ onProgress: (p) => progress.push(p) });
    expect(readTree(volume)).toEqual(readTree(golden));
    expect(result).toEqual({ movement: "copy", bytes: 16, entries: 6 });
    expect(progress[0]).toEqual({ bytesDone: 0, bytesTotal: 16 });
    expect(progress.at(-1)).toEqual({ bytesDone: 16, bytesTotal: 16 });
  });

  it("leaves the volume root's own mode alone (the CSI driver chose it)", async () => {
    fs.chmodSync(volume, 0o777);
    await fill();
    expect(fs.statSync(volume).mode & 0o777).toBe(0o777);
  });

  it("ignores an empty lost+found, which mkfs leaves in every ext4 volume", async () => {
    fs.mkdirSync(path.join(volume, "lost+found"));
    await fill();
    expect(Object.keys(readTree(volume))).toContain("lost+found");
    expect(Object.keys(readTree(volume))).toContain("etc.conf");
  });

  it("refuses a volume holding someone's data and leaves it untouched", async () => {
    writeTree(volume, { "precious.db": "do not touch" });
    await expect(fill()).rejects.toMatchObject({ reason: "VolumeNotEmpty" });
    expect(readTree(volume)).toEqual({ "precious.db": "file 644 do not touch" });
  });

  it("refuses a volume another operation is filling", async () => {
    writeTree(volume, { [MARKER_NAME]: "op-other\n", "half.bin": "x" });
    await expect(fill()).rejects.toMatchObject({
      reason: "VolumeNotEmpty",
      message: 'the volume is being filled by another operation ("op-other")',
    });
    expect(fs.readFileSync(path.join(volume, "half.bin"), "utf8")).toBe("x");
  });

  it("does not take a symlink named like the marker for a marker", async () => {
    writeTree(golden, {});
    fs.writeFileSync(path.join(dir, "elsewhere"), "op-1\n");
    fs.symlinkSync(path.join(dir, "elsewhere"), path.join(volume, MARKER_NAME));
    await expect(fill()).rejects.toMatchObject({ reason: "VolumeNotEmpty" });
  });

  it("starts over when it finds its own marker from a copy that stopped midway", async () => {
    writeTree(volume, {
      [MARKER_NAME]: "op-1\n",
      "etc.conf": "half-writ",
      data: { dir: { "stale.bin": "stale" }, mode: 0o500 },
      oops: { link: "/" },
    });
    const result = await fill();
    expect(result.movement).toBe("copy");
    expect(readTree(volume)).toEqual(readTree(golden));
  });

  it("recognises a volume it already filled (its record lost) instead of calling it someone's data", async () => {
    await fill();
    const again = await fill({ operationId: "op-1-after-restart" });
    expect(again).toEqual({ movement: "none", bytes: 0, entries: 0 });
    expect(readTree(volume)).toEqual(readTree(golden));
  });

  it("does not mistake a volume that differs in one file for a finished copy", async () => {
    await fill();
    fs.appendFileSync(path.join(volume, "etc.conf"), "changed");
    await expect(fill({ operationId: "op-2" })).rejects.toMatchObject({ reason: "VolumeNotEmpty" });
  });

  it("fails with VolumeTooSmall before writing anything when the content does not fit", async () => {
    await expect(fill({ capacityBytes: 15 })).rejects.toMatchObject({
      reason: "VolumeTooSmall",
      message: "the golden content holds 16 bytes, more than the volume's 15",
    });
    expect(readTree(volume)).toEqual({});
  });

  it("fails with GoldenContentNotFound when the tree is missing on this node", async () => {
    await expect(fill({ goldenTree: path.join(dir, "golden", "nope") })).rejects.toMatchObject({
      reason: "GoldenContentNotFound",
      message: 'there is no golden content tree "nope" on this node',
    });
  });

  it("refuses a golden tree that is a symlink rather than following it", async () => {
    fs.symlinkSync("/etc", path.join(dir, "golden", "etc-link"));
    await expect(fill({ goldenTree: path.join(dir, "golden", "etc-link") })).rejects.toMatchObject({
      reason: "GoldenContentInvalid",
    });
    expect(readTree(volume)).toEqual({});
  });

  it("refuses a golden tree that contains the marker's name", async () => {
    writeTree(golden, { [MARKER_NAME]: "x" });
    await expect(fill()).rejects.toMatchObject({ reason: "GoldenContentInvalid" });
  });

  it("leaves its marker when aborted, so the next try starts over", async () => {
    sparseFile(path.join(golden, "big.bin"), 4 * 1024 * 1024);
    const abort = new AbortController();
    const filling = fill({
      signal: abort.signal,
      wholeFileLimit: 0,
      kernelCopy: false,
      chunkBytes: 16 * 1024,
      onProgress: (p) => {
        if (p.bytesDone > 256 * 1024) abort.abort();
      },
    });
    await expect(filling).rejects.toMatchObject({ name: "AbortError" });
    expect(fs.readFileSync(path.join(volume, MARKER_NAME), "utf8")).toBe("op-1\n");
    await fill();
    expect(readTree(volume)).toEqual(readTree(golden));
  });

  it("never modifies the golden tree", async () => {
    const before = readTree(golden);
    const mtime = fs.statSync(golden).mtimeMs;
    await fill();
    await fill({ operationId: "again" });
    expect(readTree(golden)).toEqual(before);
    expect(fs.statSync(golden).mtimeMs).toBe(mtime);
  });

  it("holds a copy to its bandwidth limit: 4 MiB at 8 MiB/s takes half a second", async () => {
    writeTree(golden, { "big.bin": { file: Buffer.alloc(4 * 1024 * 1024, 1) } });
    const started = performance.now();
    await fill({ maxBytesPerSecond: 8 * 1024 * 1024 });
    // A lower bound only: a busy machine may take longer, never shorter.
    expect(performance.now() - started).toBeGreaterThanOrEqual(400);
    expect(fs.readFileSync(path.join(volume, "big.bin")).equals(Buffer.alloc(4 * 1024 * 1024, 1))).toBe(true);
  });

  it("stops a copy waiting on its bandwidth limit as soon as it is cancelled", async () => {
    // At 1 MiB/s this would take over a minute.
    sparseFile(path.join(golden, "big.bin"), 64 * 1024 * 1024);
    const abort = new AbortController();
    let bytesDone = 0;
    const filling = fill({
      maxBytesPerSecond: 1024 * 1024,
      signal: abort.signal,
      onProgress: (p) => {
        bytesDone = p.bytesDone;
        // Measured, so about to copy: the first 1 MiB chunk waits a second for its turn.
        if (p.bytesDone === 0) setTimeout(() => abort.abort(), 50);
      },
    });
    await expect(filling).rejects.toMatchObject({ name: "AbortError" });
    // Had the wait run its course, the first chunk would have been copied before the copy noticed.
    expect(bytesDone).toBe(0);
    expect(fs.existsSync(path.join(volume, MARKER_NAME))).toBe(true);
  });
});
