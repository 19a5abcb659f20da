import fs from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import {
  applyLayers,
  bombOf,
  makeTempDir,
  removeTempDir,
  snapshotTree,
  type TestEntry,
  tarOf,
} from "@volpop/oci-testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LayerApplier } from "./applier.ts";
import { ExtractLimitError } from "./errors.ts";
import { DEFAULT_LIMITS, resolveLimits } from "./limits.ts";

let target: string;
beforeEach(() => {
  target = makeTempDir();
});
afterEach(() => removeTempDir(target));

const file = (name: string, content = ""): TestEntry => ({ name, content });

describe("resolveLimits", () => {
  it("fills in the defaults", () => {
    expect(resolveLimits({ maxBytes: 10, maxDepth: undefined })).toEqual({ ...DEFAULT_LIMITS, maxBytes: 10 });
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])("refuses %s", (maxEntries) => {
    expect(() => resolveLimits({ maxEntries })).toThrow(/maxEntries must be a positive integer/);
  });
});

describe("extract limits", () => {
  it("count every byte of the uncompressed layers and name the entry that goes over", async () => {
    // Layer 1: a's header, data block and the end-of-archive marker; layer 2: b, then c's header.
    const maxBytes = 512 + 512 + 1024 + (512 + 512) + 512;
    const error = await applyLayers(target, [[file("a", "12345")], [file("b", "678"), file("c", "9")]], {
      limits: { maxBytes },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExtractLimitError);
    expect(error).toMatchObject({
      code: "EXTRACT_LIMIT_EXCEEDED",
      entry: "c",
      limit: "maxBytes",
      max: maxBytes,
    });
    expect((error as Error).message).toBe(
      `layer entry "c" rejected: exceeds maxBytes (${maxBytes}): it declares 1 bytes and only 0 remain`,
    );
    expect(snapshotTree(target)).toEqual({ a: 'file 644 "12345"', b: 'file 644 "678"' });
  });

  it("refuse a tar bomb from its header, before writing a byte", async () => {
    const applier = new LayerApplier({ target, limits: { maxBytes: 1024 ** 3 } });
    await expect(applier.applyLayer(bombOf("bomb", 1024 ** 4))).rejects.toThrow(
      'layer entry "bomb" rejected: exceeds maxBytes (1073741824): it declares 1099511627776 bytes and only 1073741312 remain',
    );
    expect(fs.readdirSync(target)).toEqual([]);
  });

  it("count entries across layers, whiteouts and skipped entries included", async () => {
    await expect(
      applyLayers(target, [[file("a"), file(".wh.x")], [file("b")]], { limits: { maxEntries: 2 } }),
    ).rejects.toThrow(new ExtractLimitError("b", "maxEntries", 2, "the layers hold more than 2 entries"));
    await expect(
      applyLayers(makeFresh(), [[file("a"), file("b")]], { limits: { maxEntries: 2 } }),
    ).resolves.toMatchObject({ entries: 2 });
  });

  it("bound the length of names and link targets in bytes", async () => {
    const long = `${"é".repeat(10)}`; // 20 bytes
    await expect(applyLayers(target, [[file(long)]], { limits: { maxPathLength: 19 } })).rejects.toThrow(
      new ExtractLimitError(long, "maxPathLength", 19, "its name is 20 bytes long"),
    );
    await expect(
      applyLayers(target, [[{ name: "l", type: "symlink", linkname: "x".repeat(20) }]], {
        limits: { maxPathLength: 19 },
      }),
    ).rejects.toThrow(new ExtractLimitError("l", "maxPathLength", 19, "its link target is 20 bytes long"));
  });

  it("bound the depth of names once . and .. are resolved", async () => {
    await expect(applyLayers(target, [[file("a/b/c/d")]], { limits: { maxDepth: 3 } })).rejects.toThrow(
      new ExtractLimitError("a/b/c/d", "maxDepth", 3, "it is 4 levels deep"),
    );
    await expect(
      applyLayers(target, [[file("a/b/../c/./d")]], { limits: { maxDepth: 3 } }),
    ).resolves.toMatchObject({
      files: 1,
    });
  });

  it("accept a layer exactly at every limit", async () => {
    // One entry and the directory made for it; its header, its data's block, the end-of-archive marker.
    const totals = await applyLayers(target, [[file("a/b", "1234")]], {
      limits: { maxBytes: 512 + 512 + 1024, maxEntries: 2, maxPathLength: 3, maxDepth: 2 },
    });
    expect(totals).toMatchObject({ entries: 1, implicitDirectories: 1, layerBytes: 2048, bytes: 4 });
    expect(fs.readFileSync(path.join(target, "a/b"), "utf8")).toBe("1234");
  });
});

describe("extract limits against a decompression bomb", () => {
  const MAX_BYTES = 16 * 1024;
  const bulk = "z".repeat(64 * 1024);

  /** The layer's bytes as one stream, read by an applier with maxBytes 16 KiB. */
  function apply(layer: Buffer, options: { subPath?: string } = {}): Promise<unknown> {
    const applier = new LayerApplier({ target, limits: { maxBytes: MAX_BYTES }, ...options });
    return applier.applyLayer(Readable.from([layer]));
  }

  async function bytesOf(entries: readonly TestEntry[]): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of tarOf(entries)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  it.each([
    [
      "zero blocks after the end of the archive",
      async () => Buffer.concat([await bytesOf([file("a", "x")]), Buffer.alloc(bulk.length)]),
    ],
    [
      "anything after the end of the archive",
      async () => Buffer.concat([await bytesOf([file("a", "x")]), Buffer.from(bulk)]),
    ],
    ["an entry outside subPath", async () => bytesOf([file("elsewhere/big", bulk), file("keep/small", "x")])],
    ["AUFS metadata", async () => bytesOf([file(".wh..wh.aufs", bulk)])],
    ["a whiteout with data", async () => bytesOf([file(".wh.gone", bulk)])],
  ])("count the bytes of %s", async (_name, layer) => {
    const error = await apply(await layer(), { subPath: "keep" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExtractLimitError);
    expect(error).toMatchObject({ limit: "maxBytes", max: MAX_BYTES });
  });

  it("counts directories made implicitly for a name toward maxEntries", async () => {
    await expect(applyLayers(target, [[file("a/b/c/d/e/f")]], { limits: { maxEntries: 3 } })).rejects.toThrow(
      ExtractLimitError,
    );
  });

  it("counts directories made along a symlink's target toward maxEntries", async () => {
    const deep = Array.from({ length: 40 }, (_, i) => `d${i}`).join("/");
    const error = await applyLayers(
      target,
      [[{ name: "l", type: "symlink", linkname: deep }, file("l/f", "x")]],
      { limits: { maxEntries: 10 } },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExtractLimitError);
    expect(error).toMatchObject({ limit: "maxEntries", max: 10 });
  });
});

function makeFresh(): string {
  const dir = path.join(target, "fresh");
  fs.mkdirSync(dir);
  return dir;
}
