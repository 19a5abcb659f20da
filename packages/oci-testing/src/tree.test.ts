import { Readable } from "node:stream";
import { digestOf } from "@volpop/oci";
import { extract, type Header } from "tar-stream";
import { describe, expect, it } from "vitest";
import { randomBytes } from "./random-bytes.ts";
import { tarBytes, tarStream } from "./tree.ts";

async function entries(tar: Buffer): Promise<{ header: Header; content: Buffer }[]> {
  const out: { header: Header; content: Buffer }[] = [];
  const reader = extract();
  Readable.from([tar]).pipe(reader as unknown as NodeJS.WritableStream);
  for await (const entry of reader) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    out.push({ header: entry.header, content: Buffer.concat(chunks) });
  }
  return out;
}

describe("tarBytes", () => {
  it("writes files, directories and links with their attributes", async () => {
    const mtime = new Date("2024-05-06T07:08:09Z");
    const tar = await tarBytes([
      { type: "dir", path: "bin" },
      { type: "file", path: "bin/tool", content: "#!/bin/sh\n", mode: 0o4755, uid: 1000, gid: 100, mtime },
      { type: "symlink", path: "bin/alias", target: "tool" },
      { type: "hardlink", path: "bin/copy", target: "bin/tool" },
    ]);
    const read = await entries(tar);
    expect(read.map((e) => [e.header.name, e.header.type])).toEqual([
      ["bin", "directory"],
      ["bin/tool", "file"],
      ["bin/alias", "symlink"],
      ["bin/copy", "link"],
    ]);
    expect(read[0]?.header.mode).toBe(0o755);
    expect(read[1]?.header).toMatchObject({ mode: 0o4755, uid: 1000, gid: 100, mtime, size: 10 });
    expect(read[1]?.content.toString()).toBe("#!/bin/sh\n");
    expect(read[2]?.header.linkname).toBe("tool");
    expect(read[3]?.header.linkname).toBe("bin/tool");
  });

  it("writes whiteouts and opaque markers as the OCI layer spec names them", async () => {
    const read = await entries(
      await tarBytes([
        { type: "whiteout", path: "etc/old.conf" },
        { type: "whiteout", path: "gone" },
        { type: "opaque", path: "var/cache/" },
      ]),
    );
    expect(read.map((e) => e.header.name)).toEqual([
      "etc/.wh.old.conf",
      ".wh.gone",
      "var/cache/.wh..wh..opq",
    ]);
    expect(read.every((e) => e.header.size === 0 && e.header.type === "file")).toBe(true);
  });

  it("writes hostile raw entries as given", async () => {
    const read = await entries(
      await tarBytes([
        {
          type: "raw",
          header: { name: "../../etc/passwd", type: "file" },
          content: Buffer.from("root::0:0::/:/bin/sh\n"),
        },
        { type: "raw", header: { name: "/abs/link", type: "symlink", linkname: "/etc/shadow" } },
        { type: "raw", header: { name: "dev/sda", type: "block-device", devmajor: 8, devminor: 0 } },
        {
          type: "raw",
          header: { name: "x", type: "file", pax: { "SCHILY.xattr.security.capability": "x" } },
        },
      ]),
    );
    expect(read.map((e) => [e.header.name, e.header.type])).toEqual([
      ["../../etc/passwd", "file"],
      ["/abs/link", "symlink"],
      ["dev/sda", "block-device"],
      ["x", "file"],
    ]);
    expect(read[2]?.header.devmajor).toBe(8);
    expect(read[3]?.header.pax).toMatchObject({ "SCHILY.xattr.security.capability": "x" });
  });

  it("is deterministic, so the same spec makes the same layer digest", async () => {
    const spec = [{ type: "file" as const, path: "a", content: "same" }];
    expect(digestOf(await tarBytes(spec))).toBe(digestOf(await tarBytes(spec)));
  });

  it("streams generated content without holding it", async () => {
    let total = 0;
    let largest = 0;
    for await (const chunk of tarStream([
      { type: "file", path: "big", content: { randomBytes: 8 * 1024 * 1024, seed: "s" } },
    ])) {
      total += (chunk as Buffer).length;
      largest = Math.max(largest, (chunk as Buffer).length);
    }
    expect(total).toBe(512 + 8 * 1024 * 1024 + 1024);
    expect(largest).toBeLessThanOrEqual(1024 * 1024);
    const read = await entries(
      await tarBytes([{ type: "file", path: "r", content: { randomBytes: 1000, seed: "s" } }]),
    );
    expect(read[0]?.content.equals(randomBytes(1000, "s"))).toBe(true);
  });
});
