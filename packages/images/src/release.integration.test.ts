import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startLocalRegistry } from "@volpop/oci-testing";
import { describe, expect, it } from "vitest";
import { buildah } from "./buildah.ts";
import { debianCaBundle } from "./ca-bundle.ts";
import { run } from "./exec.ts";
import { helloBuiltTwice } from "./internal/built-twice.ts";
import { referrersTag } from "./referrers.ts";
import { resolveRegistryAuth } from "./registry-auth.ts";
import { pushRelease } from "./release.ts";

// The release path end to end, for one image (hello, the smallest): built twice from nothing, each in
// a storage of its own (so nothing is cached and nobody else's images are touched), pushed to a
// throwaway registry. Same commit, same digests; the SBOM is attached; the labels are there.
describe("a release of one image, built twice from nothing", () => {
  const {
    storages,
    builds,
    pushes,
    registry: registryOf,
  } = helloBuiltTwice("release", { source: "https://example.invalid/volpop" });

  it("gives the same image digest both times, and the same SBOM", () => {
    const [first, second] = pushes.map((p) => p[0]);
    expect(first?.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(first?.isIndex).toBe(false);
    expect(second?.digest).toBe(first?.digest);
    expect(builds[1]?.[0]?.platforms[0]?.sbom).toBe(builds[0]?.[0]?.platforms[0]?.sbom);
    expect(second?.platforms[0]?.sbom.digest).toBe(first?.platforms[0]?.sbom.digest);
  });

  it("labels the image with its source, revision and version", async () => {
    const { stdout } = await buildah(
      ["inspect", "--type", "image", "volpop/populator-hello:1.2.3"],
      storages[0],
    );
    const inspected = JSON.parse(stdout) as { OCIv1: { config: { Labels: Record<string, string> } } };
    expect(inspected.OCIv1.config.Labels).toMatchObject({
      "org.opencontainers.image.source": "https://example.invalid/volpop",
      "org.opencontainers.image.revision": "0123456789abcdef0123456789abcdef01234567",
      "org.opencontainers.image.version": "1.2.3",
      "org.opencontainers.image.title": "volpop hello populator",
    });
  });

  it("attaches the SBOM as a referrer, listed under the fallback tag on a registry without the referrers API", async () => {
    const pushed = pushes[0]?.[0]?.platforms[0];
    if (pushed === undefined) throw new Error("nothing pushed");
    expect(pushed.sbom.via).toBe("fallback-tag");
    const repository = `${registryOf().url}/v2/build-0/volpop/populator-hello`;
    const accept = {
      accept: "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json",
    };
    const index = (await (
      await fetch(`${repository}/manifests/${referrersTag(pushed.digest)}`, { headers: accept })
    ).json()) as {
      manifests: Array<{ digest: string; artifactType: string }>;
    };
    expect(index.manifests).toEqual([
      expect.objectContaining({ digest: pushed.sbom.digest, artifactType: "application/vnd.cyclonedx+json" }),
    ]);
    const artifact = (await (
      await fetch(`${repository}/manifests/${pushed.sbom.digest}`, { headers: accept })
    ).json()) as {
      subject: { digest: string };
      layers: Array<{ digest: string }>;
    };
    expect(artifact.subject.digest).toBe(pushed.digest);
    const sbom = (await (await fetch(`${repository}/blobs/${artifact.layers[0]?.digest}`)).json()) as {
      components: Array<{ name: string; version: string; purl: string }>;
    };
    const names = sbom.components.map((c) => c.name);
    // npm packages from the bundle, the workspace packages bundled from source, node, Debian's libraries.
    expect(names).toEqual(
      expect.arrayContaining([
        "pino",
        "@kubernetes/client-node",
        "@volpop/sdk",
        "node",
        "libc6",
        "libstdc++6",
        "ca-certificates",
      ]),
    );
  });

  // A release engineer's machine as Docker Desktop leaves it: config.json with `credsStore` and no
  // `auths`, the login in a credential helper. The registry demands it (htpasswd).
  it("pushes with the login from a Docker credential helper, and with a wrong one publishes nothing at all", async () => {
    const secured = await startLocalRegistry({ htpasswd: { user: "releaser", password: "s3cret" } });
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "volpop-release-login-"));
    try {
      const bin = path.join(home, "bin");
      fs.mkdirSync(bin);
      fs.mkdirSync(path.join(home, ".docker"));
      fs.writeFileSync(
        path.join(home, ".docker", "config.json"),
        JSON.stringify({ credsStore: "volpoptest" }),
      );
      const secretFile = path.join(home, "secret");
      fs.writeFileSync(
        path.join(bin, "docker-credential-volpoptest"),
        `#!/bin/sh\nread server\nprintf '{"ServerURL":"%s","Username":"releaser","Secret":"%s"}' "$server" "$(cat '${secretFile}')"\n`,
        { mode: 0o755 },
      );
      const machine = {
        env: { PATH: `${bin}:${process.env.PATH ?? ""}`, XDG_RUNTIME_DIR: path.join(home, "run") },
        home,
      };
      const basicAuth = `Basic ${Buffer.from("releaser:s3cret").toString("base64")}`;
      const tags = async (repository: string) =>
        (
          await fetch(`${secured.url}/v2/${repository}/volpop/populator-hello/tags/list`, {
            headers: { authorization: basicAuth },
          })
        ).status;

      fs.writeFileSync(secretFile, "s3cret");
      const auth = await resolveRegistryAuth(secured.host, machine);
      expect(auth.source).toContain('credsStore "volpoptest"');
      const [pushed] = await pushRelease(builds[0] ?? [], {
        registry: `${secured.host}/ok`,
        auth,
        ...(storages[0] ? { storage: storages[0] } : {}),
      });
      expect(pushed?.digest).toBe(pushes[0]?.[0]?.digest);
      expect(pushed?.platforms[0]?.sbom.via).toBe("fallback-tag");
      const referrers = await fetch(
        `${secured.url}/v2/ok/volpop/populator-hello/manifests/${referrersTag(pushed?.digest ?? "")}`,
        { headers: { authorization: basicAuth, accept: "application/vnd.oci.image.index.v1+json" } },
      );
      expect(referrers.status).toBe(200);

      fs.writeFileSync(secretFile, "wrong");
      const wrong = await resolveRegistryAuth(secured.host, machine);
      await expect(
        pushRelease(builds[0] ?? [], {
          registry: `${secured.host}/denied`,
          auth: wrong,
          ...(storages[0] ? { storage: storages[0] } : {}),
        }),
      ).rejects.toThrow(
        /cannot push to 127\.0\.0\.1:\d+\/denied\/volpop\/populator-hello with the credentials from .*credsStore "volpoptest"/,
      );
      expect(await tags("denied")).toBe(404);
      expect(await tags("ok")).toBe(200);
    } finally {
      await secured.stop();
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  // The machine that builds may trust extra CAs (a proxy's, a sandbox's egress interceptor): they
  // live in its /etc/ssl/certs bundle, and must not reach an image anyone else runs.
  it("ships Debian's CA bundle, not the building machine's", async () => {
    const registry = registryOf();
    const pushed = pushes[0]?.[0];
    if (pushed === undefined) throw new Error("nothing pushed");
    const manifest = (await (
      await fetch(`${registry.url}/v2/build-0/volpop/populator-hello/manifests/${pushed.digest}`, {
        headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
      })
    ).json()) as { layers: Array<{ digest: string }> };
    const shipped: string[] = [];
    for (const layer of manifest.layers) {
      const { ok, stdout } = await run(
        "tar",
        ["-xzOf", registry.blobPath(layer.digest), "etc/ssl/certs/ca-certificates.crt"],
        { allowFailure: true },
      );
      if (ok) shipped.push(stdout);
    }
    expect(shipped).toHaveLength(1);
    const debian = await debianCaBundle();
    expect(shipped[0]).toBe(debian.pem.toString());
    expect(debian.count).toBeGreaterThan(100);
    const hostBundle = fs.readFileSync("/etc/ssl/certs/ca-certificates.crt", "utf8");
    const added = fs.existsSync("/usr/local/share/ca-certificates")
      ? fs.readdirSync("/usr/local/share/ca-certificates").filter((name) => name.endsWith(".crt"))
      : [];
    for (const name of added) {
      const certificate = fs.readFileSync(path.join("/usr/local/share/ca-certificates", name), "utf8").trim();
      if (hostBundle.includes(certificate)) expect(shipped[0]).not.toContain(certificate);
    }
  });
});
