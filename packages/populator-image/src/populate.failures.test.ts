/**
 * Populate mode against bad images, missing references and failing registries: each attempt fails
 * with one clear sentence for the PVC's event, and leaves the volume empty (and the world around
 * it untouched), however much of the image it had already written.
 */
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import zlib from "node:zlib";
import { DEFAULT_MAX_MANIFEST_BYTES, MediaType } from "@volpop/oci";
import {
  type FaultProxy,
  type GuardedVolume,
  guardedVolume,
  type LayerSpec,
  type LocalRegistry,
  type RecordingServer,
  randomBytes,
  snapshotTree,
  startFaultProxy,
  startLocalRegistry,
  startRecordingServer,
  tarBytes,
  type WrittenImage,
  writeImage,
} from "@volpop/oci-testing";
import { badInputCase, contained } from "@volpop/test-catalogue";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { shortDigest } from "./populate/describe-failure.ts";
import type { ImagePopulateError } from "./populate/errors.ts";
import { failureOf, type Pod, scratchPod } from "./populate/testing.ts";

let volume: GuardedVolume;
let before: Record<string, string>;
let pod: Pod;
beforeEach(() => {
  volume = guardedVolume();
  before = volume.outside();
  pod = scratchPod(volume.target);
});
afterEach(() => {
  try {
    contained("nothing-outside-volume", () => expect(volume.outside()).toEqual(before));
  } finally {
    pod.remove();
    volume.remove();
  }
});

const base: LayerSpec = {
  entries: [
    { type: "dir", path: "etc" },
    { type: "file", path: "etc/motd", content: "written before the bad layer" },
  ],
};

