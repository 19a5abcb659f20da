/**
 * Populate mode into a Block volume: a temporary file stands in for the device (the pod sees
 * /dev/block), and `spec.blockFile` is written raw from its first byte.
 */
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import {
  type LayerSpec,
  type LocalRegistry,
  randomBytes,
  startLocalRegistry,
  tarBytes,
  type WrittenImage,
  writeImage,
} from "@volpop/oci-testing";
import { badInputCase, contained } from "@volpop/test-catalogue";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { shortDigest } from "./populate/describe-failure.ts";
import type { ImagePopulateError } from "./populate/errors.ts";
import { deviceByteCap } from "./populate/fill-device.ts";
import { failureOf, type Pod, scratchPod } from "./populate/testing.ts";

const DEVICE_BYTES = 1024 * 1024;
const GIB = 1024 ** 3;
// What the device holds before: never zero, so that what was written or cleared shows.
const FILL = 0xaa;

let registry: LocalRegistry;
beforeAll(async () => {
  registry = await startLocalRegistry();
});
afterAll(() => registry.stop());

let pod: Pod;
let device: string;
beforeEach(() => {
  pod = scratchPod();
  device = path.join(pod.root, "device");
  fs.writeFileSync(device, Buffer.alloc(DEVICE_BYTES, FILL));
});
afterEach(() => pod.remove());

let repositories = 0;
function push(layers: readonly LayerSpec[]): Promise<WrittenImage> {
  return writeImage(registry.pushTarget, { repository: `block-${++repositories}`, layers });
}

function populateDevice(image: WrittenImage, extra: object = {}) {
  return pod.populate(
    { image: image.reference, insecureRegistries: [registry.host], blockFile: "images/disk.img", ...extra },
    { target: { kind: "device", path: device } },
  );
}

const disk = (content: string | Uint8Array): LayerSpec => ({
  entries: [{ type: "file", path: "images/disk.img", content }],
});

function deviceBytes(): Buffer {
  return fs.readFileSync(device);
}

/** The device as it was before: every byte still the fill. */
function expectUntouched(): void {
  expect(deviceBytes().equals(Buffer.alloc(DEVICE_BYTES, FILL))).toBe(true);
}

