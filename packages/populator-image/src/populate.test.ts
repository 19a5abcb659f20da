/**
 * Populate mode end to end into a Filesystem volume (a temporary directory), pulling from real
 * registries (Debian's docker-registry): plain HTTP, HTTPS with a private CA, and Basic auth.
 */
import fs from "node:fs";
import path from "node:path";
import {
  type LocalRegistry,
  type RecordingServer,
  snapshotTree,
  startLocalRegistry,
  startRecordingServer,
  type TreeEntry,
  writeImage,
} from "@volpop/oci-testing";
import { badInputCase, contained } from "@volpop/test-catalogue";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { ImagePopulateError } from "./populate/errors.ts";
import { dockerConfigSecret, entriesOf, failureOf, type Pod, scratchPod } from "./populate/testing.ts";

const AMD64 = { os: "linux", architecture: "amd64" };
const ARM64 = { os: "linux", architecture: "arm64" };

const small: TreeEntry[] = [
  { type: "dir", path: "etc" },
  { type: "file", path: "etc/motd", content: "hello from a layer\n" },
];

let pod: Pod;
beforeEach(() => {
  pod = scratchPod();
});
afterEach(() => pod.remove());

/** What a failed attempt must leave: nothing but an empty lost+found, if the volume had one. */
function expectEmptied(volume: string): void {
  expect(snapshotTree(volume, { exclude: ["lost+found"] })).toEqual({});
  if (fs.existsSync(path.join(volume, "lost+found"))) {
    expect(snapshotTree(volume)).toEqual({ "lost+found": "dir 700" });
  }
}

