/**
 * The pull client against a real registry (Debian's docker-registry) seeded by writeImage: every
 * protocol path a kubelet-like pull takes, and the failures a real network produces.
 */
import fs from "node:fs/promises";
import type { Readable } from "node:stream";
import {
  type FaultProxy,
  type ImageSpec,
  type LocalRegistry,
  randomBytes,
  randomImage,
  startFaultProxy,
  startLocalRegistry,
  type TreeEntry,
  tarBytes,
  writeImage,
} from "@volpop/oci-testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RegistryClient } from "./client.ts";
import { digestOf } from "./digest.ts";
import {
  DigestMismatchError,
  ManifestNotFoundError,
  RegistryAuthError,
  RegistryTlsError,
  RegistryUnavailableError,
  UnsupportedMediaTypeError,
} from "./errors.ts";
import { MediaType } from "./media-types.ts";
import type { RegistryClientOptions } from "./options.ts";

const FAST_RETRY = { attempts: 3, initialDelayMs: 20, maxDelayMs: 100 };
const AMD64 = { os: "linux", architecture: "amd64" };
const ARM64 = { os: "linux", architecture: "arm64" };

const files: TreeEntry[] = [
  { type: "dir", path: "etc", mode: 0o755 },
  { type: "file", path: "etc/motd", content: "hello from a layer\n", mode: 0o644, uid: 1000, gid: 1000 },
  { type: "symlink", path: "etc/greeting", target: "motd" },
  { type: "hardlink", path: "etc/motd.hard", target: "etc/motd" },
];

function clientFor(registry: LocalRegistry, extra: RegistryClientOptions = {}): RegistryClient {
  return new RegistryClient({ ...registry.clientOptions, retry: FAST_RETRY, platform: AMD64, ...extra });
}

async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

// Flips one bit of a stored file, at `offset` or, in a smaller file, its middle: same size, other bytes.
async function flipByte(file: string, offset: number): Promise<void> {
  const bytes = await fs.readFile(file);
  const at = offset < bytes.length ? offset : Math.floor(bytes.length / 2);
  bytes[at] = (bytes[at] ?? 0) ^ 0x01;
  await fs.writeFile(file, bytes);
}

