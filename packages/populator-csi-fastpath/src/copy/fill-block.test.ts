import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sparseFile, temporaryDir } from "../fixtures.ts";
import { fillBlock } from "./fill-block.ts";
import type { CopyProgress } from "./progress.ts";

describe("fillBlock", () => {
  let dir: string;
  let image: string;
  let volume: string;
  beforeEach(() => {
    dir = temporaryDir();
    image = path.join(dir, "base.img");
    volume = path.join(dir, "vol.img");
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("writes the image over the start of the volume, keeping its size and the bytes past the image", async () => {
    fs.writeFileSync(image, "GOLDEN");
    fs.writeFileSync(volume, Buffer.from("xxxxxxxxxxTAIL"));
    const progress: CopyProgress[] = [];
    const result = await fillBlock({
      goldenImage: image,
      target: volume,
      onProgress: (p) => progress.push(p),
    });
    expect(fs.readFileSync(volume, "utf8")).toBe("GOLDENxxxxTAIL");
    expect(result).toEqual({ movement: "copy", bytes: 6, entries: 0 });
    expect(progress.at(-1)).toEqual({ bytesDone: 6, bytesTotal: 6 });
  });

  it("writes zeros where the volume holds something else, so the result is the image exactly", async () => {
    fs.writeFileSync(image, Buffer.alloc(8192));
    fs.writeFileSync(volume, Buffer.alloc(8192, 0xff));
    await fillBlock({ goldenImage: image, target: volume, chunkBytes: 4096 });
    expect(fs.readFileSync(volume).equals(Buffer.alloc(8192))).toBe(true);
  });

  it("keeps a sparse volume sparse when the image is mostly holes", async () => {
    sparseFile(image, 32 * 1024 * 1024, "boot");
    sparseFile(volume, 64 * 1024 * 1024);
    await fillBlock({ goldenImage: image, target: volume });
    const stats = fs.statSync(volume);
    expect(stats.size).toBe(64 * 1024 * 1024);
    expect(stats.blocks * 512).toBeLessThanOrEqual(1024 * 1024);
    const head = Buffer.alloc(4);
    const fd = fs.openSync(volume, "r");
    fs.readSync(fd, head, 0, 4, 0);
    fs.closeSync(fd);
    expect(head.toString()).toBe("boot");
  });

  it("refuses an image larger than the volume without writing", async () => {
    fs.writeFileSync(image, "0123456789");
    fs.writeFileSync(volume, "abcd");
    await expect(fillBlock({ goldenImage: image, target: volume })).rejects.toMatchObject({
      reason: "VolumeTooSmall",
      message: "the golden image holds 10 bytes, more than the volume's 4",
    });
    expect(fs.readFileSync(volume, "utf8")).toBe("abcd");
  });

  it("refuses an image larger than the PV's capacity too", async () => {
    fs.writeFileSync(image, "0123456789");
    sparseFile(volume, 4096);
    await expect(fillBlock({ goldenImage: image, target: volume, capacityBytes: 8 })).rejects.toMatchObject({
      reason: "VolumeTooSmall",
    });
  });

  it("fails with GoldenContentNotFound when there is no image on this node", async () => {
    sparseFile(volume, 4096);
    await expect(fillBlock({ goldenImage: image, target: volume })).rejects.toMatchObject({
      reason: "GoldenContentNotFound",
    });
  });

  it("refuses a golden image that is a symlink", async () => {
    fs.symlinkSync("/etc/passwd", image);
    sparseFile(volume, 1024 * 1024);
    await expect(fillBlock({ goldenImage: image, target: volume })).rejects.toMatchObject({
      reason: "GoldenContentInvalid",
    });
  });

  it("refuses to write through a volume path that is a symlink", async () => {
    fs.writeFileSync(image, "x");
    const elsewhere = path.join(dir, "elsewhere");
    fs.writeFileSync(elsewhere, "keep");
    fs.symlinkSync(elsewhere, volume);
    await expect(fillBlock({ goldenImage: image, target: volume })).rejects.toMatchObject({
      reason: "CopyFailed",
    });
    expect(fs.readFileSync(elsewhere, "utf8")).toBe("keep");
  });

  it("stops at the next chunk when aborted", async () => {
    sparseFile(image, 64 * 1024 * 1024, "x");
    sparseFile(volume, 64 * 1024 * 1024);
    const abort = new AbortController();
    const filling = fillBlock({
      goldenImage: image,
      target: volume,
      chunkBytes: 64 * 1024,
      signal: abort.signal,
      onProgress: (p) => {
        if (p.bytesDone >= 1024 * 1024) abort.abort();
      },
    });
    await expect(filling).rejects.toMatchObject({ name: "AbortError" });
  });

  it("holds a fill to its bandwidth limit: 2 MiB at 8 MiB/s takes a quarter of a second", async () => {
    fs.writeFileSync(image, Buffer.alloc(2 * 1024 * 1024, 1));
    sparseFile(volume, 4 * 1024 * 1024);
    const started = performance.now();
    await fillBlock({ goldenImage: image, target: volume, maxBytesPerSecond: 8 * 1024 * 1024 });
    // A lower bound only: a busy machine may take longer, never shorter.
    expect(performance.now() - started).toBeGreaterThanOrEqual(200);
  });

  it("stops a fill waiting on its bandwidth limit as soon as it is cancelled", async () => {
    // At 1 MiB/s this would take over a minute.
    sparseFile(image, 64 * 1024 * 1024, "x");
    sparseFile(volume, 64 * 1024 * 1024);
    const abort = new AbortController();
    let bytesDone = 0;
    const filling = fillBlock({
      goldenImage: image,
      target: volume,
      maxBytesPerSecond: 1024 * 1024,
      signal: abort.signal,
      onProgress: (p) => {
        bytesDone = p.bytesDone;
        // About to copy: the first 1 MiB chunk waits a second for its turn.
        if (p.bytesDone === 0) setTimeout(() => abort.abort(), 50);
      },
    });
    await expect(filling).rejects.toMatchObject({ name: "AbortError" });
    // Had the wait run its course, the first chunk would have been written before the fill noticed.
    expect(bytesDone).toBe(0);
  });
});
