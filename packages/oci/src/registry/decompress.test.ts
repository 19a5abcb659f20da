import { Readable } from "node:stream";
import zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import { decompressLayer } from "./decompress.ts";
import { DigestMismatchError, LayerDecompressionError } from "./errors.ts";
import { MediaType } from "./media-types.ts";

const WHAT = "layer sha256:test of registry.test/app";
const GZIP = MediaType.OciLayerGzip;
const ZSTD = MediaType.OciLayerZstd;

const first = Buffer.alloc(3000, "first ");
const second = Buffer.alloc(2000, "second ");
const gzipped = (bytes: Buffer): Buffer => zlib.gzipSync(bytes);
const zstd = (bytes: Buffer): Buffer => zlib.zstdCompressSync(bytes);

/** A zstd skippable frame (magic 0x184D2A50 to 0x184D2A5F) holding `payload`. */
function skippable(payload: string, magicLow = 0x50): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32LE(0x184d2a00 | magicLow, 0);
  header.writeUInt32LE(Buffer.byteLength(payload), 4);
  return Buffer.concat([header, Buffer.from(payload)]);
}

/**
 * A blob that yields `chunks` one by one, then fails with `error` if given, a little later, as a
 * blob stream does when the digest of its last bytes turns out wrong.
 */
function blobOf(chunks: readonly Buffer[], error?: Error): Readable {
  return Readable.from(
    (async function* () {
      for (const chunk of chunks) {
        await new Promise((resolve) => setImmediate(resolve));
        yield chunk;
      }
      if (error === undefined) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
      throw error;
    })(),
    { objectMode: false },
  );
}

/** Everything the layer stream gives, or its error. */
async function decompressed(blob: Readable, mediaType: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of decompressLayer(blob, mediaType, WHAT)) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

async function failureOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected the layer stream to fail, and it ended");
}

describe("decompressLayer", () => {
  describe("reads every gzip member and every zstd frame to the end of the blob", () => {
    it.each([
      ["two gzip members in one chunk", GZIP, [Buffer.concat([gzipped(first), gzipped(second)])]],
      ["two gzip members in two chunks", GZIP, [gzipped(first), gzipped(second)]],
      ["two zstd frames in one chunk", ZSTD, [Buffer.concat([zstd(first), zstd(second)])]],
      ["two zstd frames in two chunks", ZSTD, [zstd(first), zstd(second)]],
      [
        "zstd frames around skippable frames",
        ZSTD,
        [Buffer.concat([skippable("seek table"), zstd(first), skippable("", 0x5f), zstd(second)])],
      ],
      [
        "two zstd frames split one byte at a time",
        ZSTD,
        [...Buffer.concat([zstd(first), zstd(second)])].map((byte) => Buffer.from([byte])),
      ],
    ])("%s", async (_name, mediaType, chunks) => {
      expect((await decompressed(blobOf(chunks), mediaType)).equals(Buffer.concat([first, second]))).toBe(
        true,
      );
    });

    it("a zstd blob of one leading skippable frame and one frame decodes the frame", async () => {
      const blob = blobOf([Buffer.concat([skippable("pzstd"), zstd(first)])]);
      expect((await decompressed(blob, ZSTD)).equals(first)).toBe(true);
    });
  });

  describe("fails on anything after the last member or frame", () => {
    it.each([
      [
        "zero padding after a gzip member, in the same chunk",
        GZIP,
        [Buffer.concat([gzipped(first), Buffer.alloc(512)])],
      ],
      ["zero padding after a gzip member, in its own chunk", GZIP, [gzipped(first), Buffer.alloc(512)]],
      ["garbage after a gzip member", GZIP, [Buffer.concat([gzipped(first), Buffer.from("garbage")])]],
      ["zero padding after a zstd frame", ZSTD, [Buffer.concat([zstd(first), Buffer.alloc(512)])]],
      ["garbage after a zstd frame", ZSTD, [Buffer.concat([zstd(first), Buffer.from("garbage")])]],
      ["a truncated second zstd frame", ZSTD, [Buffer.concat([zstd(first), zstd(second).subarray(0, 9)])]],
      ["a truncated skippable frame", ZSTD, [Buffer.concat([zstd(first), skippable("cut").subarray(0, 10)])]],
    ])("%s", async (_name, mediaType, chunks) => {
      const error = await failureOf(decompressed(blobOf(chunks), mediaType));
      expect(error).toBeInstanceOf(LayerDecompressionError);
    });

    it.each([
      ["gzip", GZIP],
      ["zstd", ZSTD],
    ])("an empty %s blob", async (_name, mediaType) => {
      expect(await failureOf(decompressed(blobOf([]), mediaType))).toBeInstanceOf(LayerDecompressionError);
    });
  });

  describe("ends only once the blob has ended, so a blob error is never lost", () => {
    const mismatch = new DigestMismatchError(WHAT, "sha256:expected", "sha256:actual");

    it.each([
      ["after a gzip member followed by zeros", GZIP, [gzipped(first), Buffer.alloc(4096)]],
      ["after a complete gzip member", GZIP, [gzipped(first)]],
      ["after a zstd frame followed by more bytes", ZSTD, [Buffer.concat([zstd(first), Buffer.alloc(64)])]],
      ["after an uncompressed tar", MediaType.OciLayer, [first]],
    ])("fails with the blob's digest error %s", async (_name, mediaType, chunks) => {
      expect(await failureOf(decompressed(blobOf(chunks, mismatch), mediaType))).toBe(mismatch);
    });

    it("reports the blob's digest error rather than the decompression error it caused", async () => {
      // A registry swapping in other bytes: not gzip at all, and not the digest either.
      const error = await failureOf(decompressed(blobOf([Buffer.from("not gzip")], mismatch), GZIP));
      expect(error).toBe(mismatch);
    });
  });

  it("stops the download when the layer stream is destroyed, even while it waits for a reader", async () => {
    const big = zstd(Buffer.alloc(8 << 20, "z"));
    const blob = blobOf([big.subarray(0, 100), big.subarray(100)]);
    const layer = decompressLayer(blob, ZSTD, WHAT);
    await new Promise((resolve) => layer.once("readable", resolve));
    layer.destroy();
    await new Promise((resolve) => blob.once("close", resolve));
    expect(blob.destroyed).toBe(true);
  });
});