describe("pulling from a plain HTTP registry", () => {
  let registry: LocalRegistry;
  let client: RegistryClient;
  beforeAll(async () => {
    registry = await startLocalRegistry();
    client = clientFor(registry);
  });
  afterAll(async () => {
    client.close();
    await registry.stop();
  });

  it("resolves a tag and the same image by digest", async () => {
    const written = await writeImage(registry.pushTarget, {
      repository: "app",
      tag: "v1",
      layers: [{ entries: files }],
    });
    const byTag = await client.resolve(written.reference);
    expect(byTag.digest).toBe(written.digest);
    expect(byTag.indexDigest).toBeUndefined();
    const byDigest = await client.resolve(written.pinnedReference);
    expect(byDigest.digest).toBe(written.digest);
    expect(byDigest.manifest).toEqual(byTag.manifest);
    const config = await byDigest.readConfig();
    expect(config.rootfs.diff_ids).toEqual(written.manifests[0]?.layers.map((l) => l.diffId));
  });

  it("decompresses gzip, zstd and uncompressed layers to the very tars that were written", async () => {
    const layers = (["gzip", "zstd", "none"] as const).map((compression) => ({
      compression,
      entries: [
        { type: "file" as const, path: `${compression}.txt`, content: `${compression} `.repeat(1000) },
        ...files,
      ],
    }));
    const written = await writeImage(registry.pushTarget, { repository: "compressions", layers });
    const image = await client.resolve(written.reference);
    expect(image.layers.map((l) => l.mediaType)).toEqual([
      MediaType.OciLayerGzip,
      MediaType.OciLayerZstd,
      MediaType.OciLayer,
    ]);
    for (const [i, layer] of image.layers.entries()) {
      const tar = await bytesOf(image.openLayer(layer));
      expect(tar.equals(await tarBytes(layers[i]?.entries ?? []))).toBe(true);
      expect(digestOf(tar)).toBe(written.manifests[0]?.layers[i]?.diffId);
    }
  });

  it("pulls Docker schema 2 images", async () => {
    const written = await writeImage(registry.pushTarget, {
      repository: "docker-format",
      format: "docker",
      layers: [{ entries: files }, { entries: files, compression: "none" }],
    });
    const image = await client.resolve(written.reference);
    expect(image.manifest.mediaType).toBe(MediaType.DockerManifest);
    expect(image.layers.map((l) => l.mediaType)).toEqual([MediaType.DockerLayerGzip, MediaType.DockerLayer]);
    for (const layer of image.layers)
      expect((await bytesOf(image.openLayer(layer))).equals(await tarBytes(files))).toBe(true);
  });

  it.each(["oci", "docker"] as const)("picks the node's platform from a %s index of two", async (format) => {
    const spec: ImageSpec = {
      repository: `multi-${format}`,
      format,
      platforms: [
        { platform: AMD64, layers: [{ entries: [{ type: "file", path: "arch", content: "amd64" }] }] },
        { platform: ARM64, layers: [{ entries: [{ type: "file", path: "arch", content: "arm64" }] }] },
      ],
    };
    const written = await writeImage(registry.pushTarget, spec);
    for (const [platform, manifest] of [
      [AMD64, written.manifests[0]],
      [ARM64, written.manifests[1]],
    ] as const) {
      const image = await client.resolve(written.reference, { platform });
      expect(image.indexDigest).toBe(written.digest);
      expect(image.digest).toBe(manifest?.digest);
      expect(image.platform).toEqual(platform);
      const tar = await bytesOf(image.openLayer(image.layers[0] as never));
      expect(tar.includes(Buffer.from(platform.architecture))).toBe(true);
    }
  });

  it("says which reference is missing, for a tag and for a repository", async () => {
    await writeImage(registry.pushTarget, { repository: "present", layers: [] });
    await expect(client.resolve(`${registry.host}/present:missing`)).rejects.toThrow(
      new ManifestNotFoundError(`${registry.host}/present:missing`),
    );
    await expect(client.resolve(`${registry.host}/absent/repo:v1`)).rejects.toThrow(ManifestNotFoundError);
  });

  it("fails a blob whose stored bytes were tampered with, as a stream error", async () => {
    const written = await writeImage(registry.pushTarget, {
      repository: "tampered",
      layers: [
        { entries: files, compression: "none" },
        { entries: files, compression: "gzip" },
      ],
    });
    const image = await client.resolve(written.reference);
    for (const layer of image.layers) await flipByte(registry.blobPath(layer.digest), 600);
    await expect(bytesOf(image.openLayer(image.layers[0] as never))).rejects.toThrow(DigestMismatchError);
    const error = await bytesOf(image.openBlob(image.layers[1] as never)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DigestMismatchError);
    expect((error as DigestMismatchError).expected).toBe(image.layers[1]?.digest);
  });

  it("fails a manifest pinned by digest whose stored bytes were tampered with", async () => {
    const written = await writeImage(registry.pushTarget, {
      repository: "tampered-manifest",
      layers: [{ entries: files }],
    });
    const stored = await fs.readFile(registry.blobPath(written.digest), "utf8");
    // Change one hex digit inside the config digest: still valid JSON, no longer the same bytes.
    const at = stored.indexOf("sha256:") + 10;
    await flipByte(registry.blobPath(written.digest), at);
    await expect(client.resolve(written.pinnedReference)).rejects.toThrow(DigestMismatchError);
  });

  it("names a layer media type it cannot unpack", async () => {
    const written = await writeImage(registry.pushTarget, {
      repository: "odd-layer",
      layers: [{ entries: files, mediaType: "application/vnd.example.layer.v1.tar+lz4" }],
    });
    const image = await client.resolve(written.reference);
    expect(() => image.openLayer(image.layers[0] as never)).toThrow(
      new UnsupportedMediaTypeError(
        "application/vnd.example.layer.v1.tar+lz4",
        `layer ${image.layers[0]?.digest} of ${registry.host}/odd-layer`,
      ),
    );
  });

  it("streams a large random image through and reports progress across its layers", async () => {
    const totalBytes = 3 * 1024 * 1024;
    const spec = randomImage({
      repository: "large",
      totalBytes,
      layers: 5,
      seed: "smoke",
      streamLayersAbove: 0,
    });
    const written = await writeImage(registry.pushTarget, spec);
    const progress: { completedBytes: number; totalBytes: number }[] = [];
    const image = await client.resolve(written.reference, { onProgress: (p) => progress.push(p) });
    expect(image.layers).toHaveLength(5);
    let content = 0;
    for (const [n, layer] of image.layers.entries()) {
      const tar = await bytesOf(image.openLayer(layer));
      expect(digestOf(tar)).toBe(written.manifests[0]?.layers[n]?.diffId);
      const size = n === 4 ? totalBytes - 4 * Math.floor(totalBytes / 5) : Math.floor(totalBytes / 5);
      // The file's bytes follow the 512-byte tar header.
      expect(tar.subarray(512, 512 + size).equals(randomBytes(size, `smoke/${n}`))).toBe(true);
      content += size;
    }
    expect(content).toBe(totalBytes);
    expect(progress.at(-1)).toEqual({
      completedBytes: image.totalBytes,
      totalBytes: image.totalBytes,
      digest: image.layers[4]?.digest,
    });
    expect(progress.map((p) => p.completedBytes)).toEqual(
      [...progress.map((p) => p.completedBytes)].sort((a, b) => a - b),
    );
  });
});

