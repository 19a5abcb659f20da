import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readTree, sparseFile, temporaryDir, writeTree } from "../fixtures.ts";
import { copyTree } from "./copy-tree.ts";
import { PopulationFailure } from "./population-failure.ts";

describe("copyTree", () => {
  let dir: string;
  let golden: string;
  let volume: string;
  beforeEach(() => {
    dir = temporaryDir();
    golden = path.join(dir, "golden");
    volume = path.join(dir, "volume");
    fs.mkdirSync(golden);
    fs.mkdirSync(volume);
  });
  afterEach(() => {
    // Read-only directories in the copy must not stop the cleanup.
    execFileSync("chmod", ["-R", "u+rwx", dir]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const copy = (extra: Partial<Parameters<typeof copyTree>[2]> = {}) =>
    copyTree(golden, volume, { preserveOwnership: false, onBytes: () => {}, ...extra });

  it("copies nested directories, files, empty files and modes", async () => {
    writeTree(golden, {
      "README.md": { file: "hello\n", mode: 0o644 },
      "empty.txt": "",
      bin: { dir: { "run.sh": { file: "#!/bin/sh\n", mode: 0o755 } }, mode: 0o750 },
      a: { dir: { b: { dir: { c: { dir: { "deep.txt": { file: "deep", mode: 0o600 } } } } } } },
    });
    const result = await copy();
    expect(readTree(volume)).toEqual(readTree(golden));
    expect(readTree(volume)).toMatchObject({
      "bin/run.sh": "file 755 #!/bin/sh\n",
      bin: "dir 750",
      "a/b/c/deep.txt": "file 600 deep",
      "empty.txt": "file 644 ",
    });
    expect(result).toEqual({ clonedBytes: 0, copiedBytes: 20, entries: 8 });
  });

  it("keeps symlinks as links with their text unchanged, never following them", async () => {
    writeTree(golden, {
      "target.txt": "t",
      relative: { link: "target.txt" },
      absolute: { link: "/etc/passwd" },
      dangling: { link: "../../nowhere" },
      "to-dir": { link: "/" },
    });
    await copy();
    expect(readTree(volume)).toEqual({
      absolute: "link -> /etc/passwd",
      dangling: "link -> ../../nowhere",
      relative: "link -> target.txt",
      "target.txt": "file 644 t",
      "to-dir": "link -> /",
    });
  });

  it("drops setuid and setgid from files but keeps them where harmless", async () => {
    writeTree(golden, {
      "suid-root": { file: "x", mode: 0o4755 },
      shared: { dir: {}, mode: 0o2775 },
      tmp: { dir: {}, mode: 0o1777 },
    });
    await copy();
    expect(readTree(volume)).toEqual({ "suid-root": "file 755 x", shared: "dir 2775", tmp: "dir 1777" });
  });

  it("fills read-only directories and preserves file mtimes", async () => {
    const mtime = new Date("2020-01-02T03:04:05.000Z");
    writeTree(golden, { ro: { dir: { "f.txt": { file: "f", mtime } }, mode: 0o555 } });
    await copy();
    expect(readTree(volume)).toEqual({ ro: "dir 555", "ro/f.txt": "file 644 f" });
    expect(fs.statSync(path.join(volume, "ro/f.txt")).mtime).toEqual(mtime);
  });

  it("never overwrites what is already in the target", async () => {
    writeTree(golden, { "a.txt": "golden" });
    writeTree(volume, { "a.txt": "theirs" });
    await expect(copy()).rejects.toMatchObject({ reason: "CopyFailed", message: 'copying "a.txt": EEXIST' });
    expect(fs.readFileSync(path.join(volume, "a.txt"), "utf8")).toBe("theirs");
  });

  it("never writes through a symlink planted in the target", async () => {
    const outside = path.join(dir, "outside");
    fs.mkdirSync(outside);
    writeTree(golden, { sub: { dir: { "x.txt": "x" } } });
    fs.symlinkSync(outside, path.join(volume, "sub"));
    await expect(copy()).rejects.toBeInstanceOf(PopulationFailure);
    expect(fs.readdirSync(outside)).toEqual([]);
  });

  it("refuses fifos and other special files", async () => {
    execFileSync("mkfifo", [path.join(golden, "pipe")]);
    await expect(copy()).rejects.toMatchObject({ reason: "GoldenContentInvalid" });
  });

  it("copies a large file in chunks, reporting each, and keeps it sparse", async () => {
    const size = 8 * 1024 * 1024;
    sparseFile(path.join(golden, "big.bin"), size, "head");
    const reports: number[] = [];
    await copy({
      wholeFileLimit: 1024 * 1024,
      chunkBytes: 256 * 1024,
      kernelCopy: false,
      onBytes: (n) => reports.push(n),
    });
    expect(reports).toHaveLength(32);
    expect(reports.reduce((a, b) => a + b, 0)).toBe(size);
    const copied = fs.statSync(path.join(volume, "big.bin"));
    expect(copied.size).toBe(size);
    expect(copied.blocks * 512).toBeLessThan(1024 * 1024);
    const head = Buffer.alloc(4);
    const fd = fs.openSync(path.join(volume, "big.bin"), "r");
    fs.readSync(fd, head, 0, 4, 0);
    fs.closeSync(fd);
    expect(head.toString()).toBe("head");
  });

  it("stops at the next chunk when aborted", async () => {
    sparseFile(path.join(golden, "big.bin"), 64 * 1024 * 1024);
    const abort = new AbortController();
    let done = 0;
    const copying = copy({
      signal: abort.signal,
      wholeFileLimit: 0,
      kernelCopy: false,
      chunkBytes: 64 * 1024,
      onBytes: (n) => {
        done += n;
        if (done >= 1024 * 1024) abort.abort();
      },
    });
    await expect(copying).rejects.toMatchObject({ name: "AbortError" });
    expect(done).toBe(1024 * 1024);
  });

  it("under a bandwidth limit, takes every copied byte from the pacer, small files too, big ones chunk by chunk", async () => {
    writeTree(golden, {
      "small.txt": "hello",
      big: { dir: { "big.bin": { file: Buffer.alloc(10 * 1024, 7) } } },
    });
    const takes: number[] = [];
    const pacer = { take: async (bytes: number) => void takes.push(bytes) };
    await copy({ chunkBytes: 4096, pacer });
    expect(takes.toSorted((a, b) => a - b)).toEqual([5, 2048, 4096, 4096]);
    expect(readTree(volume)).toEqual(readTree(golden));
  });
});
