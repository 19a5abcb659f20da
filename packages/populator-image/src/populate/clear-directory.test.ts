import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { makeTempDir, removeTempDir, snapshotTree } from "@volpop/oci-testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { clearDirectory } from "./clear-directory.ts";

describe("clearDirectory", () => {
  let root: string;
  let volume: string;
  beforeEach(() => {
    root = makeTempDir("volpop-clear-");
    volume = path.join(root, "volume");
    fs.mkdirSync(volume);
  });
  afterEach(() => removeTempDir(root));

  it("removes everything, read-only directories included, and keeps lost+found as an empty directory", async () => {
    fs.mkdirSync(path.join(volume, "lost+found"), { mode: 0o700 });
    fs.mkdirSync(path.join(volume, "a/b"), { recursive: true });
    fs.writeFileSync(path.join(volume, "a/b/f"), "x", { mode: 0o000 });
    fs.chmodSync(path.join(volume, "a/b"), 0o500);
    fs.chmodSync(path.join(volume, "a"), 0o000);
    fs.writeFileSync(path.join(volume, ".hidden"), "x");
    await clearDirectory(volume);
    expect(snapshotTree(volume)).toEqual({ "lost+found": "dir 700" });
  });

  it("empties lost+found: files and nested directories a failed attempt wrote there go", async () => {
    fs.mkdirSync(path.join(volume, "lost+found/deep/er"), { recursive: true });
    fs.writeFileSync(path.join(volume, "lost+found/#12"), "from a failed attempt");
    fs.writeFileSync(path.join(volume, "lost+found/deep/er/f"), "x", { mode: 0o000 });
    fs.chmodSync(path.join(volume, "lost+found/deep"), 0o500);
    fs.symlinkSync("/", path.join(volume, "lost+found/root"));
    fs.chmodSync(path.join(volume, "lost+found"), 0o700);
    await clearDirectory(volume);
    expect(snapshotTree(volume)).toEqual({ "lost+found": "dir 700" });
  });

  it("replaces a lost+found symlink to outside the volume by an empty directory, never following it", async () => {
    const outside = path.join(root, "outside");
    fs.mkdirSync(outside, { mode: 0o755 });
    fs.chmodSync(outside, 0o755);
    fs.writeFileSync(path.join(outside, "precious"), "x");
    fs.symlinkSync(outside, path.join(volume, "lost+found"));
    await clearDirectory(volume);
    expect(snapshotTree(volume)).toEqual({ "lost+found": "dir 700" });
    expect(snapshotTree(outside)).toEqual({ precious: 'file 644 "x"' });
    expect(fs.statSync(outside).mode & 0o7777).toBe(0o755);
  });

  it("replaces a lost+found that is a file by an empty directory", async () => {
    fs.writeFileSync(path.join(volume, "lost+found"), "not a directory");
    await clearDirectory(volume);
    expect(snapshotTree(volume)).toEqual({ "lost+found": "dir 700" });
  });

  it("gives lost+found back the mode mkfs.ext4 makes it with, 0700", async () => {
    fs.mkdirSync(path.join(volume, "lost+found"));
    fs.chmodSync(path.join(volume, "lost+found"), 0o2777);
    await clearDirectory(volume);
    expect(snapshotTree(volume)).toEqual({ "lost+found": "dir 700" });
  });

  it.runIf(process.getuid?.() === 0)("gives lost+found back to root, as mkfs.ext4 makes it", async () => {
    fs.mkdirSync(path.join(volume, "lost+found"));
    fs.chownSync(path.join(volume, "lost+found"), 65532, 65532);
    await clearDirectory(volume);
    const stats = fs.lstatSync(path.join(volume, "lost+found"));
    expect([stats.uid, stats.gid]).toEqual([0, 0]);
  });

  // Root may write anywhere, so the pod's case needs a pod's uid: clearDirectory runs in a child that
  // becomes one (Node's binary and this checkout may be out of its reach, so the child starts as root).
  it.runIf(process.getuid?.() === 0)(
    "empties a lost+found the pod's uid owns though an image made it read-only",
    () => {
      const pod = 65532;
      const lostAndFound = path.join(volume, "lost+found");
      fs.mkdirSync(path.join(lostAndFound, "deep"), { recursive: true });
      fs.writeFileSync(path.join(lostAndFound, "#12"), "from the image");
      fs.writeFileSync(path.join(lostAndFound, "deep/f"), "x");
      for (const owned of [root, volume, lostAndFound, path.join(lostAndFound, "#12")]) {
        fs.chownSync(owned, pod, pod);
      }
      fs.chownSync(path.join(lostAndFound, "deep"), pod, pod);
      fs.chownSync(path.join(lostAndFound, "deep/f"), pod, pod);
      fs.chmodSync(lostAndFound, 0o500);
      const module = pathToFileURL(path.join(import.meta.dirname, "clear-directory.ts")).href;
      execFileSync(
        process.execPath,
        [
          "--input-type=module",
          "-e",
          [
            // Loaded while still root: the checkout may sit where the pod's uid cannot reach it.
            `const { clearDirectory } = await import(${JSON.stringify(module)});`,
            `process.setgroups([]); process.setgid(${pod}); process.setuid(${pod});`,
            `await clearDirectory(${JSON.stringify(volume)});`,
          ].join(" "),
        ],
        { stdio: "pipe" },
      );
      expect(snapshotTree(volume)).toEqual({ "lost+found": "dir 700" });
    },
  );

  it("removes symlinks without following them", async () => {
    const outside = path.join(root, "outside");
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, "precious"), "x");
    fs.symlinkSync(outside, path.join(volume, "link"));
    fs.symlinkSync("../outside/precious", path.join(volume, "file-link"));
    await clearDirectory(volume);
    expect(fs.readdirSync(volume)).toEqual([]);
    expect(fs.readFileSync(path.join(outside, "precious"), "utf8")).toBe("x");
  });

  it("leaves an empty volume as it is, and says it has no lost+found", async () => {
    expect(await clearDirectory(volume)).toBe(false);
    expect(fs.readdirSync(volume)).toEqual([]);
  });

  it("makes a lost+found where there is none when asked to: one a failed attempt removed", async () => {
    fs.writeFileSync(path.join(volume, "f"), "x");
    expect(await clearDirectory(volume, { lostAndFound: true })).toBe(true);
    expect(snapshotTree(volume)).toEqual({ "lost+found": "dir 700" });
  });
});