describe("populating a Filesystem volume from a plain HTTP registry", () => {
  let registry: LocalRegistry;
  beforeAll(async () => {
    registry = await startLocalRegistry();
  });
  afterAll(() => registry.stop());
  const plain = (image: string) => ({ image, insecureRegistries: [registry.host] });

  it("applies the layers in order: a whiteout deletes a file, an opaque directory hides what lower layers put in it", async () => {
    const written = await writeImage(registry.pushTarget, {
      repository: "layered",
      tag: "v1",
      layers: [
        {
          entries: [
            { type: "dir", path: "etc" },
            { type: "file", path: "etc/keep", content: "kept" },
            { type: "file", path: "etc/gone", content: "deleted above" },
            { type: "file", path: "cache/old", content: "hidden above" },
            { type: "symlink", path: "etc/link", target: "keep" },
          ],
        },
        {
          entries: [
            { type: "whiteout", path: "etc/gone" },
            { type: "opaque", path: "cache" },
            { type: "file", path: "cache/new", content: "fresh" },
            { type: "hardlink", path: "etc/keep2", target: "etc/keep" },
          ],
        },
      ],
    });
    // A previous attempt's leftovers go, in lost+found too, which stays as mkfs.ext4 makes it.
    fs.writeFileSync(path.join(pod.volume, "half-written"), "stale");
    fs.mkdirSync(path.join(pod.volume, "lost+found"));
    fs.writeFileSync(path.join(pod.volume, "lost+found", "#1234"), "stale");

    const { result, reports } = await pod.populate(plain(written.reference));

    expect(snapshotTree(pod.volume, { exclude: ["lost+found"] })).toEqual({
      cache: "dir 755",
      "cache/new": 'file 644 "fresh"',
      etc: "dir 755",
      "etc/keep": 'file 644 "kept"',
      "etc/keep2": 'file 644 "kept"',
      "etc/link": "symlink -> keep",
    });
    expect(snapshotTree(path.join(pod.volume, "lost+found"))).toEqual({});
    expect(fs.statSync(path.join(pod.volume, "lost+found")).mode & 0o7777).toBe(0o700);
    expect(result).toEqual({
      pinnedReference: written.pinnedReference,
      layers: 2,
      bytes: "keptdeleted abovehidden abovefresh".length,
      entries: 7,
    });
    expect(reports[0]).toMatchObject({ percent: 0, message: "layer 1 of 2, 0 B written" });
    expect(reports.at(-1)).toEqual({
      percent: 100,
      bytesDone: written.manifests[0]?.layers.reduce((sum, layer) => sum + layer.size, 0),
      bytesTotal: written.manifests[0]?.layers.reduce((sum, layer) => sum + layer.size, 0),
      message: `done: 7 entries, 34 B from ${written.digest.slice(0, 19)}…`,
    });
  });

  it("reports progress at most once a second, and always at the end", async () => {
    const written = await writeImage(registry.pushTarget, {
      repository: "progress",
      layers: [1, 2, 3].map((n) => ({
        entries: [{ type: "file", path: `f${n}`, content: `${n}`.repeat(100) }],
      })),
    });
    let clock = 0;
    const { reports } = await pod.populate(plain(written.reference), { now: () => clock });
    expect(reports.map((r) => r.percent)).toEqual([0, 100]);
    clock = 0;
    const ticking = await pod.populate(plain(written.reference), { now: () => (clock += 400) });
    expect(ticking.reports.length).toBeGreaterThan(2);
    expect(ticking.reports.at(-1)?.percent).toBe(100);
  });

  it("unpacks zstd, gzip and uncompressed layers alike", async () => {
    const written = await writeImage(registry.pushTarget, {
      repository: "compressions",
      layers: (["zstd", "gzip", "none"] as const).map((compression) => ({
        compression,
        entries: [{ type: "file" as const, path: `${compression}.txt`, content: compression.repeat(1000) }],
      })),
    });
    await pod.populate(plain(written.reference));
    expect(entriesOf(pod.volume)).toEqual(["gzip.txt", "none.txt", "zstd.txt"]);
    expect(fs.readFileSync(path.join(pod.volume, "zstd.txt"), "utf8")).toBe("zstd".repeat(1000));
  });

  it("unpacks whole a zstd layer of several frames (pzstd) and a gzip layer of several members (pigz -i)", async () => {
    const files = (prefix: string): TreeEntry[] =>
      Array.from({ length: 12 }, (_, i) => ({
        type: "file" as const,
        path: `${prefix}/${i}.txt`,
        content: `${prefix} ${i} `.repeat(300),
      }));
    const written = await writeImage(registry.pushTarget, {
      repository: "frames",
      layers: [
        { compression: "zstd", frames: 4, entries: files("zstd") },
        { compression: "gzip", frames: 4, entries: files("gzip") },
      ],
    });
    await pod.populate(plain(written.reference));
    for (const prefix of ["zstd", "gzip"]) {
      expect(entriesOf(path.join(pod.volume, prefix))).toHaveLength(12);
      expect(fs.readFileSync(path.join(pod.volume, prefix, "11.txt"), "utf8")).toBe(
        `${prefix} 11 `.repeat(300),
      );
    }
  });

  it("picks the platform the source asks for from an index of two", async () => {
    const written = await writeImage(registry.pushTarget, {
      repository: "multi",
      platforms: [
        { platform: AMD64, layers: [{ entries: [{ type: "file", path: "arch", content: "amd64" }] }] },
        { platform: ARM64, layers: [{ entries: [{ type: "file", path: "arch", content: "arm64" }] }] },
      ],
    });
    for (const [platform, manifest] of [
      [ARM64, written.manifests[1]],
      [AMD64, written.manifests[0]],
    ] as const) {
      const { result } = await pod.populate({ ...plain(written.reference), platform });
      expect(fs.readFileSync(path.join(pod.volume, "arch"), "utf8")).toBe(platform.architecture);
      expect(result.pinnedReference).toBe(`${registry.host}/multi@${manifest?.digest}`);
    }
    const error = await failureOf(
      pod.populate({ ...plain(written.reference), platform: { os: "linux", architecture: "s390x" } }),
    );
    expect(error.message).toBe(
      `image ${written.reference}: no image for platform linux/s390x (available: linux/amd64, linux/arm64; set spec.platform)`,
    );
    expectEmptied(pod.volume);
  });

  it("copies only spec.path, re-rooted at the volume root", async () => {
    const written = await writeImage(registry.pushTarget, {
      repository: "subpath",
      layers: [
        {
          entries: [
            { type: "file", path: "usr/bin/tool", content: "not wanted" },
            { type: "dir", path: "data/models", mode: 0o755 },
            { type: "file", path: "data/models/a.bin", content: "A" },
            { type: "file", path: "data/models/sub/b.bin", content: "B" },
          ],
        },
      ],
    });
    await pod.populate({ ...plain(written.reference), path: "data/models/" });
    expect(snapshotTree(pod.volume)).toEqual({
      "a.bin": 'file 644 "A"',
      sub: "dir 755",
      "sub/b.bin": 'file 644 "B"',
    });
  });

  it("fails, leaving the volume empty, when spec.path is not in the image", async () => {
    const written = await writeImage(registry.pushTarget, {
      repository: "nopath",
      layers: [{ entries: small }],
    });
    const error = await failureOf(pod.populate({ ...plain(written.reference), path: "models" }));
    expect(error.message).toBe(
      `image ${written.reference}: spec.path "models" holds nothing in the image (no such directory, or an empty one)`,
    );
    expectEmptied(pod.volume);
  });

  it("gives every entry spec.owner, spec.fileMode and spec.dirMode", async () => {
    const written = await writeImage(registry.pushTarget, {
      repository: "owned",
      layers: [
        {
          entries: [
            { type: "dir", path: "d", mode: 0o777, uid: 1, gid: 1 },
            { type: "file", path: "d/f", content: "x", mode: 0o4755, uid: 1, gid: 1 },
            { type: "file", path: "implicit/g", content: "y", mode: 0o666 },
          ],
        },
      ],
    });
    await pod.populate({
      ...plain(written.reference),
      owner: { uid: 1234, gid: 5678 },
      fileMode: 0o640,
      dirMode: 0o750,
    });
    expect(snapshotTree(pod.volume, { owners: true })).toEqual({
      d: "dir 750 1234:5678",
      "d/f": 'file 640 "x" 1234:5678',
      implicit: "dir 750 1234:5678",
      "implicit/g": 'file 640 "y" 1234:5678',
    });
  });

  // As the SDK's populate mode does with the spec in the pod's env, before populateImage runs.
  badInputCase(
    {
      id: "image-spec-path-dotdot",
      component: "image",
      input:
        "spec.path ../etc in the spec populate mode is given (a source the controller would have refused)",
      expected: 'refusing to populate: spec.path "../etc" must not contain ".."',
      checks: ["existing-data-kept"],
    },
    async () => {
      fs.writeFileSync(path.join(pod.volume, "data"), "untouched");
      const error = await failureOf(pod.populate({ image: "busybox", path: "../etc" }));
      expect(error.message).toBe('refusing to populate: spec.path "../etc" must not contain ".."');
      contained("existing-data-kept", () => {
        expect(entriesOf(pod.volume)).toEqual(["data"]);
        expect(fs.readFileSync(path.join(pod.volume, "data"), "utf8")).toBe("untouched");
      });
    },
  );
});

