import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeTempDir, removeTempDir, snapshotTree } from "../layers/testing.ts";
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

  it("removes everything but lost+found, read-only directories included", async () => {
    fs.mkdirSync(path.join(volume, "lost+found"));
    fs.writeFileSync(path.join(volume, "lost+found", "#12"), "kept");
    fs.mkdirSync(path.join(volume, "a/b"), { recursive: true });
    fs.writeFileSync(path.join(volume, "a/b/f"), "x", { mode: 0o000 });
    fs.chmodSync(path.join(volume, "a/b"), 0o500);
    fs.chmodSync(path.join(volume, "a"), 0o000);
    fs.writeFileSync(path.join(volume, ".hidden"), "x");
    await clearDirectory(volume);
    expect(snapshotTree(volume)).toEqual({ "lost+found": "dir 755", "lost+found/#12": 'file 644 "kept"' });
  });

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

  it("leaves an empty volume as it is", async () => {
    await clearDirectory(volume);
    expect(fs.readdirSync(volume)).toEqual([]);
  });
});
