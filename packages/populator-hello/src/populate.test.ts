import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { badInputCase, contained } from "@volpop/test-catalogue";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { writeHello } from "./populate.ts";

describe("writeHello", () => {
  // The volume is a directory of its own inside `root`, so that a write beside it would show.
  let root: string;
  let dir: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "hello-"));
    dir = path.join(root, "volume");
    fs.mkdirSync(dir);
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it("writes the file with a trailing newline, as upstream", async () => {
    await writeHello(
      { kind: "directory", path: dir },
      { fileName: "example.txt", fileContents: "Hello, world!" },
    );
    expect(fs.readFileSync(path.join(dir, "example.txt"), "utf8")).toBe("Hello, world!\n");
    expect(fs.readdirSync(dir)).toEqual(["example.txt"]);
  });

  it("writes multi-line and non-ASCII contents unchanged", async () => {
    await writeHello(
      { kind: "directory", path: dir },
      { fileName: "zh.txt", fileContents: "你好，世界！\nsecond line" },
    );
    expect(fs.readFileSync(path.join(dir, "zh.txt"), "utf8")).toBe("你好，世界！\nsecond line\n");
  });

  it("writes the bytes at the start of a block device", async () => {
    const device = path.join(dir, "device");
    fs.writeFileSync(device, Buffer.alloc(4096));
    await writeHello({ kind: "device", path: device }, { fileName: "ignored", fileContents: "raw" });
    expect(fs.readFileSync(device).subarray(0, 5).toString()).toBe("raw\n\0");
  });

  // Populate mode checks the spec before this runs (see hello.test.ts); this holds even without it.
  badInputCase.each(["../escape", "/etc/passwd", "a/b", "..", "."])(
    {
      id: "hello-hostile-file-name",
      component: "hello",
      input:
        "a file name that is a path (../escape, /etc/passwd, a/b, .., .) in a spec that skipped the checks",
      expected: "refusing to write outside the volume",
      checks: ["volume-left-empty", "nothing-outside-volume"],
    },
    async (fileName) => {
      await expect(
        writeHello({ kind: "directory", path: dir }, { fileName, fileContents: "x" }),
      ).rejects.toThrow(`refusing to write outside ${dir}`);
      contained("volume-left-empty", () => expect(fs.readdirSync(dir)).toEqual([]));
      contained("nothing-outside-volume", () => expect(fs.readdirSync(root)).toEqual(["volume"]));
    },
  );
});