describe("a hostile layer", () => {
  let registry: LocalRegistry;
  beforeAll(async () => {
    registry = await startLocalRegistry();
  });
  afterAll(() => registry.stop());

  /** Pushes a good layer then `bad`, populates, and returns the error and the bad layer's digest. */
  async function populateWith(
    bad: LayerSpec,
    extra: object = {},
  ): Promise<{ error: Error; image: WrittenImage; bad: string }> {
    const repository = `hostile-${Math.random().toString(36).slice(2, 8)}`;
    const image = await writeImage(registry.pushTarget, { repository, layers: [base, bad] });
    const error = await failureOf(
      pod.populate({ image: image.reference, insecureRegistries: [registry.host], ...extra }),
    );
    contained("volume-left-empty", () => expect(snapshotTree(volume.target)).toEqual({}));
    return { error, image, bad: shortDigest(image.manifests[0]?.layers[1]?.digest ?? "") };
  }

  badInputCase(
    {
      id: "image-entry-dotdot",
      component: "image",
      input: "a layer entry named ../etc/passwd",
      expected: 'UNSAFE_LAYER_ENTRY: entry "../etc/passwd" rejected: escapes the volume',
      checks: ["nothing-outside-volume", "volume-left-empty"],
    },
    async () => {
      const { error, image, bad } = await populateWith({
        entries: [
          { type: "raw", header: { name: "../etc/passwd", type: "file" }, content: Buffer.from("x") },
        ],
      });
      expect(error.message).toBe(
        `image ${image.reference}: layer ${bad} entry "../etc/passwd" rejected: escapes the volume`,
      );
      expect((error as ImagePopulateError).code).toBe("UNSAFE_LAYER_ENTRY");
    },
  );

  badInputCase(
    {
      id: "image-hardlink-outside",
      component: "image",
      input: "a hard link to ../../etc/passwd",
      expected: 'UNSAFE_LAYER_ENTRY: hard link target "../../etc/passwd" escapes the volume',
      checks: ["nothing-outside-volume", "volume-left-empty"],
    },
    async () => {
      const { error, image, bad } = await populateWith({
        entries: [{ type: "hardlink", path: "passwd", target: "../../etc/passwd" }],
      });
      expect(error.message).toBe(
        `image ${image.reference}: layer ${bad} entry "passwd" rejected: hard link target "../../etc/passwd" escapes the volume`,
      );
    },
  );

  badInputCase(
    {
      id: "image-hardlink-via-symlink",
      component: "image",
      input: "a hard link through a symlink that points outside the volume",
      expected: 'UNSAFE_LAYER_ENTRY: hard link target "out" is a symlink',
      checks: ["nothing-outside-volume", "volume-left-empty"],
    },
    async () => {
      const { error, image, bad } = await populateWith({
        entries: [
          { type: "symlink", path: "out", target: "../sentinel.txt" },
          { type: "hardlink", path: "link", target: "out" },
        ],
      });
      expect(error.message).toBe(
        `image ${image.reference}: layer ${bad} entry "link" rejected: hard link target "out" is a symlink`,
      );
    },
  );

  badInputCase(
    {
      id: "image-device-node",
      component: "image",
      input: "a block device node (dev/sda, 8:0) in a layer",
      expected: "UNSAFE_LAYER_ENTRY: device nodes are never created in a volume",
      checks: ["nothing-outside-volume", "volume-left-empty"],
    },
    async () => {
      const { error, image, bad } = await populateWith({
        entries: [
          { type: "raw", header: { name: "dev/sda", type: "block-device", devmajor: 8, devminor: 0 } },
        ],
      });
      expect(error.message).toBe(
        `image ${image.reference}: layer ${bad} entry "dev/sda" rejected: device nodes are never created in a volume`,
      );
    },
  );

  badInputCase(
    {
      id: "image-tar-bomb",
      component: "image",
      input: "an entry declaring more bytes than spec.limits.maxBytes leaves (a tar bomb)",
      expected: "EXTRACT_LIMIT_EXCEEDED: exceeds maxBytes, refused from its header",
      checks: ["nothing-outside-volume", "volume-left-empty"],
    },
    async () => {
      const { error, image, bad } = await populateWith(
        { entries: [{ type: "file", path: "bomb", content: { randomBytes: 64 * 1024 } }] },
        { limits: { maxBytes: 4096 } },
      );
      // The base layer takes 2560 bytes once decompressed (4 blocks and the end-of-archive marker), the
      // bomb's header 512.
      expect(error.message).toBe(
        `image ${image.reference}: layer ${bad} entry "bomb" rejected: exceeds maxBytes (4096): it declares 65536 bytes and only 1024 remain`,
      );
      expect((error as ImagePopulateError).code).toBe("EXTRACT_LIMIT_EXCEEDED");
    },
  );

  badInputCase(
    {
      id: "image-zero-bomb",
      component: "image",
      input: "a layer that decompresses to 8 MiB of zeros past spec.limits.maxBytes (a zero bomb)",
      expected: "EXTRACT_LIMIT_EXCEEDED: the layers hold more than maxBytes once decompressed",
      checks: ["nothing-outside-volume", "volume-left-empty"],
    },
    async () => {
      // 8 MiB of zeros after the end of the archive: a few KiB of gzip, and no entry at all.
      const tar = Buffer.concat([
        await tarBytes([{ type: "file", path: "small", content: "x" }]),
        Buffer.alloc(8 << 20),
      ]);
      const { error, image, bad } = await populateWith({ tar }, { limits: { maxBytes: "1Mi" } });
      expect(error.message).toBe(
        `image ${image.reference}: layer ${bad} rejected: exceeds maxBytes (1048576): the layers hold more than 1048576 bytes once decompressed`,
      );
      expect((error as ImagePopulateError).code).toBe("EXTRACT_LIMIT_EXCEEDED");
    },
  );

  badInputCase(
    {
      id: "image-too-many-entries",
      component: "image",
      input: "more entries than spec.limits.maxEntries",
      expected: "EXTRACT_LIMIT_EXCEEDED: exceeds maxEntries, naming the first entry over",
      checks: ["nothing-outside-volume", "volume-left-empty"],
    },
    async () => {
      const { error, image, bad } = await populateWith(
        { entries: Array.from({ length: 10 }, (_, i) => ({ type: "file" as const, path: `f${i}` })) },
        { limits: { maxEntries: 5 } },
      );
      expect(error.message).toBe(
        `image ${image.reference}: layer ${bad} entry "f3" rejected: exceeds maxEntries (5): the layers hold more than 5 entries`,
      );
    },
  );

  badInputCase(
    {
      id: "image-symlink-outside",
      component: "image",
      input: "a symlink to ../.. and a file written through it",
      expected: "populated: the symlink resolves inside the volume, and so does the write",
      checks: ["nothing-outside-volume"],
    },
    async () => {
      const image = await writeImage(registry.pushTarget, {
        repository: "contained",
        layers: [
          base,
          {
            entries: [
              { type: "symlink", path: "escape", target: "../.." },
              { type: "file", path: "escape/sentinel.txt", content: "contained" },
            ],
          },
        ],
      });
      await pod.populate({ image: image.reference, insecureRegistries: [registry.host] });
      expect(snapshotTree(volume.target)).toEqual({
        escape: "symlink -> ../..",
        etc: "dir 755",
        "etc/motd": 'file 644 "written before the bad layer"',
        "sentinel.txt": 'file 644 "contained"',
      });
      // afterEach checks that the real sentinel beside the volume is untouched.
    },
  );

  badInputCase.each([
    {
      what: "files written into lost+found",
      entries: [
        { type: "dir" as const, path: "lost+found/nested" },
        { type: "file" as const, path: "lost+found/nested/planted", content: "from the image" },
        { type: "file" as const, path: "lost+found/#12", content: "from the image" },
      ],
    },
    {
      what: "lost+found replaced by a symlink to outside the volume",
      entries: [
        { type: "whiteout" as const, path: "lost+found" },
        { type: "symlink" as const, path: "lost+found", target: "../.." },
      ],
    },
  ])(
    {
      id: "image-lost-found",
      component: "image",
      input:
        "a layer that fills lost+found or replaces it by a symlink to outside the volume, then a bad layer",
      expected: "the failed attempt leaves only an empty lost+found, mode 0700, as mkfs makes it",
      checks: ["nothing-outside-volume", "volume-left-empty"],
    },
    async ({ entries }) => {
      fs.mkdirSync(`${volume.target}/lost+found`, { mode: 0o700 });
      const image = await writeImage(registry.pushTarget, {
        repository: `lost-and-found-${Math.random().toString(36).slice(2, 8)}`,
        layers: [
          { entries },
          {
            entries: [
              { type: "raw", header: { name: "dev/sda", type: "block-device", devmajor: 8, devminor: 0 } },
            ],
          },
        ],
      });
      await failureOf(pod.populate({ image: image.reference, insecureRegistries: [registry.host] }));
      contained("volume-left-empty", () =>
        expect(snapshotTree(volume.target)).toEqual({ "lost+found": "dir 700" }),
      );
      // afterEach checks that nothing outside the volume changed.
    },
  );

  badInputCase(
    {
      id: "image-layer-media-type",
      component: "image",
      input: "a layer of a media type no unpacker knows (tar+lz4)",
      expected: "UNSUPPORTED_MEDIA_TYPE, naming the media type and the layer",
      checks: ["nothing-outside-volume", "volume-left-empty"],
    },
    async () => {
      const image = await writeImage(registry.pushTarget, {
        repository: "odd-layer",
        layers: [base, { ...base, mediaType: "application/vnd.example.layer.v1.tar+lz4" }],
      });
      const error = await failureOf(
        pod.populate({ image: image.reference, insecureRegistries: [registry.host] }),
      );
      expect(error.message).toBe(
        `image ${image.reference}: unsupported media type "application/vnd.example.layer.v1.tar+lz4" for layer ${image.manifests[0]?.layers[1]?.digest} of ${registry.host}/odd-layer`,
      );
      contained("volume-left-empty", () => expect(snapshotTree(volume.target)).toEqual({}));
    },
  );
});