describe("populating from a registry with a private CA", () => {
  let registry: LocalRegistry;
  let reference: string;
  beforeAll(async () => {
    registry = await startLocalRegistry({ tls: true });
    reference = (
      await writeImage(registry.pushTarget, { repository: "secure", layers: [{ entries: small }] })
    ).reference;
  });
  afterAll(() => registry.stop());

  it("trusts the registry through the CA in the caBundle ConfigMap", async () => {
    pod.mountConfigMap({ "root.pem": registry.caPem as string });
    await pod.populate({ image: reference, caBundle: { configMap: "registry-ca", key: "root.pem" } });
    expect(fs.readFileSync(path.join(pod.volume, "etc/motd"), "utf8")).toBe("hello from a layer\n");
  });

  badInputCase(
    {
      id: "image-untrusted-registry",
      component: "image",
      input: "a registry whose certificate no CA given to the pod vouches for",
      expected: "REGISTRY_TLS: TLS connection failed; name a private CA in spec.caBundle",
      checks: ["volume-left-empty"],
    },
    async () => {
      fs.writeFileSync(path.join(pod.volume, "stale"), "from a previous attempt");
      const error = await failureOf(pod.populate({ image: reference }));
      expect(error.message).toMatch(
        new RegExp(
          `^image ${reference}: TLS connection to ${registry.host} failed: .*; if the registry uses a private CA, name it in spec.caBundle$`,
        ),
      );
      expect((error as ImagePopulateError).code).toBe("REGISTRY_TLS");
      contained("volume-left-empty", () => expectEmptied(pod.volume));
    },
  );

  it("says which ConfigMap key is missing", async () => {
    pod.mountConfigMap({ "other.pem": registry.caPem as string });
    const error = await failureOf(pod.populate({ image: reference, caBundle: { configMap: "registry-ca" } }));
    expect(error.message).toBe(`image ${reference}: ConfigMap registry-ca (spec.caBundle) has no key ca.crt`);
  });
});

