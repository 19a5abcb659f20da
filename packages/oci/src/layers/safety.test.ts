import { randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import {
  applyLayers,
  type GuardedVolume,
  guardedVolume,
  snapshotTree,
  type TestEntry,
  tarOf,
} from "@volpop/oci-testing";
import { badInputCase, contained } from "@volpop/test-catalogue";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LayerApplier } from "./applier.ts";
import { MalformedLayerError, UnsafeEntryError } from "./errors.ts";

// Tests that aim at the real `/` write only under this name, unique to the run, so that a broken
// applier leaves a file that is easy to find (and is removed here) rather than one that matters.
const canary = `volpop-canary-${randomUUID()}`;
const canaryOnHost = path.join("/etc", canary);

let volume: GuardedVolume;
let before: Record<string, string>;
beforeEach(() => {
  volume = guardedVolume();
  before = volume.outside();
});
afterEach(() => {
  try {
    // Whatever the test expects of the target, nothing around it may have changed.
    contained("nothing-outside-volume", () => {
      expect(volume.outside()).toEqual(before);
      expect(fs.existsSync(canaryOnHost)).toBe(false);
    });
  } finally {
    fs.rmSync(canaryOnHost, { force: true });
    volume.remove();
  }
});

const file = (name: string, content = "pwned"): TestEntry => ({ name, content });
const symlink = (name: string, linkname: string): TestEntry => ({ name, type: "symlink", linkname });
const hardLink = (name: string, linkname: string): TestEntry => ({ name, type: "link", linkname });
const apply = (layers: TestEntry[][]) => applyLayers(volume.target, layers);
const unsafe = (entry: string, reason: string) => new UnsafeEntryError(entry, reason);

describe("entry names", () => {
  it.each(["../x", "a/../../x", "/../x", "./../sentinel.txt", "a/b/../../../sibling/file.txt"])(
    "refuses %j, which climbs out of the volume",
    async (name) => {
      await expect(apply([[file(name)]])).rejects.toThrow(
        `layer entry ${JSON.stringify(name)} rejected: escapes the volume`,
      );
      expect(snapshotTree(volume.target)).toEqual({});
    },
  );

  it("re-roots an absolute name inside the volume", async () => {
    await apply([[file("/etc/x", "rooted")]]);
    expect(snapshotTree(volume.target)).toEqual({ etc: "dir 755", "etc/x": 'file 644 "rooted"' });
  });

  it("refuses an entry that would replace the volume root", async () => {
    await expect(apply([[file("./")]])).rejects.toThrow(unsafe("./", "it would replace the volume root"));
  });
});

describe("writing through symlinks", () => {
  it("resolves a symlink to / inside the volume", async () => {
    await apply([[symlink("evil", "/"), file(`evil/etc/${canary}`)]]);
    expect(snapshotTree(volume.target)).toEqual({
      etc: "dir 755",
      [`etc/${canary}`]: 'file 644 "pwned"',
      evil: "symlink -> /",
    });
  });

  it("stops a symlink's .. at the volume root", async () => {
    await apply([[symlink("up", "../.."), file("up/x"), file("up/up/sentinel.txt")]]);
    expect(snapshotTree(volume.target)).toEqual({
      "sentinel.txt": 'file 644 "pwned"',
      up: "symlink -> ../..",
      x: 'file 644 "pwned"',
    });
  });

  it("resolves an absolute symlink to the real path outside as a path inside", async () => {
    await apply([[symlink("abs", volume.root), file("abs/sentinel.txt")]]);
    const inside = path.join(volume.target, volume.root, "sentinel.txt");
    expect(fs.readFileSync(inside, "utf8")).toBe("pwned");
  });

  it("keeps a symlink planted by one layer inside the volume when a later layer writes through it", async () => {
    await apply([
      [symlink("evil", ".."), symlink("abs", volume.root)],
      [
        file("evil/sentinel.txt"),
        { name: "abs/sibling", type: "directory", mode: 0o777 },
        file("abs/sibling/file.txt"),
      ],
    ]);
    expect(snapshotTree(volume.target)).toMatchObject({
      "sentinel.txt": 'file 644 "pwned"',
      [`${volume.root.slice(1)}/sibling`]: "dir 777",
    });
  });

  it("replaces a symlink at the entry's own path instead of writing through it", async () => {
    await apply([
      [
        symlink("sentinel.txt", "../sentinel.txt"),
        symlink("sibling", "../sibling"),
        symlink("h", "../sibling/file.txt"),
        file("f"),
      ],
      [
        file("sentinel.txt"),
        { name: "sibling", type: "directory", mode: 0o700 },
        hardLink("sibling/link", "f"),
        hardLink("h", "f"),
      ],
    ]);
    expect(snapshotTree(volume.target)).toEqual({
      f: 'file 644 "pwned"',
      h: 'file 644 "pwned"',
      "sentinel.txt": 'file 644 "pwned"',
      sibling: "dir 700",
      "sibling/link": 'file 644 "pwned"',
    });
  });

  it("never sets the mode of a directory through the symlink that replaced it", async () => {
    const old = new Date("1999-01-01T00:00:00Z");
    await apply([
      [
        { name: "d", type: "directory", mode: 0o700, mtime: old },
        { name: "d/sub", type: "directory", mode: 0o700, mtime: old },
      ],
      [symlink("d", volume.root)],
    ]);
    expect(snapshotTree(volume.target)).toEqual({ d: `symlink -> ${volume.root}` });
  });
});