describe("a reference or blob the registry cannot serve as asked", () => {
  let registry: LocalRegistry;
  beforeAll(async () => {
    registry = await startLocalRegistry();
  });
  afterAll(() => registry.stop());
  const plain = (image: string) => ({ image, insecureRegistries: [registry.host] });

  badInputCase(
    {
      id: "image-missing-tag",
      component: "image",
      input: "an image tag the repository does not hold",
      expected: "MANIFEST_NOT_FOUND: manifest not found (check the tag and the repository name)",
      checks: ["nothing-outside-volume", "volume-left-empty"],
    },
    async () => {
      await writeImage(registry.pushTarget, { repository: "present", tag: "v1", layers: [base] });
      const image = `${registry.host}/present:v2`;
      const error = await failureOf(pod.populate(plain(image)));
      expect(error.message).toBe(
        `image ${image}: manifest not found in ${registry.host}/present (check the tag and the repository name)`,
      );
      expect((error as ImagePopulateError).code).toBe("MANIFEST_NOT_FOUND");
      contained("volume-left-empty", () => expect(snapshotTree(volume.target)).toEqual({}));
    },
  );

  badInputCase(
    {
      id: "image-unknown-digest",
      component: "image",
      input: "an image pinned to a digest the repository does not hold",
      expected: "MANIFEST_NOT_FOUND: manifest not found (check the digest and the repository name)",
      checks: ["nothing-outside-volume", "volume-left-empty"],
    },
    async () => {
      await writeImage(registry.pushTarget, { repository: "pinned", layers: [base] });
      const image = `${registry.host}/pinned@sha256:${"0".repeat(64)}`;
      const error = await failureOf(pod.populate(plain(image)));
      expect(error.message).toBe(
        `image ${image}: manifest not found in ${registry.host}/pinned (check the digest and the repository name)`,
      );
      contained("volume-left-empty", () => expect(snapshotTree(volume.target)).toEqual({}));
    },
  );

  badInputCase(
    {
      id: "image-tampered-layer",
      component: "image",
      input: "a layer whose stored bytes were tampered with (one bit flipped), after a good layer",
      expected: "DIGEST_MISMATCH: the registry served corrupt or tampered content",
      checks: ["nothing-outside-volume", "volume-left-empty"],
    },
    async () => {
      const content = randomBytes(256 * 1024, "tampered");
      const image = await writeImage(registry.pushTarget, {
        repository: "tampered",
        layers: [base, { compression: "none", entries: [{ type: "file", path: "data.bin", content }] }],
      });
      const layer = image.manifests[0]?.layers[1]?.digest ?? "";
      const blob = registry.blobPath(layer);
      const bytes = fs.readFileSync(blob);
      bytes[100_000] = (bytes[100_000] ?? 0) ^ 0x01;
      fs.writeFileSync(blob, bytes);
      const error = await failureOf(pod.populate(plain(image.reference)));
      expect(error.message).toMatch(
        new RegExp(
          `^image ${image.reference}: digest mismatch for layer ${shortDigest(layer)}: expected ${layer}, got sha256:[0-9a-f]{64} \\(the registry served corrupt or tampered content\\)$`,
        ),
      );
      expect((error as ImagePopulateError).code).toBe("DIGEST_MISMATCH");
      contained("volume-left-empty", () => expect(snapshotTree(volume.target)).toEqual({}));
    },
  );
});

