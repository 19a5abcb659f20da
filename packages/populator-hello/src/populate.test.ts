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
      { "file-name": "example.txt", "file-contents": "Hello, world!" },
    );
    expect(fs.readFileSync(path.join(dir, "example.txt"), "utf8")).toBe("Hello, world!\n");
    expect(fs.readdirSync(dir)).toEqual(["example.txt"]);
  });

  it("writes multi-line and non-ASCII contents unchanged", async () => {
    await writeHello(
      { kind: "directory", path: dir },
      { "file-name": "zh.txt", "file-contents": "你好，世界！\nsecond line" },
    );
    expect(fs.readFileSync(path.join(dir, "zh.txt"), "utf8")).toBe("你好，世界！\nsecond line\n");
  });

  it("writes the bytes at the start of a block device", async () => {
    const device = path.join(dir, "device");
    fs.writeFileSync(device, Buffer.alloc(4096));
    await writeHello({ kind: "device", path: device }, { "file-name": "ignored", "file-contents": "raw" });
    expect(fs.readFileSync(device).subarray(0, 5).toString()).toBe("raw\n\0");
  });

  it.each(["../escape", "/etc/passwd", "a/b", ".."])(
    "refuses the file name %j and writes nothing",
    async (name) => {
      await expect(
        writeHello({ kind: "directory", path: dir }, { "file-name": name, "file-contents": "x" }),
      ).rejects.toThrow(/refusing to populate: spec.fileName/);
      expect(fs.readdirSync(dir)).toEqual([]);
    },
  );

  it("says which flag is missing", async () => {
    await expect(writeHello({ kind: "directory", path: dir }, {})).rejects.toThrow(
      "refusing to populate: spec.fileName is required; spec.fileContents is required",
    );
  });
});
