import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { writeHello } from "./populate.ts";

describe("writeHello", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "hello-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

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
  it.each(["../escape", "/etc/passwd", "a/b", "..", "."])(
    "refuses the file name %j of an unchecked spec and writes nothing",
    async (fileName) => {
      await expect(
        writeHello({ kind: "directory", path: dir }, { fileName, fileContents: "x" }),
      ).rejects.toThrow(`refusing to write outside ${dir}`);
      expect(fs.readdirSync(dir)).toEqual([]);
    },
  );
});