describe("a pinned layer swapped for other gzip bytes padded with zeros to its size", () => {
  let registry: LocalRegistry;
  beforeAll(async () => {
    registry = await startLocalRegistry();
  });
  afterAll(() => registry.stop());

  badInputCase(
    {
      id: "image-swapped-layer",
      component: "image",
      input:
        "a pinned layer swapped for other gzip bytes padded with zeros to its size (right size, wrong digest)",
      expected: "DIGEST_MISMATCH, none of the swapped-in files kept",
      checks: ["nothing-outside-volume", "volume-left-empty"],
    },
    async () => {
      const image = await writeImage(registry.pushTarget, {
        repository: "swapped",
        layers: [
          base,
          { entries: [{ type: "file", path: "data.bin", content: randomBytes(1024 * 1024, "swap") }] },
        ],
      });
      const layer = image.manifests[0]?.layers[1];
      if (layer === undefined) throw new Error("no layer");
      const planted = zlib.gzipSync(
        await tarBytes([{ type: "file", path: "planted.txt", content: "planted" }]),
      );
      fs.writeFileSync(
        registry.blobPath(layer.digest),
        Buffer.concat([planted, Buffer.alloc(layer.size - planted.length)]),
      );
      const error = await failureOf(
        pod.populate({ image: image.pinnedReference, insecureRegistries: [registry.host] }),
      );
      expect(error.message).toMatch(
        new RegExp(
          `^image ${image.pinnedReference}: digest mismatch for layer ${shortDigest(layer.digest)}: expected ${layer.digest}, got sha256:[0-9a-f]{64} \\(the registry served corrupt or tampered content\\)$`,
        ),
      );
      expect((error as ImagePopulateError).code).toBe("DIGEST_MISMATCH");
      contained("volume-left-empty", () => expect(snapshotTree(volume.target)).toEqual({}));
    },
  );
});

