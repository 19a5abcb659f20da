import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { kernelCopy, kernelCopyTool } from "./kernel-copy.ts";

describe("kernelCopy", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "kernel-copy-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("finds GNU cp on this machine", async () => {
    expect(await kernelCopyTool()).toBe("cp");
  });

  it("copies the bytes exactly and reports every byte once", async () => {
    const data = randomBytes(8 * 1024 * 1024);
    await writeFile(path.join(dir, "source"), data);
    const reports: number[] = [];
    await kernelCopy("cp", path.join(dir, "source"), path.join(dir, "target"), data.length, undefined, (n) =>
      reports.push(n),
    );
    expect((await readFile(path.join(dir, "target"))).equals(data)).toBe(true);
    expect(reports.reduce((a, b) => a + b, 0)).toBe(data.length);
  });

  it("refuses to write into a directory planted at the target path", async () => {
    await writeFile(path.join(dir, "source"), "x");
    const { mkdir } = await import("node:fs/promises");
    await mkdir(path.join(dir, "target"));
    await expect(
      kernelCopy("cp", path.join(dir, "source"), path.join(dir, "target"), 1, undefined, () => {}),
    ).rejects.toThrow(/the kernel copy failed \(cp exited with 1\)/);
    expect((await stat(path.join(dir, "target", "source")).catch(() => undefined)) ?? "absent").toBe(
      "absent",
    );
  });

  it("stops the copy when aborted", async () => {
    const abort = new AbortController();
    abort.abort();
    await expect(
      kernelCopy("cp", "/dev/zero", path.join(dir, "target"), 1 << 30, abort.signal, () => {}),
    ).rejects.toThrow(/abort/i);
  });
});