describe("populating from a registry with Basic auth trusted through the ImageSource's CA", () => {
  // Whoever wrote spec.caBundle holds that CA's key: with a network position, they could be the
  // registry. The pull secret's credentials go there only if the cluster admin says so.
  const user = { user: "puller", password: "s3cret" };
  let registry: LocalRegistry;
  let reference: string;
  beforeAll(async () => {
    registry = await startLocalRegistry({ tls: true, htpasswd: user });
    reference = (
      await writeImage(registry.pushTarget, { repository: "private/app", layers: [{ entries: small }] })
    ).reference;
  });
  afterAll(() => registry.stop());
  const spec = () => ({
    image: reference,
    caBundle: { configMap: "registry-ca" },
    pullSecrets: [{ name: "registry-creds" }],
  });
  beforeEach(() => {
    pod.mountConfigMap({ "ca.crt": registry.caPem as string });
    pod.mountSecret(0, dockerConfigSecret(registry.host, user.user, user.password));
  });

  it("keeps the credentials back without the admin's leave, saying why", async () => {
    const error = await failureOf(pod.populate(spec()));
    expect(error.message).toBe(
      `image ${reference}: authentication failed for registry ${registry.host} (the pull secret's credentials were not sent: it is reached over HTTPS trusting the ImageSource's own CA (spec.caBundle), which only a cluster admin may allow)`,
    );
    expect((error as ImagePopulateError).code).toBe("REGISTRY_AUTH");
  });

  it("pulls with them where the admin allows it (--allow-credentials-with-source-ca)", async () => {
    await pod.populate(spec(), { credentialPolicy: { sourceCaHosts: [registry.host] } });
    expect(entriesOf(pod.volume)).toEqual(["etc"]);
  });
});