describe("hard links", () => {
  it.each([
    ["../../etc/passwd", "escapes the volume"],
    ["/../sentinel.txt", "escapes the volume"],
  ])("refuses a link to %j", async (linkname, reason) => {
    await expect(apply([[hardLink("link", linkname)]])).rejects.toThrow(
      unsafe("link", `hard link target ${JSON.stringify(linkname)} ${reason}`),
    );
  });

  it("refuses a link to a symlink that points out of the volume", async () => {
    await expect(apply([[symlink("out", "../sentinel.txt"), hardLink("link", "out")]])).rejects.toThrow(
      unsafe("link", 'hard link target "out" is a symlink'),
    );
  });

  it("refuses a link to a directory", async () => {
    await expect(apply([[{ name: "d", type: "directory" }, hardLink("link", "d")]])).rejects.toThrow(
      unsafe("link", 'hard link target "d" is a directory'),
    );
  });

  it("resolves a link through a symlinked parent inside the volume", async () => {
    await expect(apply([[symlink("evil", ".."), hardLink("link", "evil/sentinel.txt")]])).rejects.toThrow(
      new MalformedLayerError("link", 'hard link target "evil/sentinel.txt" does not exist'),
    );
    const absolute = path.join(volume.root, "sentinel.txt");
    await expect(apply([[hardLink("link", absolute)]])).rejects.toThrow(/does not exist/);
  });
});

describe("special files", () => {
  it.each([
    ["character-device", "device nodes are never created in a volume"],
    ["block-device", "device nodes are never created in a volume"],
    ["fifo", "FIFOs are never created in a volume"],
  ] as const)("refuses a %s", async (type, reason) => {
    await expect(apply([[{ name: "dev/x", type }]])).rejects.toThrow(unsafe("dev/x", reason));
    expect(snapshotTree(volume.target)).toEqual({});
  });
});

describe("whiteouts", () => {
  badInputCase(
    {
      id: "image-whiteout-via-symlink",
      component: "image",
      input: "whiteouts under symlinks that point out of the volume (to .. and to the volume's parent)",
      expected: "whiteouts applied inside the volume only: what they name outside stays",
      checks: ["nothing-outside-volume"],
    },
    async () => {
      await apply([
        [symlink("evil", ".."), symlink("abs", volume.root), file("keep")],
        [
          file("evil/.wh.sentinel.txt", ""),
          file("abs/.wh.sibling", ""),
          file("abs/sibling/.wh..wh..opq", ""),
        ],
      ]);
      expect(snapshotTree(volume.target)).toEqual({
        abs: `symlink -> ${volume.root}`,
        evil: "symlink -> ..",
        keep: 'file 644 "pwned"',
      });
    },
  );

  badInputCase(
    {
      id: "image-opaque-via-symlink",
      component: "image",
      input: "an opaque-directory marker behind a symlink to ..",
      expected: "the volume's own lower entries hidden, never its parent's",
      checks: ["nothing-outside-volume"],
    },
    async () => {
      await apply([
        [symlink("evil", ".."), file("old")],
        [file("evil/.wh..wh..opq", ""), file("new")],
      ]);
      expect(snapshotTree(volume.target)).toEqual({ new: 'file 644 "pwned"' });
    },
  );

  it("remove a directory holding symlinks to the outside without following them", async () => {
    await apply([
      [
        symlink("d/sibling", path.join(volume.root, "sibling")),
        symlink("d/up", "../.."),
        symlink("o/s", "../../sibling"),
      ],
      [file(".wh.d", ""), file("o/.wh..wh..opq", "")],
    ]);
    expect(snapshotTree(volume.target)).toEqual({ o: "dir 755" });
  });

  badInputCase(
    {
      id: "image-whiteout-dotdot",
      component: "image",
      input: "a whiteout of .. (a/.wh...) and one of . (a/.wh..)",
      expected: "UnsafeEntryError: escapes the volume; MalformedLayerError: a whiteout that names no file",
      checks: ["nothing-outside-volume"],
    },
    async () => {
      await expect(apply([[file("a/.wh...", "")]])).rejects.toThrow(unsafe("a/.wh...", "escapes the volume"));
      await expect(apply([[file("a/.wh..", "")]])).rejects.toThrow(
        new MalformedLayerError("a/.wh..", "is a whiteout that names no file"),
      );
    },
  );
});

describe("finish", () => {
  it("sets directory modes only on real directories still inside the volume", async () => {
    const applier = new LayerApplier({ target: volume.target });
    await applier.applyLayer(
      tarOf([
        { name: "a", type: "directory", mode: 0o700 },
        { name: "a/b", type: "directory", mode: 0o700 },
      ]),
    );
    await applier.applyLayer(tarOf([symlink("a", "../sibling")]));
    await applier.finish();
    expect(snapshotTree(volume.target)).toEqual({ a: "symlink -> ../sibling" });
  });
});