describe("a registry that goes down mid-pull", () => {
  let registry: LocalRegistry;
  let proxy: FaultProxy;
  let reference: string;
  beforeAll(async () => {
    registry = await startLocalRegistry();
    proxy = await startFaultProxy({ host: "127.0.0.1", port: registry.port });
    await writeImage(registry.pushTarget, {
      repository: "flaky",
      layers: [
        base,
        {
          compression: "none",
          entries: [{ type: "file", path: "big.bin", content: { randomBytes: 1024 * 1024 } }],
        },
      ],
    });
    reference = `${proxy.host}/flaky:latest`;
  });
  afterAll(async () => {
    await proxy.stop();
    await registry.stop();
  });

  it("is retried, then reported unavailable, and the volume is emptied", async () => {
    const logs: string[] = [];
    let downed: Promise<void> | undefined;
    // The connection drops half-way through the big layer; as the client sets out to resume it, the
    // registry is gone: every retry is refused.
    proxy.cutAfter(512 * 1024);
    try {
      const error = await failureOf(
        pod.populate(
          { image: reference, insecureRegistries: [proxy.host] },
          {
            log: (_level, _fields, message) => {
              logs.push(message);
              if (message.startsWith("resuming ")) downed ??= proxy.down();
            },
          },
        ),
      );
      expect(error.message).toMatch(
        new RegExp(
          `^image ${reference}: registry ${proxy.host} unavailable after 3 attempts: .*ECONNREFUSED`,
        ),
      );
      expect((error as ImagePopulateError).code).toBe("REGISTRY_UNAVAILABLE");
      expect(logs.filter((line) => line.startsWith("retrying "))).toHaveLength(2);
      expect(snapshotTree(volume.target)).toEqual({});
    } finally {
      await downed;
      await proxy.up();
    }
  });
});

describe("a registry serving a manifest of an unknown media type", () => {
  let server: http.Server;
  let host: string;
  beforeAll(async () => {
    // docker-registry refuses to store such a manifest, so a few lines of HTTP stand in for one.
    server = http.createServer((request, response) => {
      if (request.url === "/v2/") {
        response.writeHead(200).end("{}");
        return;
      }
      const body = JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.example.manifest.v9+json",
      });
      response.writeHead(200, { "content-type": "application/vnd.example.manifest.v9+json" }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  badInputCase(
    {
      id: "image-manifest-media-type",
      component: "image",
      input: "a manifest of an unknown media type",
      expected: "UNSUPPORTED_MEDIA_TYPE, naming the media type of the manifest",
      checks: ["nothing-outside-volume", "volume-left-empty"],
    },
    async () => {
      const image = `${host}/odd:v1`;
      const error = await failureOf(pod.populate({ image, insecureRegistries: [host] }));
      expect(error.message).toMatch(
        new RegExp(
          `^image ${image}: unsupported media type "application/vnd\\.example\\.manifest\\.v9\\+json" for manifest`,
        ),
      );
      expect((error as ImagePopulateError).code).toBe("UNSUPPORTED_MEDIA_TYPE");
      contained("volume-left-empty", () => expect(snapshotTree(volume.target)).toEqual({}));
    },
  );
});

describe("a registry serving a manifest larger than the limit", () => {
  let server: RecordingServer;
  beforeAll(async () => {
    // 5 MiB of JSON whitespace, over the client's 4 MiB limit: served with its length announced on
    // one path and in chunks, without a length, on the other.
    const huge = Buffer.alloc(DEFAULT_MAX_MANIFEST_BYTES + 1024 * 1024, " ");
    server = await startRecordingServer((request, response) => {
      const announced = request.path.includes("/announced/");
      response.writeHead(200, {
        "content-type": MediaType.OciManifest,
        ...(announced ? { "content-length": String(huge.length) } : {}),
      });
      response.end(huge);
    });
  });
  afterAll(() => server.stop());

  badInputCase.each(["announced", "chunked"])(
    {
      id: "image-huge-manifest",
      component: "image",
      input: "a 5 MiB manifest, its length announced or not",
      expected: "MANIFEST_TOO_LARGE: larger than the 4194304 byte limit, read no further",
      checks: ["nothing-outside-volume", "volume-left-empty"],
    },
    async (how) => {
      const image = `${server.host}/${how}/app:v1`;
      const error = await failureOf(pod.populate({ image, insecureRegistries: [server.host] }));
      expect(error.message).toMatch(
        new RegExp(`^image ${image}: .*larger than the ${DEFAULT_MAX_MANIFEST_BYTES} byte limit`),
      );
      expect((error as ImagePopulateError).code).toBe("MANIFEST_TOO_LARGE");
      contained("volume-left-empty", () => expect(snapshotTree(volume.target)).toEqual({}));
    },
  );
});
