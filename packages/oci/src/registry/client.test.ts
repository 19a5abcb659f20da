import { type ScriptedResponse, scriptedTransport } from "@volpop/oci-testing";
import { badInputCase, contained } from "@volpop/test-catalogue";
import { describe, expect, it } from "vitest";
import { RegistryClient } from "./client.ts";
import { digestOf } from "./digest.ts";
import {
  DigestMismatchError,
  LayerDecompressionError,
  ManifestNotFoundError,
  ManifestTooLargeError,
  PlatformNotFoundError,
  RegistryAuthError,
  RegistryTlsError,
  RegistryUnavailableError,
  UnsupportedMediaTypeError,
} from "./errors.ts";
import { MediaType } from "./media-types.ts";
import type { RegistryClientOptions } from "./options.ts";

const REGISTRY = "registry.test";
const config = Buffer.from(JSON.stringify({ rootfs: { type: "layers", diff_ids: [] } }));
const layer = Buffer.from("layer bytes");
const manifest = json({
  schemaVersion: 2,
  mediaType: MediaType.OciManifest,
  config: { mediaType: MediaType.OciConfig, digest: digestOf(config), size: config.length },
  layers: [{ mediaType: MediaType.OciLayer, digest: digestOf(layer), size: layer.length }],
});
const manifestDigest = digestOf(manifest);

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

function serveManifest(body: Buffer = manifest, mediaType: string = MediaType.OciManifest): ScriptedResponse {
  return { status: 200, headers: { "content-type": mediaType, "content-length": String(body.length) }, body };
}

const bearerChallenge = {
  status: 401,
  headers: { "www-authenticate": `Bearer realm="https://auth.test/token",service="registry.test"` },
};
const fast = { retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 5 } } satisfies RegistryClientOptions;
/** The admin's leave for registry.test's credentials to go to its token service on another host. */
const authTest = {
  credentialPolicy: { tokenRealmHosts: { [REGISTRY]: ["auth.test"] } },
} satisfies RegistryClientOptions;

function client(
  transport: ReturnType<typeof scriptedTransport>,
  options: RegistryClientOptions = {},
): RegistryClient {
  return new RegistryClient({
    ...fast,
    platform: { os: "linux", architecture: "amd64" },
    ...options,
    transport,
  });
}

