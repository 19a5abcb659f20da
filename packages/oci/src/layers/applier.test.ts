import fs from "node:fs";
import fsPromises from "node:fs/promises";
import path from "node:path";
import { PassThrough, Readable } from "node:stream";
import {
  applyLayers,
  makeTempDir,
  removeTempDir,
  snapshotTree,
  TEST_MTIME,
  type TestEntry,
  tarOf,
} from "@volpop/oci-testing";
import { pack } from "tar-stream";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LayerApplier } from "./applier.ts";
import { MalformedLayerError } from "./errors.ts";
import type { XattrWriter } from "./xattrs.ts";

let target: string;
beforeEach(() => {
  target = makeTempDir();
});
afterEach(() => removeTempDir(target));

const dir = (name: string, mode?: number): TestEntry => ({
  name,
  type: "directory",
  ...(mode ? { mode } : {}),
});
const file = (name: string, content: string, mode?: number): TestEntry => ({
  name,
  content,
  ...(mode ? { mode } : {}),
});
const symlink = (name: string, linkname: string): TestEntry => ({ name, type: "symlink", linkname });
const hardLink = (name: string, linkname: string): TestEntry => ({ name, type: "link", linkname });

describe("LayerApplier", () => {
  it("writes files, directories and symlinks with their modes and contents", async () => {
    await applyLayers(target, [
      [
        dir("etc/", 0o750),
        file("etc/hostname", "box\n", 0o640),
        file("bin/tool", "#!/bin/sh\n", 0o755),
        symlink("etc/localtime", "/usr/share/zoneinfo/UTC"),
        dir("./tmp", 0o1777),
      ],
    ]);
    expect(snapshotTree(target)).toEqual({
      bin: "dir 755",
      "bin/tool": 'file 755 "#!/bin/sh\\n"',
      etc: "dir 750",
      "etc/hostname": 'file 640 "box\\n"',
      "etc/localtime": "symlink -> /usr/share/zoneinfo/UTC",
      tmp: "dir 1777",
    });
  });

  it("streams a file larger than any chunk without changing a byte", async () => {
    const content = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < content.length; i++) content[i] = (i * 7919) % 251;
    const applier = new LayerApplier({ target });
    const stats = await applier.applyLayer(tarOf([{ name: "big.bin", content }]));
    expect(stats.bytes).toBe(content.length);
    expect(fs.readFileSync(path.join(target, "big.bin")).equals(content)).toBe(true);
  });

  it("reads the layer no faster than it writes to disk", async () => {
    const size = 32 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 0x5a);
    const tar = pack();
    const body = tar.entry({ name: "big", type: "file", size });
    let produced = 0;
    let written = 0;
    let furthestAhead = 0;
    const producing = (async () => {
      while (produced < size) {
        produced += chunk.length;
        furthestAhead = Math.max(furthestAhead, produced - written);
        if (!body.write(chunk)) await new Promise<void>((resolve) => body.once("drain", () => resolve()));
      }
      body.end(null);
      tar.finalize();
    })();
    const applier = new LayerApplier({ target, onProgress: (bytes) => (written = bytes) });
    await applier.applyLayer(Readable.from(tar, { objectMode: false }));
    await producing;
    expect(written).toBe(size);
    expect(furthestAhead).toBeLessThan(size / 8);
  });

  it("merges directories across layers and keeps the upper layer's metadata", async () => {
    await applyLayers(target, [
      [dir("d", 0o700), file("d/lower", "1")],
      [dir("d", 0o755), file("d/upper", "2")],
    ]);
    expect(snapshotTree(target)).toEqual({
      d: "dir 755",
      "d/lower": 'file 644 "1"',
      "d/upper": 'file 644 "2"',
    });
  });

  it("replaces a lower directory with a file, a file with a directory and a symlink with a file", async () => {
    await applyLayers(target, [
      [dir("a"), file("a/inside", "x"), file("b", "was a file"), symlink("c", "elsewhere")],
      [file("a", "now a file"), dir("b"), file("b/child", "y"), file("c", "now a file")],
    ]);
    expect(snapshotTree(target)).toEqual({
      a: 'file 644 "now a file"',
      b: "dir 755",
      "b/child": 'file 644 "y"',
      c: 'file 644 "now a file"',
    });
  });

  it("lets a later entry of the same layer replace an earlier one", async () => {
    await applyLayers(target, [[file("x", "first"), file("x", "second"), dir("y"), symlink("y", "x")]]);
    expect(snapshotTree(target)).toEqual({ x: 'file 644 "second"', y: "symlink -> x" });
  });

  it("creates implicit parent directories with mode 0755", async () => {
    await applyLayers(target, [[file("a/b/c", "deep")]]);
    expect(snapshotTree(target)).toEqual({ a: "dir 755", "a/b": "dir 755", "a/b/c": 'file 644 "deep"' });
  });

  it("leaves the volume root's own mode alone when the layer names the root", async () => {
    fs.chmodSync(target, 0o770);
    const totals = await applyLayers(target, [[dir("./", 0o700), dir("/", 0o700), file("x", "1")]]);
    expect(fs.statSync(target).mode & 0o7777).toBe(0o770);
    expect(totals.skipped).toBe(2);
  });

  it("reports what each layer did and the totals", async () => {
    const applier = new LayerApplier({ target });
    const first = await applier.applyLayer(
      tarOf([dir("d"), file("d/f", "abc"), symlink("l", "d"), hardLink("h", "d/f")]),
    );
    const second = await applier.applyLayer(tarOf([file("d/.wh.f", ""), file("g", "12345")]));
    expect(first).toEqual({
      entries: 4,
      implicitDirectories: 0,
      // Four header blocks, one data block, the end-of-archive marker.
      layerBytes: 4 * 512 + 512 + 1024,
      files: 1,
      directories: 1,
      symlinks: 1,
      hardLinks: 1,
      whiteouts: 0,
      skipped: 0,
      bytes: 3,
      xattrs: 0,
      xattrsSkipped: 0,
      setidDropped: 0,
    });
    expect(second).toMatchObject({ entries: 2, files: 1, whiteouts: 1, bytes: 5 });
    expect(await applier.finish()).toMatchObject({ layers: 2, entries: 6, files: 2, whiteouts: 1, bytes: 8 });
  });

  it("reports progress as the total bytes written so far", async () => {
    const seen: number[] = [];
    await applyLayers(target, [[file("a", "1234")], [file("b", "56")]], {
      onProgress: (bytes) => seen.push(bytes),
    });
    expect(seen).toEqual([4, 6]);
  });

  describe("whiteouts", () => {
    it("removes a file and a whole directory that lower layers wrote, and writes no marker", async () => {
      await applyLayers(target, [
        [file("keep", "k"), file("gone", "g"), dir("tree"), file("tree/a/b", "deep")],
        [file(".wh.gone", ""), file(".wh.tree", "")],
      ]);
      expect(snapshotTree(target)).toEqual({ keep: 'file 644 "k"' });
    });

    it("removes a symlink without touching what it points to", async () => {
      await applyLayers(target, [
        [dir("real"), file("real/f", "x"), symlink("link", "real")],
        [file(".wh.link", "")],
      ]);
      expect(snapshotTree(target)).toEqual({ real: "dir 755", "real/f": 'file 644 "x"' });
    });

    it("ignores a whiteout of something that does not exist", async () => {
      await applyLayers(target, [[file("a", "1")], [file(".wh.nothing", ""), file("missing/.wh.x", "")]]);
      expect(snapshotTree(target)).toEqual({ a: 'file 644 "1"' });
    });

    it("spares a file of its own layer, whichever comes first", async () => {
      await applyLayers(target, [
        [file("before", "lower"), file("after", "lower")],
        [file("before", "upper"), file(".wh.before", ""), file(".wh.after", ""), file("after", "upper")],
      ]);
      expect(snapshotTree(target)).toEqual({ after: 'file 644 "upper"', before: 'file 644 "upper"' });
    });

    it("lets a later layer bring a whited-out file back", async () => {
      await applyLayers(target, [[file("f", "1")], [file(".wh.f", "")], [file("f", "3")]]);
      expect(snapshotTree(target)).toEqual({ f: 'file 644 "3"' });
    });

    it("ignores AUFS metadata", async () => {
      const totals = await applyLayers(target, [[file(".wh..wh.plnk/1.2", ""), file(".wh..wh.aufs", "")]]);
      expect(snapshotTree(target)).toEqual({});
      expect(totals.skipped).toBe(2);
    });
  });

  describe("opaque directories", () => {
    it("hide everything lower layers put in the directory, but nothing beside it", async () => {
      await applyLayers(target, [
        [dir("d"), file("d/a", "1"), dir("d/sub"), file("d/sub/b", "2"), file("beside", "3")],
        [dir("d"), file("d/.wh..wh..opq", ""), file("d/new", "4")],
      ]);
      expect(snapshotTree(target)).toEqual({ beside: 'file 644 "3"', d: "dir 755", "d/new": 'file 644 "4"' });
    });

    it("keep entries of their own layer that come before the marker", async () => {
      await applyLayers(target, [
        [
          dir("d"),
          file("d/old", "lower"),
          file("d/replaced", "lower"),
          dir("d/sub"),
          file("d/sub/old", "lower"),
        ],
        [
          dir("d"),
          file("d/replaced", "upper"),
          file("d/sub/new", "upper"),
          file("d/.wh..wh..opq", ""),
          file("d/after", "upper"),
        ],
      ]);
      // d/sub came from below, but this layer put d/sub/new in it: the directory stays, its lower
      // contents go, as in an overlay whose upper d is opaque.
      expect(snapshotTree(target)).toEqual({
        d: "dir 755",
        "d/after": 'file 644 "upper"',
        "d/replaced": 'file 644 "upper"',
        "d/sub": "dir 755",
        "d/sub/new": 'file 644 "upper"',
      });
    });

    it("follow a symlinked directory inside the volume to the entries they hide", async () => {
      await applyLayers(target, [
        [dir("usr/lib"), file("usr/lib/old", "1"), symlink("lib", "usr/lib")],
        [file("lib/.wh..wh..opq", ""), file("usr/lib/new", "2")],
      ]);
      expect(snapshotTree(target)).toEqual({
        lib: "symlink -> usr/lib",
        usr: "dir 755",
        "usr/lib": "dir 755",
        "usr/lib/new": 'file 644 "2"',
      });
    });
  });

  describe("hard links", () => {
    it("link to a file of the same layer, sharing its inode", async () => {
      await applyLayers(target, [
        [file("bin/a", "x", 0o755), hardLink("bin/b", "bin/a"), hardLink("c", "./bin/a")],
      ]);
      const inode = (name: string): number => fs.statSync(path.join(target, name)).ino;
      expect(inode("bin/b")).toBe(inode("bin/a"));
      expect(inode("c")).toBe(inode("bin/a"));
      expect(fs.statSync(path.join(target, "c")).nlink).toBe(3);
    });

    it("link to a file of a lower layer, which keeps its content when the original is replaced", async () => {
      await applyLayers(target, [[file("a", "old")], [hardLink("b", "/a")], [file("a", "new")]]);
      expect(snapshotTree(target)).toEqual({ a: 'file 644 "new"', b: 'file 644 "old"' });
    });

    it("refuse a target that does not exist", async () => {
      await expect(applyLayers(target, [[hardLink("b", "nothing")]])).rejects.toThrow(
        new MalformedLayerError("b", 'hard link target "nothing" does not exist'),
      );
    });

    it("accept a link to itself as a no-op", async () => {
      await applyLayers(target, [[file("a", "x"), hardLink("a", "a")]]);
      expect(snapshotTree(target)).toEqual({ a: 'file 644 "x"' });
    });
  });

  describe("symlinks", () => {
    it("are stored verbatim, relative, absolute or dangling", async () => {
      await applyLayers(target, [
        [
          symlink("rel", "../x/y"),
          symlink("abs", "/usr/bin/env"),
          symlink("dangling", "nowhere"),
          symlink("up", "../../.."),
        ],
      ]);
      expect(snapshotTree(target)).toEqual({
        abs: "symlink -> /usr/bin/env",
        dangling: "symlink -> nowhere",
        rel: "symlink -> ../x/y",
        up: "symlink -> ../../..",
      });
    });

    // Were the applier to follow these links the way the kernel does, the files would land on the
    // machine running the tests: the names make sure nothing there is overwritten.
    it("redirect later entries inside the volume, as usrmerge images expect", async () => {
      await applyLayers(target, [
        [dir("usr/bin"), symlink("bin", "usr/bin"), symlink("sbin", "/usr/bin")],
        [file("bin/volpop-sh", "sh"), file("sbin/volpop-init", "init"), file("/bin/volpop-ls", "ls")],
      ]);
      expect(snapshotTree(target)).toEqual({
        bin: "symlink -> usr/bin",
        sbin: "symlink -> /usr/bin",
        usr: "dir 755",
        "usr/bin": "dir 755",
        "usr/bin/volpop-init": 'file 644 "init"',
        "usr/bin/volpop-ls": 'file 644 "ls"',
        "usr/bin/volpop-sh": 'file 644 "sh"',
      });
    });

    it("create the missing directories a dangling symlink points to, inside the volume", async () => {
      await applyLayers(target, [[symlink("data", "/srv/volpop-data"), file("data/x", "1")]]);
      expect(snapshotTree(target)).toEqual({
        data: "symlink -> /srv/volpop-data",
        srv: "dir 755",
        "srv/volpop-data": "dir 755",
        "srv/volpop-data/x": 'file 644 "1"',
      });
    });
  });

  describe("modes, times and owners", () => {
    it("drops setuid and setgid unless asked to keep them, and counts what it dropped", async () => {
      const layer = [
        file("su", "x", 0o4755),
        file("sg", "x", 0o2755),
        dir("shared", 0o2775),
        file("plain", "x", 0o755),
      ];
      const totals = await applyLayers(target, [layer]);
      expect(snapshotTree(target)).toEqual({
        plain: 'file 755 "x"',
        sg: 'file 755 "x"',
        shared: "dir 775",
        su: 'file 755 "x"',
      });
      expect(totals.setidDropped).toBe(3);

      const kept = makeTempDir();
      try {
        await applyLayers(kept, [layer], { keepPrivileges: true });
        expect(snapshotTree(kept)).toMatchObject({
          sg: 'file 2755 "x"',
          shared: "dir 2775",
          su: 'file 4755 "x"',
        });
      } finally {
        removeTempDir(kept);
      }
    });

    it("forces file and directory modes when given, implicit directories included", async () => {
      await applyLayers(target, [[dir("d", 0o700), file("d/f", "x", 0o4755), file("i/g", "y", 0o600)]], {
        fileMode: 0o640,
        dirMode: 0o750,
      });
      expect(snapshotTree(target)).toEqual({
        d: "dir 750",
        "d/f": 'file 640 "x"',
        i: "dir 750",
        "i/g": 'file 640 "y"',
      });
    });

    it("sets the mtimes of files, symlinks and directories, even after later layers add children", async () => {
      const old = new Date("2001-02-03T04:05:06Z");
      await applyLayers(target, [
        [
          { ...dir("d"), mtime: old },
          { ...file("d/f", "x"), mtime: old },
          { ...symlink("l", "d"), mtime: old },
        ],
        [file("d/later", "y")],
      ]);
      const seconds = old.getTime() / 1000;
      expect(fs.lstatSync(path.join(target, "d")).mtimeMs / 1000).toBe(seconds);
      expect(fs.lstatSync(path.join(target, "d/f")).mtimeMs / 1000).toBe(seconds);
      expect(fs.lstatSync(path.join(target, "l")).mtimeMs / 1000).toBe(seconds);
      expect(fs.lstatSync(path.join(target, "d/later")).mtimeMs).toBe(TEST_MTIME.getTime());
    });

    it("applies a read-only directory's mode only at the end, so later layers can still write in it", async () => {
      await applyLayers(target, [[dir("ro", 0o555), file("ro/a", "1")], [file("ro/b", "2")]], {
        preserveOwnership: false,
      });
      expect(snapshotTree(target)).toEqual({ ro: "dir 555", "ro/a": 'file 644 "1"', "ro/b": 'file 644 "2"' });
    });

    it.runIf(process.getuid?.() === 0)("keeps the tar's owners when running as root", async () => {
      await applyLayers(target, [
        [
          { ...dir("home/app"), uid: 1000, gid: 1001 },
          { ...file("home/app/f", "x"), uid: 1000, gid: 1001 },
          { ...symlink("home/app/l", "f"), uid: 1002, gid: 1003 },
        ],
      ]);
      expect(snapshotTree(target, { owners: true })).toEqual({
        home: "dir 755 0:0",
        "home/app": "dir 755 1000:1001",
        "home/app/f": 'file 644 "x" 1000:1001',
        "home/app/l": "symlink -> f 1002:1003",
      });
    });

    it.runIf(process.getuid?.() === 0)(
      "gives every entry the forced owner, implicit directories included",
      async () => {
        await applyLayers(
          target,
          [[{ ...file("a/f", "x"), uid: 7, gid: 7 }, { ...dir("d"), uid: 8, gid: 8 }, symlink("l", "a")]],
          { owner: { uid: 4242, gid: 4343 } },
        );
        expect(snapshotTree(target, { owners: true })).toEqual({
          a: "dir 755 4242:4343",
          "a/f": 'file 644 "x" 4242:4343',
          d: "dir 755 4242:4343",
          l: "symlink -> a 4242:4343",
        });
      },
    );

    it.runIf(process.getuid?.() === 0)("leaves owners alone when not preserving them", async () => {
      await applyLayers(target, [[{ ...file("f", "x"), uid: 1000, gid: 1000 }]], {
        preserveOwnership: false,
      });
      expect(snapshotTree(target, { owners: true })).toEqual({ f: 'file 644 "x" 0:0' });
    });
  });

  describe("xattrs", () => {
    const pax = {
      "SCHILY.xattr.user.origin": "image",
      "SCHILY.xattr.security.capability": "cap",
      "SCHILY.xattr.security.selinux": "system_u:object_r:bin_t:s0",
      "LIBARCHIVE.xattr.user.raw": Buffer.from([0xff, 0x00]).toString("base64"),
    };

    function recordingWriter(failWith?: string): { writer: XattrWriter; calls: string[] } {
      const calls: string[] = [];
      const writer: XattrWriter = async (file, name, value) => {
        if (failWith !== undefined) throw Object.assign(new Error(failWith), { code: failWith });
        calls.push(`${path.relative(target, file)} ${name}=${value.toString("hex")}`);
      };
      return { writer, calls };
    }

    it("writes user xattrs through the writer and skips the other namespaces", async () => {
      const { writer, calls } = recordingWriter();
      const totals = await applyLayers(
        target,
        [
          [
            { ...file("f", "x"), pax },
            { ...dir("d"), pax: { "SCHILY.xattr.user.d": "1" } },
          ],
        ],
        {
          xattrWriter: writer,
        },
      );
      expect(calls).toEqual([
        `f user.origin=${Buffer.from("image").toString("hex")}`,
        "f user.raw=ff00",
        "d user.d=31",
      ]);
      expect(totals).toMatchObject({ xattrs: 3, xattrsSkipped: 2 });
    });

    it("writes security.capability only when keeping privileges", async () => {
      const { writer, calls } = recordingWriter();
      await applyLayers(target, [[{ ...file("f", "x"), pax }]], {
        xattrWriter: writer,
        keepPrivileges: true,
      });
      expect(calls).toContain(`f security.capability=${Buffer.from("cap").toString("hex")}`);
    });

    it("counts xattrs the filesystem refuses instead of failing", async () => {
      const { writer } = recordingWriter("ENOTSUP");
      const totals = await applyLayers(target, [[{ ...file("f", "x"), pax }]], { xattrWriter: writer });
      expect(totals).toMatchObject({ xattrs: 0, xattrsSkipped: 4 });
    });

    it("fails on any other writer error", async () => {
      const { writer } = recordingWriter("EIO");
      await expect(
        applyLayers(target, [[{ ...file("f", "x"), pax }]], { xattrWriter: writer }),
      ).rejects.toThrow("EIO");
    });

    it("counts every xattr as skipped without a writer", async () => {
      const totals = await applyLayers(target, [[{ ...file("f", "x"), pax }]]);
      expect(totals).toMatchObject({ xattrs: 0, xattrsSkipped: 4 });
    });
  });

  describe("subPath", () => {
    it("extracts only the entries below it, re-rooted at the target", async () => {
      const totals = await applyLayers(
        target,
        [
          [
            dir("data"),
            dir("data/models"),
            file("data/models/m.bin", "weights"),
            file("etc/passwd", "root"),
            file("database", "no"),
          ],
        ],
        { subPath: "/data/" },
      );
      expect(snapshotTree(target)).toEqual({ models: "dir 755", "models/m.bin": 'file 644 "weights"' });
      expect(totals.skipped).toBe(3);
    });

    it("follows whiteouts and hard links below it", async () => {
      await applyLayers(
        target,
        [
          [file("data/a", "1"), file("data/b", "2"), hardLink("data/c", "data/a")],
          [file("data/.wh.a", ""), file(".wh.elsewhere", "")],
        ],
        { subPath: "data" },
      );
      expect(snapshotTree(target)).toEqual({ b: 'file 644 "2"', c: 'file 644 "1"' });
    });

    it("refuses a hard link to a file outside it, which was not extracted", async () => {
      await expect(
        applyLayers(target, [[file("etc/x", "1"), hardLink("data/y", "etc/x")]], { subPath: "data" }),
      ).rejects.toThrow(
        new MalformedLayerError("data/y", 'hard link target "etc/x" is outside the extracted subPath'),
      );
    });

    it.each([
      ["a whiteout of the subPath", "data", [file(".wh.data", "")]],
      ["a whiteout of one of its parents", "srv/data", [file(".wh.srv", "")]],
      ["an opaque parent", "srv/data", [file("srv/.wh..wh..opq", "")]],
      ["a file replacing it", "srv/data", [file("srv/data", "")]],
      ["a symlink replacing a parent", "srv/data", [symlink("srv", "/elsewhere")]],
    ])("clears what lower layers put there on %s", async (_, subPath, upper) => {
      await applyLayers(target, [[file(`${subPath}/old`, "1")], [...upper, file(`${subPath}/new`, "2")]], {
        subPath,
      });
      expect(snapshotTree(target)).toEqual({ new: 'file 644 "2"' });
    });
  });

  describe("broken input", () => {
    it("says a stream that is not a tar is malformed", async () => {
      const applier = new LayerApplier({ target });
      const garbage = new PassThrough();
      garbage.end(Buffer.alloc(1024, 0x41));
      await expect(applier.applyLayer(garbage)).rejects.toThrow(MalformedLayerError);
    });

    it("says a tar truncated inside an entry's data is malformed, naming the entry", async () => {
      const whole: Buffer[] = [];
      for await (const chunk of tarOf([file("f", "x".repeat(2000))])) whole.push(chunk as Buffer);
      const truncated = new PassThrough();
      truncated.end(Buffer.concat(whole).subarray(0, 1024));
      await expect(new LayerApplier({ target }).applyLayer(truncated)).rejects.toThrow(
        'layer entry "f": the archive ends inside its data',
      );
    });

    it("passes the input stream's own error through unchanged", async () => {
      const failing = new PassThrough();
      const failure = new Error("digest mismatch");
      failing.write(Buffer.alloc(100));
      setTimeout(() => failing.destroy(failure), 10);
      await expect(new LayerApplier({ target }).applyLayer(failing)).rejects.toBe(failure);
    });

    it("refuses an entry whose parent is a regular file", async () => {
      await expect(applyLayers(target, [[file("a", "1"), file("a/b", "2")]])).rejects.toThrow(
        new MalformedLayerError("a/b", '"a" in its path is not a directory'),
      );
    });

    it("refuses a symlink loop in an entry's path", async () => {
      await expect(
        applyLayers(target, [[symlink("a", "b"), symlink("b", "a"), file("a/x", "1")]]),
      ).rejects.toThrow(/too many levels of symbolic links/);
    });
  });

  describe("usage", () => {
    it("refuses to be used again after a failure", async () => {
      const applier = new LayerApplier({ target });
      await expect(applier.applyLayer(tarOf([file("../x", "1")]))).rejects.toThrow(/escapes the volume/);
      await expect(applier.applyLayer(tarOf([]))).rejects.toThrow("while the applier is failed");
      await expect(applier.finish()).rejects.toThrow("while the applier is failed");
    });

    it("refuses a second layer while the first is still being applied", async () => {
      const applier = new LayerApplier({ target });
      const first = applier.applyLayer(tarOf([file("a", "1")]));
      await expect(applier.applyLayer(tarOf([]))).rejects.toThrow("while the applier is applying");
      await first;
    });

    it("fails with the stream's error, without crashing the process, when it fails before reading begins", async () => {
      // A slow stat() of the target, as on network storage, and a download that fails at once.
      const stat = fsPromises.stat;
      const slowStat = vi
        .spyOn(fsPromises, "stat")
        .mockImplementation(async (...args: Parameters<typeof stat>) => {
          await new Promise((resolve) => setTimeout(resolve, 100));
          return stat(...args);
        });
      try {
        const tar = new PassThrough();
        let handled: boolean | undefined;
        setImmediate(() => {
          handled = tar.listenerCount("error") > 0;
          tar.destroy(new Error("blob download failed"));
        });
        await expect(new LayerApplier({ target }).applyLayer(tar)).rejects.toThrow("blob download failed");
        expect(handled).toBe(true);
      } finally {
        slowStat.mockRestore();
      }
    });

    it("refuses a target that is not a directory", async () => {
      await expect(applyLayers(path.join(target, "missing"), [[]])).rejects.toThrow(/is not a directory/);
    });

    it.each([
      [{ subPath: "../up" }, /subPath "..\/up" must stay inside the image/],
      [{ fileMode: 0o10000 }, /fileMode must be permission bits/],
      [{ owner: { uid: -1, gid: 0 } }, /owner ids/],
      [{ limits: { maxBytes: 0 } }, /maxBytes must be a positive integer/],
    ])("refuses the options %j", (options, message) => {
      expect(() => new LayerApplier({ target, ...options })).toThrow(message);
    });
  });
});