describe("populating a Block volume", () => {
  it("writes the topmost layer's copy of the block file from the device's first byte, and leaves the rest", async () => {
    const image = await push([disk("old disk image, longer than the new one"), disk("new disk image")]);
    const { result, reports } = await populateDevice(image);
    const bytes = deviceBytes();
    expect(bytes.subarray(0, 14).toString()).toBe("new disk image");
    expect(bytes.subarray(14).equals(Buffer.alloc(DEVICE_BYTES - 14, FILL))).toBe(true);
    expect(result).toEqual({ pinnedReference: image.pinnedReference, layers: 2, bytes: 14 });
    expect(reports.at(-1)).toMatchObject({
      percent: 100,
      message: `done: 14 B of images/disk.img from ${shortDigest(image.digest)}`,
    });
  });

  it("finds the block file in a lower layer when the layers above leave it alone, under a ./ name", async () => {
    const content = randomBytes(40 * 1024, "disk");
    const image = await push([
      {
        entries: [
          { type: "raw", header: { name: "./images/disk.img", type: "file", size: content.length }, content },
        ],
      },
      { entries: [{ type: "file", path: "images/other.img", content: "unrelated" }] },
      { entries: [{ type: "dir", path: "images" }] },
    ]);
    await populateDevice(image);
    expect(deviceBytes().subarray(0, content.length).equals(content)).toBe(true);
  });

  it.each([
    ["a whiteout", { entries: [{ type: "whiteout", path: "images/disk.img" }] }],
    ["an opaque parent directory", { entries: [{ type: "opaque", path: "images" }] }],
    ["a whiteout of its parent", { entries: [{ type: "whiteout", path: "images" }] }],
  ] as const)("honours %s in an upper layer, and writes nothing", async (_, upper) => {
    const image = await push([disk("deleted above"), upper]);
    const error = await failureOf(populateDevice(image));
    expect(error.message).toBe(
      `image ${image.reference}: spec.blockFile "images/disk.img" is not in the image: layer 2 of 2 (${shortDigest(image.manifests[0]?.layers[1]?.digest ?? "")}) deletes it`,
    );
    expect((error as ImagePopulateError).code).toBe("BLOCK_FILE_NOT_FOUND");
    expectUntouched();
  });

  it("fails clearly when the image has no such file", async () => {
    const image = await push([{ entries: [{ type: "file", path: "images/other.img", content: "x" }] }]);
    const error = await failureOf(populateDevice(image));
    expect(error.message).toBe(
      `image ${image.reference}: spec.blockFile "images/disk.img" is not in the image`,
    );
    expectUntouched();
  });

  badInputCase(
    {
      id: "image-block-file-symlink",
      component: "image",
      input: "spec.blockFile that an upper layer turns into a symlink to /etc/passwd",
      expected:
        'spec.blockFile "images/disk.img" is not a regular file in the image: layer 2 of 2 puts a symlink there',
      checks: ["existing-data-kept"],
    },
    async () => {
      const image = await push([
        disk("real"),
        { entries: [{ type: "symlink", path: "images/disk.img", target: "/etc/passwd" }] },
      ]);
      const error = await failureOf(populateDevice(image));
      expect(error.message).toMatch(
        /spec\.blockFile "images\/disk\.img" is not a regular file in the image: layer 2 of 2 \(sha256:[0-9a-f]{12}…\) puts a symlink there$/,
      );
      contained("existing-data-kept", expectUntouched);
    },
  );

  badInputCase(
    {
      id: "image-block-file-too-large",
      component: "image",
      input: "a block file one byte larger than the device",
      expected: "BLOCK_FILE_TOO_LARGE: larger than the volume: request a larger PVC",
      checks: ["existing-data-kept"],
    },
    async () => {
      const image = await push([disk(randomBytes(DEVICE_BYTES + 1, "too big"))]);
      const error = await failureOf(populateDevice(image));
      expect(error.message).toBe(
        `image ${image.reference}: spec.blockFile "images/disk.img" is ${DEVICE_BYTES + 1} bytes, larger than the ${DEVICE_BYTES}-byte volume: request a larger PVC`,
      );
      expect((error as ImagePopulateError).code).toBe("BLOCK_FILE_TOO_LARGE");
      contained("existing-data-kept", expectUntouched);
    },
  );

  it("is refused when its layers decompress to more than spec.limits.maxBytes (a zero bomb), zeroing what it wrote", async () => {
    // 8 MiB of zeros after the end of the archive: a few KiB of gzip, read after the block file.
    const tar = Buffer.concat([
      await tarBytes([{ type: "file", path: "images/disk.img", content: "disk image" }]),
      Buffer.alloc(8 << 20),
    ]);
    const image = await push([{ tar }]);
    const layer = shortDigest(image.manifests[0]?.layers[0]?.digest ?? "");
    const error = await failureOf(populateDevice(image, { limits: { maxBytes: "1Mi" } }));
    expect(error.message).toBe(
      `image ${image.reference}: layer ${layer} rejected: exceeds maxBytes (1048576): the layers hold more than 1048576 bytes once decompressed`,
    );
    expect((error as ImagePopulateError).code).toBe("EXTRACT_LIMIT_EXCEEDED");
    const bytes = deviceBytes();
    expect(bytes.subarray(0, 10).equals(Buffer.alloc(10))).toBe(true);
    expect(bytes.subarray(10).equals(Buffer.alloc(DEVICE_BYTES - 10, FILL))).toBe(true);
  });

  it.each([
    ["spec.limits.maxBytes when the ImageSource sets it", { maxBytes: 4096 }, GIB, 4096],
    ["the device's capacity, 10% and 1 GiB otherwise", undefined, 10 * GIB, 12 * GIB],
    ["Filesystem mode's default when the capacity is unknown", undefined, undefined, 10 * GIB],
  ])("caps the decompressed bytes at %s", (_, limits, capacity, cap) => {
    expect(deviceByteCap(limits === undefined ? {} : { limits }, capacity)).toBe(cap);
  });

  it("zeroes what it wrote when the layer turns out to be tampered with", async () => {
    // Large enough to pass through the pipeline in many chunks, so that some reach the device first.
    const content = randomBytes(900 * 1024, "tampered disk");
    const image = await push([{ compression: "none", ...disk(content) }]);
    const layer = image.manifests[0]?.layers[0]?.digest ?? "";
    const blob = registry.blobPath(layer);
    const stored = fs.readFileSync(blob);
    stored[800_000] = (stored[800_000] ?? 0) ^ 0x01;
    fs.writeFileSync(blob, stored);
    const error = await failureOf(populateDevice(image));
    expect(error.message).toMatch(/: digest mismatch for layer sha256:[0-9a-f]{12}…: expected /);
    // What reached the device before the mismatch showed is zeroed again; the rest was never written.
    const bytes = deviceBytes();
    const zeroed = bytes.findIndex((byte) => byte !== 0);
    expect(zeroed).toBeGreaterThan(0);
    expect(bytes.subarray(zeroed).equals(Buffer.alloc(DEVICE_BYTES - zeroed, FILL))).toBe(true);
  });

  it("fails with a digest mismatch, leaving none of it on the device, when a pinned layer is swapped for other gzip bytes padded with zeros", async () => {
    // Large enough to arrive in many chunks: the blob stream holds back only the last one.
    const image = await push([disk(randomBytes(1024 * 1024 - 4096, "honest disk"))]);
    const layer = image.manifests[0]?.layers[0];
    if (layer === undefined) throw new Error("no layer");
    const planted = zlib.gzipSync(
      await tarBytes([{ type: "file", path: "images/disk.img", content: "planted disk image" }]),
    );
    fs.writeFileSync(
      registry.blobPath(layer.digest),
      Buffer.concat([planted, Buffer.alloc(layer.size - planted.length)]),
    );
    const error = await failureOf(
      pod.populate(
        { image: image.pinnedReference, insecureRegistries: [registry.host], blockFile: "images/disk.img" },
        { target: { kind: "device", path: device } },
      ),
    );
    expect(error.message).toMatch(/: digest mismatch for layer sha256:[0-9a-f]{12}…: expected /);
    expect((error as ImagePopulateError).code).toBe("DIGEST_MISMATCH");
    expect(deviceBytes().includes("planted")).toBe(false);
  });

  it("needs spec.blockFile", async () => {
    const image = await push([disk("x")]);
    const error = await failureOf(
      pod.populate(
        { image: image.reference, insecureRegistries: [registry.host] },
        { target: { kind: "device", path: device } },
      ),
    );
    expect(error.message).toBe(
      `image ${image.reference}: spec.blockFile is required for a Block volume: name the disk image file in the image to write to the device`,
    );
    expectUntouched();
  });
});