async function text(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

describe("RegistryClient authentication", () => {
  it("fetches a bearer token for the pull scope after a challenge, and reuses it", async () => {
    const transport = scriptedTransport((req) => {
      if (req.url.host === "auth.test")
        return { status: 200, body: JSON.stringify({ token: "T1", expires_in: 300 }) };
      if (req.headers.authorization !== "Bearer T1") return bearerChallenge;
      return serveManifest();
    });
    const registry = client(transport);
    await registry.resolve(`${REGISTRY}/team/app:v1`);
    await registry.resolve(`${REGISTRY}/team/app:v2`);
    const tokenRequests = transport.requests.filter((r) => r.url.host === "auth.test");
    expect(tokenRequests).toHaveLength(1);
    expect(tokenRequests[0]?.url.searchParams.get("scope")).toBe("repository:team/app:pull");
    expect(tokenRequests[0]?.url.searchParams.get("service")).toBe("registry.test");
    expect(tokenRequests[0]?.headers.authorization).toBeUndefined();
    // The second resolve authenticated up front: no second 401.
    expect(
      transport.requests.filter((r) => r.url.host === REGISTRY).map((r) => r.headers.authorization),
    ).toEqual([undefined, "Bearer T1", "Bearer T1"]);
  });

  it("asks for a separate token for another repository", async () => {
    const transport = scriptedTransport((req) => {
      if (req.url.host === "auth.test") {
        return {
          status: 200,
          body: JSON.stringify({ access_token: `T-${req.url.searchParams.get("scope")}` }),
        };
      }
      if (!req.headers.authorization?.includes(req.url.pathname.split("/")[2] ?? "")) return bearerChallenge;
      return serveManifest();
    });
    const registry = client(transport);
    await registry.resolve(`${REGISTRY}/one:v1`);
    await registry.resolve(`${REGISTRY}/two:v1`);
    expect(
      transport.requests
        .filter((r) => r.url.host === "auth.test")
        .map((r) => r.url.searchParams.get("scope")),
    ).toEqual(["repository:one:pull", "repository:two:pull"]);
  });

  it("sends the pull secret's credentials to the token server as Basic auth", async () => {
    const secret = JSON.stringify({
      auths: { [REGISTRY]: { auth: Buffer.from("ann:pw").toString("base64") } },
    });
    const transport = scriptedTransport((req) => {
      if (req.url.host === "auth.test") return { status: 200, body: JSON.stringify({ token: "T" }) };
      return req.headers.authorization === "Bearer T" ? serveManifest() : bearerChallenge;
    });
    await client(transport, { pullSecrets: [secret], ...authTest }).resolve(`${REGISTRY}/app:v1`);
    const tokenRequest = transport.requests.find((r) => r.url.host === "auth.test");
    expect(tokenRequest?.headers.authorization).toBe(`Basic ${Buffer.from("ann:pw").toString("base64")}`);
  });

  it("answers a Basic challenge with the credentials for that registry", async () => {
    const expected = `Basic ${Buffer.from("bob:secret").toString("base64")}`;
    const transport = scriptedTransport((req) =>
      req.headers.authorization === expected
        ? serveManifest()
        : { status: 401, headers: { "www-authenticate": 'Basic realm="test"' } },
    );
    await client(transport, { credentials: { [REGISTRY]: { username: "bob", password: "secret" } } }).resolve(
      `${REGISTRY}/app:v1`,
    );
    expect(transport.requests).toHaveLength(2);
  });

  it("reports refused credentials with the registry, the scope and a pointer to the pull secret", async () => {
    const transport = scriptedTransport((req) => {
      if (req.url.host === "auth.test") return { status: 200, body: JSON.stringify({ token: "T" }) };
      return {
        ...bearerChallenge,
        body: JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }),
      };
    });
    const error = await client(transport)
      .resolve(`${REGISTRY}/private/app:v1`)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryAuthError);
    expect((error as RegistryAuthError).message).toBe(
      "registry registry.test refused access for repository:private/app:pull (HTTP 401): UNAUTHORIZED: authentication required; check the pull secret",
    );
    // One try with a token, not a loop.
    expect(transport.requests.filter((r) => r.url.host === REGISTRY)).toHaveLength(2);
  });

  it("says so when a Basic registry gets no credentials", async () => {
    const transport = scriptedTransport(() => ({
      status: 401,
      headers: { "www-authenticate": 'Basic realm="x"' },
    }));
    await expect(client(transport).resolve(`${REGISTRY}/app:v1`)).rejects.toThrow(
      /refused access for repository:app:pull \(HTTP 401\): no credentials for this registry; check the pull secret/,
    );
  });

  it("reports a token server that refuses the credentials as an auth error", async () => {
    const transport = scriptedTransport((req) =>
      req.url.host === "auth.test" ? { status: 401, body: "" } : bearerChallenge,
    );
    const registry = client(transport, {
      credentials: { [REGISTRY]: { username: "u", password: "wrong" } },
      ...authTest,
    });
    await expect(registry.resolve(`${REGISTRY}/app:v1`)).rejects.toThrow(
      /the token server refused the credentials/,
    );
  });

  it("exchanges an identity token at the realm by POST", async () => {
    const transport = scriptedTransport((req) => {
      if (req.url.host === "auth.test") return { status: 200, body: JSON.stringify({ access_token: "A" }) };
      return req.headers.authorization === "Bearer A" ? serveManifest() : bearerChallenge;
    });
    await client(transport, {
      credentials: { [REGISTRY]: { identityToken: "refresh-me" } },
      ...authTest,
    }).resolve(`${REGISTRY}/app:v1`);
    expect(transport.requests.find((r) => r.url.host === "auth.test")?.method).toBe("POST");
  });
});