describe("pulling through a connection that fails", () => {
  let registry: LocalRegistry;
  let proxy: FaultProxy;
  let client: RegistryClient;
  const blob = randomBytes(1024 * 1024, "cut");
  beforeAll(async () => {
    registry = await startLocalRegistry();
    proxy = await startFaultProxy({ host: "127.0.0.1", port: registry.port });
    client = new RegistryClient({ insecureRegistries: [proxy.host], retry: FAST_RETRY, platform: AMD64 });
    await writeImage(registry.pushTarget, {
      repository: "flaky",
      layers: [{ compression: "none", entries: [{ type: "file", path: "blob", content: blob }] }],
    });
  });
  afterAll(async () => {
    client.close();
    await proxy.stop();
    await registry.stop();
  });

  it("resumes a blob cut mid-download with a Range request, and gets it right", async () => {
    const image = await client.resolve(`${proxy.host}/flaky:latest`);
    const logs: string[] = [];
    const resuming = new RegistryClient({
      insecureRegistries: [proxy.host],
      retry: FAST_RETRY,
      log: (_level, fields, message) => logs.push(`${message} at ${String(fields.offset)}`),
    });
    const cutsBefore = proxy.cuts;
    proxy.cutAfter(300 * 1024);
    const tar = await bytesOf(resuming.openLayer(image, image.layers[0] as never));
    expect(proxy.cuts).toBe(cutsBefore + 1);
    expect(tar.subarray(512, 512 + blob.length).equals(blob)).toBe(true);
    expect(digestOf(tar)).toBe((await image.readConfig()).rootfs.diff_ids[0]);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(
      new RegExp(`^resuming blob ${image.layers[0]?.digest} of ${proxy.host}/flaky at \\d+$`),
    );
    resuming.close();
  });

  it("retries while the registry is down, then reports it unavailable with the cause", async () => {
    await proxy.down();
    try {
      const error = await client.resolve(`${proxy.host}/flaky:latest`).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RegistryUnavailableError);
      expect((error as Error).message).toBe(
        `registry ${proxy.host} unavailable after 3 attempts: manifest ${proxy.host}/flaky:latest: connect ECONNREFUSED ${proxy.host}`,
      );
    } finally {
      await proxy.up();
    }
  });

  it("gets through when the registry comes back within the retries", async () => {
    await proxy.down();
    setTimeout(() => void proxy.up(), 60);
    const patient = new RegistryClient({
      insecureRegistries: [proxy.host],
      retry: { attempts: 6, initialDelayMs: 30, maxDelayMs: 200 },
    });
    const image = await patient.resolve(`${proxy.host}/flaky:latest`);
    expect(image.layers).toHaveLength(1);
    patient.close();
  });
});