describe("populating from a registry with Basic auth", () => {
  const user = { user: "puller", password: "s3cret" };
  let registry: LocalRegistry;
  let reference: string;
  beforeAll(async () => {
    registry = await startLocalRegistry({ htpasswd: user });
    reference = (
      await writeImage(registry.pushTarget, { repository: "private/app", layers: [{ entries: small }] })
    ).reference;
  });
  afterAll(() => registry.stop());
  const withSecret = { pullSecrets: [{ name: "unrelated" }, { name: "registry-creds" }] };
  // The registry is on plain HTTP: the cluster admin lets its credentials go there (the flags).
  const admin = () => ({ credentialPolicy: registry.clientOptions.credentialPolicy ?? {} });

  it("pulls with the credentials of the mounted pull secret", async () => {
    pod.mountSecret(0, dockerConfigSecret("elsewhere.example.com", "x", "y"));
    pod.mountSecret(1, dockerConfigSecret(registry.host, user.user, user.password));
    await pod.populate({ image: reference, insecureRegistries: [registry.host], ...withSecret }, admin());
    expect(entriesOf(pod.volume)).toEqual(["etc"]);
  });

  badInputCase(
    {
      id: "image-wrong-password",
      component: "image",
      input: "a pull secret with the wrong password",
      expected: "REGISTRY_AUTH: authentication failed for registry … (check the pull secret)",
      checks: ["volume-left-empty"],
    },
    async () => {
      pod.mountSecret(0, dockerConfigSecret("elsewhere.example.com", "x", "y"));
      pod.mountSecret(1, dockerConfigSecret(registry.host, user.user, "wrong"));
      fs.writeFileSync(path.join(pod.volume, "stale"), "from a previous attempt");
      const error = await failureOf(
        pod.populate({ image: reference, insecureRegistries: [registry.host], ...withSecret }, admin()),
      );
      expect(error.message).toBe(
        `image ${reference}: authentication failed for registry ${registry.host} (check the pull secret)`,
      );
      expect((error as ImagePopulateError).code).toBe("REGISTRY_AUTH");
      contained("volume-left-empty", () => expectEmptied(pod.volume));
    },
  );

  it("says when no pull secret has credentials for the registry", async () => {
    pod.mountSecret(0, dockerConfigSecret("elsewhere.example.com", "x", "y"));
    const error = await failureOf(
      pod.populate({
        image: reference,
        insecureRegistries: [registry.host],
        pullSecrets: [{ name: "other" }],
      }),
    );
    expect(error.message).toBe(
      `image ${reference}: authentication failed for registry ${registry.host} (none of spec.pullSecrets has credentials for ${registry.host})`,
    );
  });

  it("says to name a pull secret when there is none", async () => {
    const error = await failureOf(pod.populate({ image: reference, insecureRegistries: [registry.host] }));
    expect(error.message).toBe(
      `image ${reference}: authentication failed for registry ${registry.host} (no pull secret given: name one in spec.pullSecrets)`,
    );
  });

  badInputCase(
    {
      id: "image-pull-secret-not-dockerconfig",
      component: "image",
      input: "a mounted pull secret holding username and password keys, not .dockerconfigjson",
      expected:
        "PULL_SECRET_INVALID: pull secret opaque has no .dockerconfigjson key: it must be of type kubernetes.io/dockerconfigjson",
      checks: ["volume-left-empty"],
    },
    async () => {
      pod.mountSecret(0, { username: user.user, password: user.password });
      const error = await failureOf(
        pod.populate({
          image: reference,
          insecureRegistries: [registry.host],
          pullSecrets: [{ name: "opaque" }],
        }),
      );
      expect(error.message).toBe(
        `image ${reference}: pull secret opaque has no .dockerconfigjson key: it must be a Secret of type kubernetes.io/dockerconfigjson`,
      );
      expect((error as ImagePopulateError).code).toBe("PULL_SECRET_INVALID");
      contained("volume-left-empty", () => expectEmptied(pod.volume));
    },
  );
});

describe("where the pull secret's credentials go", () => {
  let attacker: RecordingServer;
  beforeAll(async () => {
    attacker = await startRecordingServer((_request, response) => {
      response.writeHead(401, { "www-authenticate": 'Basic realm="give me"' });
      response.end();
    });
  });
  afterAll(() => attacker.stop());

  badInputCase(
    {
      id: "image-credentials-plain-http",
      component: "image",
      input:
        "an ImageSource listing as insecure (plain HTTP) a host it controls, with a pull secret for that host",
      expected:
        "REGISTRY_AUTH: the pull secret's credentials were not sent: plain HTTP, which only a cluster admin may allow",
      checks: ["no-credentials-leaked"],
    },
    async () => {
      // The source's author may name the Secret, not read it: they point it at a host they listen on.
      pod.mountSecret(0, dockerConfigSecret(attacker.host, "robot", "s3cret-password"));
      const image = `${attacker.host}/app:v1`;
      const error = await failureOf(
        pod.populate({
          image,
          insecureRegistries: [attacker.host],
          pullSecrets: [{ name: "registry-creds" }],
        }),
      );
      expect(error.message).toBe(
        `image ${image}: authentication failed for registry ${attacker.host} (the pull secret's credentials were not sent: it is reached over plain HTTP, which only a cluster admin may allow)`,
      );
      expect((error as ImagePopulateError).code).toBe("REGISTRY_AUTH");
      expect(attacker.requests.length).toBeGreaterThan(0);
      contained("no-credentials-leaked", () => {
        expect(attacker.requests.map((r) => r.headers.authorization)).toEqual(
          attacker.requests.map(() => undefined),
        );
        expect(JSON.stringify(attacker.requests)).not.toContain(
          Buffer.from("robot:s3cret-password").toString("base64"),
        );
      });
    },
  );
});
