import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { temporaryDir, writeTree } from "../fixtures.ts";
import { PopulationFailure } from "./population-failure.ts";
import { type TreeEntry, walkTree } from "./walk.ts";

describe("walkTree", () => {
  let dir: string;
  let golden: string;
  let outside: string;
  beforeEach(() => {
    dir = temporaryDir();
    golden = path.join(dir, "golden");
    outside = path.join(dir, "outside");
    writeTree(golden, { "a.txt": "a", sub: { dir: { "inner.txt": "inner" } }, link: { link: "/" } });
    writeTree(outside, { secret: "the node's secret" });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Walks `root`, letting `onEntry` change the tree after each entry is handed out. */
  async function walk(root: string, onEntry: (entry: TreeEntry) => void = () => {}): Promise<string[]> {
    const seen: string[] = [];
    for await (const entry of walkTree(root)) {
      seen.push(`${entry.relative} ${entry.kind}`);
      onEntry(entry);
    }
    return seen;
  }

  /** Puts a symlink to `outside` where the directory `relative` was. */
  const swapForSymlink = (relative: string) => {
    fs.renameSync(path.join(golden, relative), path.join(dir, "moved-away"));
    fs.symlinkSync(outside, path.join(golden, relative));
  };

  it("hands out every entry, parents first and names sorted, describing symlinks without following them", async () => {
    expect(await walk(golden)).toEqual(["a.txt file", "link symlink", "sub directory", "sub/inner.txt file"]);
  });

  it("refuses a directory swapped for a symlink after it was looked at, never listing where the link points", async () => {
    const seen: string[] = [];
    const error = await walk(golden, (entry) => {
      seen.push(entry.relative);
      if (entry.relative === "sub") swapForSymlink("sub");
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PopulationFailure);
    expect((error as Error).message).toBe(
      '"sub" changed while it was read: it is no longer the directory it was',
    );
    expect(seen).toEqual(["a.txt", "link", "sub"]);
  });

  it("refuses a directory swapped for another directory after it was looked at", async () => {
    const error = await walk(golden, (entry) => {
      if (entry.relative !== "sub") return;
      fs.renameSync(path.join(golden, "sub"), path.join(dir, "moved-away"));
      fs.cpSync(outside, path.join(golden, "sub"), { recursive: true });
    }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/"sub" changed while it was read/);
  });

  it("refuses a root that is a symlink", async () => {
    fs.symlinkSync(golden, path.join(dir, "root-link"));
    const error = await walk(path.join(dir, "root-link")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PopulationFailure);
    expect((error as Error).message).toBe("the tree's root is not a directory (a symlink is never followed)");
  });

  it("gives a path that reads the entry found, even once its parent is swapped for a symlink", async () => {
    const read: string[] = [];
    await walk(golden, (entry) => {
      if (entry.relative !== "sub/inner.txt") return;
      swapForSymlink("sub");
      fs.writeFileSync(path.join(outside, "inner.txt"), "outside");
      read.push(fs.readFileSync(entry.path, "utf8"));
    });
    expect(read).toEqual(["inner"]);
  });
});