describe("pulling over HTTPS", () => {
  let registry: LocalRegistry;
  let reference: string;
  beforeAll(async () => {
    registry = await startLocalRegistry({ tls: true });
    reference = (
      await writeImage(registry.pushTarget, { repository: "secure", layers: [{ entries: files }] })
    ).reference;
  });
  afterAll(() => registry.stop());

  it("trusts the registry through the CA given in caCertificates", async () => {
    const client = new RegistryClient({ caCertificates: registry.caPem as string, retry: FAST_RETRY });
    const image = await client.resolve(reference);
    expect((await bytesOf(image.openLayer(image.layers[0] as never))).equals(await tarBytes(files))).toBe(
      true,
    );
    client.close();
  });

  it("refuses the registry without its CA, at once and saying what to do", async () => {
    const client = new RegistryClient({ retry: FAST_RETRY });
    const error = await client.resolve(reference).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryTlsError);
    expect((error as Error).message).toMatch(
      new RegExp(`^TLS connection to ${registry.host} failed: .*add it to caCertificates$`),
    );
    client.close();
  });
});

describe("pulling from a registry with Basic auth", () => {
  const user = { user: "puller", password: "s3cret:with-colon" };
  let registry: LocalRegistry;
  let reference: string;
  beforeAll(async () => {
    registry = await startLocalRegistry({ htpasswd: user });
    reference = (
      await writeImage(registry.pushTarget, { repository: "private/app", layers: [{ entries: files }] })
    ).reference;
  });
  afterAll(() => registry.stop());

  const secret = (password: string) =>
    JSON.stringify({
      auths: { [registry.host]: { auth: Buffer.from(`${user.user}:${password}`).toString("base64") } },
    });

  it("pulls with the pull secret's credentials", async () => {
    const client = clientFor(registry, { pullSecrets: [secret(user.password)] });
    const image = await client.resolve(reference);
    expect((await bytesOf(image.openLayer(image.layers[0] as never))).equals(await tarBytes(files))).toBe(
      true,
    );
    client.close();
  });

  it.each([
    ["wrong credentials", () => [secret("wrong")]],
    ["no credentials", () => []],
  ])("refuses %s with RegistryAuthError", async (_, secrets) => {
    const client = clientFor(registry, { pullSecrets: secrets() });
    const error = await client.resolve(reference).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryAuthError);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^registry ${registry.host} refused access for repository:private/app:pull \\(HTTP 401\\): .*; check the pull secret$`,
      ),
    );
    client.close();
  });
});

describe("pulling from a registry with token auth", () => {
  const user = { user: "bearer", password: "token-pass" };
  let registry: LocalRegistry;
  let reference: string;
  beforeAll(async () => {
    registry = await startLocalRegistry({ token: user });
    reference = (
      await writeImage(registry.pushTarget, {
        repository: "tokens/app",
        layers: [{ entries: files }, { entries: files }],
      })
    ).reference;
  });
  afterAll(() => registry.stop());

  it("fetches one token for the repository and pulls everything with it", async () => {
    const client = clientFor(registry, {
      credentials: { [registry.host]: { username: user.user, password: user.password } },
    });
    const server = registry.tokenServer;
    const before = server?.requests ?? 0;
    const image = await client.resolve(reference);
    await image.readConfig();
    for (const layer of image.layers)
      expect((await bytesOf(image.openLayer(layer))).equals(await tarBytes(files))).toBe(true);
    expect((server?.requests ?? 0) - before).toBe(1);
    expect(server?.scopes.at(-1)).toEqual(["repository:tokens/app:pull"]);
    client.close();
  });

  it("refuses wrong credentials at the token server with RegistryAuthError", async () => {
    const client = clientFor(registry, {
      credentials: { [registry.host]: { username: user.user, password: "nope" } },
    });
    await expect(client.resolve(reference)).rejects.toThrow(
      /refused access for repository:tokens\/app:pull \(HTTP 401\): UNAUTHORIZED: invalid username or password; check the pull secret/,
    );
    client.close();
  });

  it("refuses an anonymous pull of a private repository with RegistryAuthError", async () => {
    const client = clientFor(registry);
    const error = await client.resolve(reference).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryAuthError);
    expect((error as RegistryAuthError).scope).toBe("repository:tokens/app:pull");
    client.close();
  });
});