describe("RegistryClient requests", () => {
  it("uses HTTPS by default, plain HTTP for insecure registries, and Docker Hub's API host", async () => {
    const transport = scriptedTransport(() => serveManifest());
    await client(transport, { insecureRegistries: ["plain.test:5000"] }).resolve("plain.test:5000/app:v1");
    await client(transport).resolve("busybox");
    expect(transport.requests.map((r) => r.url.href)).toEqual([
      "http://plain.test:5000/v2/app/manifests/v1",
      "https://registry-1.docker.io/v2/library/busybox/manifests/latest",
    ]);
    expect(transport.requests[0]?.headers.accept).toContain(MediaType.OciIndex);
    expect(transport.requests[0]?.headers.accept).toContain(MediaType.DockerManifest);
  });

  badInputCase(
    {
      id: "image-redirect-credentials",
      component: "image",
      input: "a registry with Basic auth redirecting a blob (307) to a storage host",
      expected:
        "the redirect followed, the blob read; the registry's credentials not sent to the storage host",
      checks: ["no-credentials-leaked"],
    },
    async () => {
      const basic = `Basic ${Buffer.from("u:p").toString("base64")}`;
      const transport = scriptedTransport((req) => {
        if (req.url.host === "storage.test") return { status: 200, body: layer };
        if (req.headers.authorization !== basic)
          return { status: 401, headers: { "www-authenticate": 'Basic realm="r"' } };
        if (req.url.pathname.includes("/blobs/"))
          return { status: 307, headers: { location: "https://storage.test/obj?sig=1" } };
        return serveManifest();
      });
      const image = await client(transport, {
        credentials: { [REGISTRY]: { username: "u", password: "p" } },
      }).resolve(`${REGISTRY}/app:v1`);
      expect(await text(image.openLayer(image.layers[0] as never))).toBe("layer bytes");
      const storage = transport.requests.find((r) => r.url.host === "storage.test");
      expect(storage?.url.search).toBe("?sig=1");
      contained("no-credentials-leaked", () => expect(storage?.headers.authorization).toBeUndefined());
    },
  );

  it("retries a 503 after the server's Retry-After, then succeeds", async () => {
    let calls = 0;
    const transport = scriptedTransport(() =>
      ++calls < 3 ? { status: 503, headers: { "retry-after": "0" } } : serveManifest(),
    );
    const logs: string[] = [];
    const image = await client(transport, {
      log: (level, _fields, message) => logs.push(`${level} ${message}`),
    }).resolve(`${REGISTRY}/app:v1`);
    expect(image.digest).toBe(manifestDigest);
    expect(calls).toBe(3);
    expect(logs).toEqual([
      `warn retrying manifest ${REGISTRY}/app:v1`,
      `warn retrying manifest ${REGISTRY}/app:v1`,
    ]);
  });

  it("retries refused connections, then reports the registry unavailable with the last failure", async () => {
    const transport = scriptedTransport(() => {
      throw Object.assign(new Error("connect ECONNREFUSED 10.0.0.1:443"), { code: "ECONNREFUSED" });
    });
    const error = await client(transport)
      .resolve(`${REGISTRY}/app:v1`)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryUnavailableError);
    expect((error as Error).message).toBe(
      `registry ${REGISTRY} unavailable after 3 attempts: manifest ${REGISTRY}/app:v1: connect ECONNREFUSED 10.0.0.1:443`,
    );
    expect(transport.requests).toHaveLength(3);
  });

  it("does not retry an untrusted certificate, and says to add the CA", async () => {
    const transport = scriptedTransport(() => {
      throw Object.assign(new Error("self-signed certificate in certificate chain"), {
        code: "SELF_SIGNED_CERT_IN_CHAIN",
      });
    });
    const error = await client(transport)
      .resolve(`${REGISTRY}/app:v1`)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryTlsError);
    expect((error as Error).message).toMatch(/add it to caCertificates/);
    expect(transport.requests).toHaveLength(1);
  });

  it("does not retry a missing tag, and names the reference", async () => {
    const transport = scriptedTransport(() => ({
      status: 404,
      body: JSON.stringify({ errors: [{ code: "MANIFEST_UNKNOWN", message: "manifest unknown" }] }),
    }));
    const error = await client(transport)
      .resolve(`${REGISTRY}/app:nope`)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ManifestNotFoundError);
    expect((error as Error).message).toBe(`manifest for ${REGISTRY}/app:nope not found`);
    expect(transport.requests).toHaveLength(1);
  });
});

describe("RegistryClient manifests", () => {
  it("checks a manifest pinned by digest against its bytes", async () => {
    const transport = scriptedTransport(() => serveManifest(Buffer.concat([manifest, Buffer.from(" ")])));
    const error = await client(transport)
      .resolve(`${REGISTRY}/app@${manifestDigest}`)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DigestMismatchError);
    expect((error as DigestMismatchError).expected).toBe(manifestDigest);
  });

  it("checks a manifest fetched by tag against Docker-Content-Digest", async () => {
    const transport = scriptedTransport(() => ({
      ...serveManifest(),
      headers: {
        "content-type": MediaType.OciManifest,
        "docker-content-digest": digestOf(Buffer.from("other")),
      },
    }));
    await expect(client(transport).resolve(`${REGISTRY}/app:v1`)).rejects.toThrow(DigestMismatchError);
  });

  it("refuses a manifest over the size limit, announced or not", async () => {
    const big = Buffer.alloc(2048, " ");
    const announced = scriptedTransport(() => serveManifest(big));
    await expect(client(announced, { maxManifestBytes: 1024 }).resolve(`${REGISTRY}/app:v1`)).rejects.toThrow(
      ManifestTooLargeError,
    );
    const unannounced = scriptedTransport(() => ({
      status: 200,
      headers: { "content-type": MediaType.OciManifest },
      body: big,
    }));
    await expect(
      client(unannounced, { maxManifestBytes: 1024 }).resolve(`${REGISTRY}/app:v1`),
    ).rejects.toThrow(/larger than the 1024 byte limit/);
  });

  it("names a manifest media type it cannot read", async () => {
    const transport = scriptedTransport(() =>
      serveManifest(manifest, "application/vnd.example.unknown+json"),
    );
    await expect(client(transport).resolve(`${REGISTRY}/app:v1`)).rejects.toThrow(
      new UnsupportedMediaTypeError("application/vnd.example.unknown+json", `manifest ${REGISTRY}/app:v1`),
    );
  });

  it("picks this platform from an index and lists what there is when nothing fits", async () => {
    const armManifest = Buffer.concat([manifest, Buffer.from("\n")]);
    const index = json({
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: [
        {
          mediaType: MediaType.OciManifest,
          digest: manifestDigest,
          size: manifest.length,
          platform: { os: "linux", architecture: "amd64" },
        },
        {
          mediaType: MediaType.OciManifest,
          digest: digestOf(armManifest),
          size: armManifest.length,
          platform: { os: "linux", architecture: "arm64" },
        },
        {
          mediaType: "application/vnd.example.attestation",
          digest: digestOf(config),
          size: 1,
          platform: { os: "linux", architecture: "s390x" },
        },
      ],
    });
    const transport = scriptedTransport((req) => {
      if (req.url.pathname.endsWith(`/${manifestDigest}`)) return serveManifest();
      if (req.url.pathname.endsWith(`/${digestOf(armManifest)}`)) return serveManifest(armManifest);
      return serveManifest(index, MediaType.OciIndex);
    });
    const amd = await client(transport).resolve(`${REGISTRY}/app:v1`);
    expect(amd.digest).toBe(manifestDigest);
    expect(amd.indexDigest).toBe(digestOf(index));
    const arm = await client(transport, { platform: { os: "linux", architecture: "arm64" } }).resolve(
      `${REGISTRY}/app:v1`,
    );
    expect(arm.digest).toBe(digestOf(armManifest));
    expect(arm.platform).toEqual({ os: "linux", architecture: "arm64" });
    await expect(
      client(transport).resolve(`${REGISTRY}/app:v1`, { platform: { os: "linux", architecture: "s390x" } }),
    ).rejects.toThrow(
      new PlatformNotFoundError(`${REGISTRY}/app:v1`, "linux/s390x", ["linux/amd64", "linux/arm64"]),
    );
  });

  it("refuses to open a layer of an unknown media type, at once", async () => {
    const odd = json({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: digestOf(config), size: config.length },
      layers: [
        {
          mediaType: "application/vnd.example.layer.v1.tar+lz4",
          digest: digestOf(layer),
          size: layer.length,
        },
      ],
    });
    const transport = scriptedTransport(() => serveManifest(odd));
    const image = await client(transport).resolve(`${REGISTRY}/app:v1`);
    expect(() => image.openLayer(image.layers[0] as never)).toThrow(UnsupportedMediaTypeError);
    expect(() => image.openLayer(image.layers[0] as never)).toThrow(
      /application\/vnd.example.layer.v1.tar\+lz4/,
    );
  });

  it("reports a layer that does not decompress as a LayerDecompressionError naming it", async () => {
    const notGzip = Buffer.from("this is not gzip");
    const broken = json({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: digestOf(config), size: config.length },
      layers: [{ mediaType: MediaType.OciLayerGzip, digest: digestOf(notGzip), size: notGzip.length }],
    });
    const transport = scriptedTransport((req) =>
      req.url.pathname.includes("/blobs/") ? { status: 200, body: notGzip } : serveManifest(broken),
    );
    const image = await client(transport).resolve(`${REGISTRY}/app:v1`);
    const error = await text(image.openLayer(image.layers[0] as never)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LayerDecompressionError);
    expect((error as Error).message).toBe(
      `layer ${digestOf(notGzip)} of ${REGISTRY}/app is not valid gzip: incorrect header check`,
    );
  });

  it("reads the config and counts layer bytes towards the image's progress", async () => {
    const transport = scriptedTransport((req) => {
      if (req.url.pathname.endsWith(digestOf(config))) return { status: 200, body: config };
      if (req.url.pathname.includes("/blobs/")) return { status: 200, body: layer };
      return serveManifest();
    });
    const progress: number[] = [];
    const image = await client(transport).resolve(`${REGISTRY}/app:v1`, {
      onProgress: (p) => progress.push(p.completedBytes / p.totalBytes),
    });
    expect((await image.readConfig()).rootfs.diff_ids).toEqual([]);
    expect(progress).toEqual([]);
    await text(image.openLayer(image.layers[0] as never));
    // A second read of the same layer adds nothing.
    await text(image.openLayer(image.layers[0] as never));
    expect(progress).toEqual([1]);
    expect(image.completedBytes).toBe(layer.length);
    expect(image.pinnedReference).toBe(`${REGISTRY}/app@${manifestDigest}`);
  });
});
