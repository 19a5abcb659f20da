import { createHash, randomBytes } from "node:crypto";
import path from "node:path";
import { CustomObjectsApi } from "@kubernetes/client-node";
import { publishProductImage } from "@volpop/images";
import {
  type FaultProxy,
  type LocalRegistry,
  randomBytesStream,
  randomImage,
  startFaultProxy,
  startLocalRegistry,
  writeImage,
} from "@volpop/oci-testing";
import { imagePopulator } from "@volpop/populator-image";
import { podStrategy } from "@volpop/sdk";
import { POPULATE_FOR_LABEL, populateStateAnnotation } from "@volpop/sdk/runtime";
import { badInputCase, badInputCases, contained } from "@volpop/test-catalogue";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { registry as embeddedRegistry, network } from "../cluster/config.ts";
import { applyCrdFile } from "../support/crd.ts";
import { sha256, startFastPathController } from "./support/fastpath-harness.ts";
import { createImageSource, IMAGE_GROUP as GROUP, prepareRegistryAccess } from "./support/image-harness.ts";
import {
  createPvc,
  createTestNamespace,
  deleteNamespace,
  e2eSettings,
  eventsFor,
  JOB_DEVICE_PATH,
  JOB_MOUNT_PATH,
  type Kube,
  kube,
  runJob,
  stillThere,
  waitFor,
  waitForBound,
} from "./support/kube.ts";
import type { RunningController } from "./support/populator-harness.ts";

const repoRoot = path.resolve(import.meta.dirname, "../..");
// Populator pods pull from a registry this test starts: it must listen where pods reach this machine
// (the node's address on the embedded cluster; say which on another cluster).
const registryAddress =
  process.env.VOLPOP_E2E_REGISTRY_ADDRESS ?? (inject("embeddedCluster") ? network.nodeIP : "");
const imageRegistry = inject("embeddedCluster") ? embeddedRegistry : process.env.VOLPOP_IMAGE_REGISTRY;
const USER = "puller";
const PASSWORD = randomBytes(9).toString("base64url");

describe.skipIf(!registryAddress || !imageRegistry)("Image populator", () => {
  let api: Kube;
  let registry: LocalRegistry;
  let proxy: FaultProxy;
  let populatorNs: string;
  let userNs: string;
  let controller: RunningController;
  const disk = randomBytes(2 * 1024 * 1024);

  beforeAll(async () => {
    api = kube();
    await applyCrdFile(api.config, path.join(repoRoot, "packages/populator-image/deploy/crd.yaml"));
    registry = await startLocalRegistry({
      tls: true,
      htpasswd: { user: USER, password: PASSWORD },
      address: registryAddress,
    });
    const push = registry.pushTarget;
    await writeImage(push, {
      repository: "e2e/app",
      tag: "1.0",
      layers: [
        {
          entries: [
            { type: "dir", path: "srv", mode: 0o755 },
            { type: "file", path: "srv/config.txt", content: "listen 8080\n", mode: 0o644 },
            { type: "file", path: "srv/old.txt", content: "removed by the next layer\n" },
            { type: "dir", path: "srv/cache", mode: 0o755 },
            { type: "file", path: "srv/cache/stale", content: "hidden by an opaque dir\n" },
            { type: "symlink", path: "srv/current", target: "config.txt" },
          ],
        },
        {
          compression: "zstd",
          entries: [
            { type: "whiteout", path: "srv/old.txt" },
            { type: "opaque", path: "srv/cache" },
            { type: "file", path: "srv/cache/fresh", content: "fresh\n", mode: 0o600 },
            { type: "hardlink", path: "srv/config-link.txt", target: "srv/config.txt" },
            { type: "file", path: "srv/run.sh", content: "#!/bin/sh\necho hi\n", mode: 0o755 },
          ],
        },
      ],
    });
    await writeImage(push, {
      repository: "e2e/multi",
      tag: "1.0",
      platforms: [
        {
          platform: { os: "linux", architecture: "amd64" },
          layers: [{ entries: [{ type: "file", path: "arch.txt", content: "amd64\n" }] }],
        },
        {
          platform: { os: "linux", architecture: "arm64" },
          layers: [{ entries: [{ type: "file", path: "arch.txt", content: "arm64\n" }] }],
        },
      ],
    });
    await writeImage(push, {
      repository: "e2e/disk",
      tag: "1.0",
      layers: [{ entries: [{ type: "file", path: "images/disk.img", content: disk }] }],
    });
    await writeImage(push, {
      repository: "e2e/evil",
      tag: "1.0",
      layers: [
        {
          entries: [
            {
              type: "raw",
              header: { name: "../escape.txt", type: "file", size: 4 },
              content: Buffer.from("evil"),
            },
          ],
        },
      ],
    });

    await writeImage(push, {
      repository: "e2e/hostile",
      tag: "symlink",
      layers: [
        { entries: [{ type: "symlink", path: "up", target: "../../../../../../" }] },
        { entries: [{ type: "hardlink", path: "passwd", target: "up/etc/passwd" }] },
      ],
    });
    await writeImage(push, {
      repository: "e2e/hostile",
      tag: "device",
      layers: [
        {
          entries: [
            { type: "raw", header: { name: "dev/sda", type: "block-device", devmajor: 8, devminor: 0 } },
          ],
        },
      ],
    });
    await writeImage(push, {
      repository: "e2e/big",
      tag: "1.0",
      layers: [{ entries: [{ type: "file", path: "blob.bin", content: { randomBytes: 24 * 1024 * 1024 } }] }],
    });
    proxy = await startFaultProxy({ host: registryAddress, port: registry.port }, registryAddress);

    const image = await publishProductImage("populator-image", imageRegistry ?? "");
    populatorNs = await createTestNamespace(api, "image");
    userNs = await createTestNamespace(api, "image-user");
    await prepareRegistryAccess(api, userNs, registry.caPem ?? "", [
      { name: "registry-creds", host: registry.host, user: USER, password: PASSWORD },
      { name: "wrong-creds", host: registry.host, user: USER, password: "not-the-password" },
      { name: "proxy-creds", host: proxy.host, user: USER, password: PASSWORD },
    ]);
    controller = await startFastPathController(
      api,
      populatorNs,
      // The sources bring the test registry's CA; only the admin may let credentials go over it.
      imagePopulator({ credentialPolicy: { sourceCaHosts: [registry.host, proxy.host] } }),
      podStrategy,
      { maxAttempts: 1 },
      image,
    );
  }, 600_000);
  afterAll(async () => {
    await controller?.stop();
    if (userNs) await deleteNamespace(api, userNs);
    if (populatorNs) await deleteNamespace(api, populatorNs);
    await proxy?.stop();
    await registry?.stop();
  });

  // Every source pulls with the test's credentials and CA unless a test says otherwise.
  const imageSource = (name: string, spec: Record<string, unknown>) =>
    createImageSource(api, userNs, name, {
      pullSecrets: [{ name: "registry-creds" }],
      caBundle: { configMap: "registry-ca" },
      ...spec,
    });

  async function populate(
    name: string,
    spec: Record<string, unknown>,
    volumeMode: "Filesystem" | "Block" = "Filesystem",
  ) {
    await imageSource(name, spec);
    await createPvc(api, userNs, name, {
      storageClassName: e2eSettings.immediateStorageClass,
      volumeMode,
      dataSourceRef: { apiGroup: GROUP, kind: "ImageSource", name },
    });
  }

  it("fills a volume from a multi-layer image over TLS with basic auth: whiteouts, opaque dirs, zstd, links, modes", async () => {
    await populate("app", { image: `${registry.host}/e2e/app:1.0` });
    await waitForBound(api, userNs, "app");
    const log = await runJob(api, userNs, "read-app", {
      script: `cd ${JOB_MOUNT_PATH} && find . -path ./lost+found -prune -o -print | sort && sha256sum srv/config.txt srv/cache/fresh && readlink srv/current && stat -c '%a %h %n' srv/run.sh srv/config.txt`,
      pvc: { claimName: "app", volumeMode: "Filesystem" },
    });
    const lines = log.split("\n");
    expect(lines.slice(0, 8)).toEqual([
      ".",
      "./srv",
      "./srv/cache",
      "./srv/cache/fresh",
      "./srv/config-link.txt",
      "./srv/config.txt",
      "./srv/current",
      "./srv/run.sh",
    ]);
    expect(lines[8]).toBe(`${sha256("listen 8080\n")}  srv/config.txt`);
    expect(lines[9]).toBe(`${sha256("fresh\n")}  srv/cache/fresh`);
    expect(lines[10]).toBe("config.txt");
    expect(lines[11]).toMatch(/^7[57]5 1 srv\/run\.sh$/);
    // Two links: the hard link shares the file.
    expect(lines[12]).toMatch(/^6[46]4 2 srv\/config\.txt$/);
    const reasons = (await eventsFor(api, userNs, "app")).map((e) => e.reason);
    expect(reasons).toContain("PopulatorFinished");
  });

  it("streams a 200 MB, 5-layer image into a volume", async () => {
    const totalBytes = 200 * 1000 * 1000;
    await writeImage(registry.pushTarget, randomImage({ repository: "e2e/large", tag: "1.0", totalBytes }));
    await imageSource("large", { image: `${registry.host}/e2e/large:1.0` });
    await createPvc(api, userNs, "large", {
      storageClassName: e2eSettings.immediateStorageClass,
      volumeMode: "Filesystem",
      size: "512Mi",
      dataSourceRef: { apiGroup: GROUP, kind: "ImageSource", name: "large" },
    });
    await waitForBound(api, userNs, "large", 300_000);
    const log = await runJob(api, userNs, "read-large", {
      script: `cd ${JOB_MOUNT_PATH} && sha256sum data/*.bin`,
      pvc: { claimName: "large", volumeMode: "Filesystem" },
    });
    const base = Math.floor(totalBytes / 5);
    const expected = await Promise.all(
      [0, 1, 2, 3, 4].map(async (n) => {
        const hash = createHash("sha256");
        for await (const chunk of randomBytesStream(n === 4 ? totalBytes - base * 4 : base, `volpop/${n}`)) {
          hash.update(chunk as Buffer);
        }
        return `${hash.digest("hex")}  data/part-${n}.bin`;
      }),
    );
    expect(log.trim().split("\n")).toEqual(expected);
  });

  it("picks the node's platform from an index, or the one the source names", async () => {
    await populate("multi-default", { image: `${registry.host}/e2e/multi:1.0` });
    await populate("multi-arm", {
      image: `${registry.host}/e2e/multi:1.0`,
      platform: { os: "linux", architecture: "arm64" },
    });
    for (const [name, arch] of [
      ["multi-default", "amd64"],
      ["multi-arm", "arm64"],
    ] as const) {
      await waitForBound(api, userNs, name);
      const log = await runJob(api, userNs, `read-${name}`, {
        script: `cat ${JOB_MOUNT_PATH}/arch.txt`,
        pvc: { claimName: name, volumeMode: "Filesystem" },
      });
      expect(log).toBe(`${arch}\n`);
    }
  });

  it("writes a disk image from the image raw onto a Block volume", async () => {
    await populate("disk", { image: `${registry.host}/e2e/disk:1.0`, blockFile: "images/disk.img" }, "Block");
    await waitForBound(api, userNs, "disk");
    const log = await runJob(api, userNs, "read-disk", {
      script: `dd if=${JOB_DEVICE_PATH} bs=1M count=2 2>/dev/null | sha256sum`,
      pvc: { claimName: "disk", volumeMode: "Block" },
      root: true,
    });
    expect(log.trim()).toBe(`${sha256(disk)}  -`);
  });

  async function expectRefused(name: string, message: RegExp) {
    const event = await waitFor(
      `a PopulatorFailed event on ${name}`,
      async () => (await eventsFor(api, userNs, name)).find((e) => e.reason === "PopulatorFailed"),
      180_000,
    );
    expect(event.message).toMatch(message);
    const pvc = await api.core.readNamespacedPersistentVolumeClaim({ name, namespace: userNs });
    const uid = pvc.metadata?.uid ?? "";
    // Nothing is handed over: the PVC stays Pending, PVC' is marked failed.
    await contained("no-handover", async () => {
      expect(pvc.status?.phase).toBe("Pending");
      const prime = await api.core.readNamespacedPersistentVolumeClaim({
        name: `prime-${uid}`,
        namespace: populatorNs,
      });
      expect(prime.metadata?.annotations?.[populateStateAnnotation(GROUP)]).toBe("failed");
    });
    // Given up (one attempt): the populator pod is deleted, not left to pull or fail again.
    await contained("no-leftovers", () => podGone(uid));
  }

  const podGone = (uid: string) =>
    waitFor(`populator pod populate-${uid} to be deleted`, async () =>
      (
        await stillThere({
          pod: api.core.readNamespacedPod({ name: `populate-${uid}`, namespace: populatorNs }),
        })
      ).length === 0
        ? true
        : undefined,
    );

  badInputCases(
    [
      {
        id: "image-e2e-wrong-password",
        component: "image",
        input: "an ImageSource whose pull secret holds the wrong password",
        expected: "PopulatorFailed: authentication failed for registry … (check the pull secret)",
        checks: ["no-handover", "no-leftovers"],
        name: "bad-credentials",
        spec: () => ({ image: `${registry.host}/e2e/app:1.0`, pullSecrets: [{ name: "wrong-creds" }] }),
        message: /authentication failed for registry .* \(check the pull secret\)/,
      },
      {
        id: "image-e2e-missing-tag",
        component: "image",
        input: "an ImageSource naming a tag the registry does not hold",
        expected: "PopulatorFailed: manifest not found … (check the tag and the repository name)",
        checks: ["no-handover", "no-leftovers"],
        name: "missing-tag",
        spec: () => ({ image: `${registry.host}/e2e/app:2.0` }),
        message: /manifest not found .*check the tag/,
      },
      {
        id: "image-e2e-unknown-digest",
        component: "image",
        input: "an ImageSource pinned to a digest the registry does not hold",
        expected: "PopulatorFailed: manifest not found … (check the digest and the repository name)",
        checks: ["no-handover", "no-leftovers"],
        name: "wrong-digest",
        spec: () => ({ image: `${registry.host}/e2e/app@sha256:${"0".repeat(64)}` }),
        message: /manifest not found .*check the digest/,
      },
      {
        id: "image-e2e-hardlink-escape",
        component: "image",
        input: "an image planting a symlink up and out, then a hard link through it to etc/passwd",
        expected:
          'PopulatorFailed: entry "passwd": hard link target "up/etc/passwd" does not exist (in the volume)',
        checks: ["no-handover", "no-leftovers"],
        name: "hardlink-escape",
        spec: () => ({ image: `${registry.host}/e2e/hostile:symlink` }),
        // The planted symlink resolves inside the volume, where there is no etc/passwd to link to.
        message: /entry "passwd": hard link target "up\/etc\/passwd" does not exist/,
      },
      {
        id: "image-e2e-device-node",
        component: "image",
        input: "an image holding a block device node",
        expected: 'PopulatorFailed: entry "dev/sda" rejected',
        checks: ["no-handover", "no-leftovers"],
        name: "device-node",
        spec: () => ({ image: `${registry.host}/e2e/hostile:device` }),
        message: /entry "dev\/sda" rejected/,
      },
      {
        id: "image-e2e-over-limit",
        component: "image",
        input: "a 24 MiB image under spec.limits.maxBytes of 1Mi",
        expected: "PopulatorFailed: exceeds maxBytes",
        checks: ["no-handover", "no-leftovers"],
        name: "over-limit",
        spec: () => ({ image: `${registry.host}/e2e/big:1.0`, limits: { maxBytes: "1Mi" } }),
        message: /exceeds maxBytes/,
      },
      {
        id: "image-e2e-traversal",
        component: "image",
        input: "an image whose layer holds an entry named ../escape.txt",
        expected: 'PopulatorFailed: entry "../escape.txt" rejected: escapes the volume',
        checks: ["no-handover", "no-leftovers"],
        name: "traversal",
        spec: () => ({ image: `${registry.host}/e2e/evil:1.0` }),
        message: /entry "\.\.\/escape\.txt" rejected: escapes the volume/,
      },
    ],
    async ({ name, spec, message }) => {
      await populate(name, spec());
      await expectRefused(name, message);
    },
  );

  /**
   * A pull secret the controller must not use: the population waits with a Warning on the PVC,
   * nothing is copied into the populator namespace and no pod starts; deleting the PVC leaves
   * nothing behind.
   */
  async function expectSecretRefused(name: string, reason: string, message: string) {
    const event = await waitFor(`a ${reason} event on ${name}`, async () =>
      (await eventsFor(api, userNs, name)).find((e) => e.reason === reason),
    );
    expect(event.type).toBe("Warning");
    expect(event.message).toBe(message);
    const uid = (await api.core.readNamespacedPersistentVolumeClaim({ name, namespace: userNs })).metadata
      ?.uid;
    await contained("nothing-created", async () => {
      const copies = await api.core.listNamespacedSecret({
        namespace: populatorNs,
        labelSelector: `${POPULATE_FOR_LABEL}=${uid}`,
      });
      expect(copies.items.map((s) => s.metadata?.name)).toEqual([]);
      const pod = api.core.readNamespacedPod({ name: `populate-${uid}`, namespace: populatorNs });
      expect(await stillThere({ pod })).toEqual([]);
    });
    await api.core.deleteNamespacedPersistentVolumeClaim({ name, namespace: userNs });
    await contained("no-leftovers", () =>
      waitFor(`PVC ${name} and its PVC' to be deleted`, async () => {
        const left = await stillThere({
          PVC: api.core.readNamespacedPersistentVolumeClaim({ name, namespace: userNs }),
          "PVC'": api.core.readNamespacedPersistentVolumeClaim({
            name: `prime-${uid}`,
            namespace: populatorNs,
          }),
        });
        return left.length === 0 ? true : undefined;
      }),
    );
  }

  badInputCase(
    {
      id: "image-e2e-pull-secret-opaque",
      component: "image",
      input: "an ImageSource naming an Opaque Secret (someone's password) as its pull secret",
      expected:
        "Warning PopulatorDataSourceInvalid: Secret … is of type Opaque; only kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg can be used",
      checks: ["nothing-created", "no-leftovers"],
    },
    async () => {
      await api.core.createNamespacedSecret({
        namespace: userNs,
        body: { metadata: { name: "app-password" }, type: "Opaque", stringData: { password: "hunter2" } },
      });
      await populate("opaque-secret", {
        image: `${registry.host}/e2e/app:1.0`,
        pullSecrets: [{ name: "app-password" }],
      });
      await expectSecretRefused(
        "opaque-secret",
        "PopulatorDataSourceInvalid",
        `Secret ${userNs}/app-password named by the data source is of type Opaque; only kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg can be used`,
      );
    },
  );

  badInputCase(
    {
      id: "image-e2e-pull-secret-elsewhere",
      component: "image",
      input: "an ImageSource naming a pull secret that exists only in the populator's own namespace",
      expected: "Warning PopulatorDataSourceNotFound: Secret <source namespace>/… not found; waiting for it",
      checks: ["nothing-created", "no-leftovers"],
    },
    async () => {
      await api.core.createNamespacedSecret({
        namespace: populatorNs,
        body: {
          metadata: { name: "controller-creds" },
          type: "kubernetes.io/dockerconfigjson",
          stringData: {
            ".dockerconfigjson": JSON.stringify({ auths: { [registry.host]: { auth: "eDp5" } } }),
          },
        },
      });
      await populate("elsewhere-secret", {
        image: `${registry.host}/e2e/app:1.0`,
        pullSecrets: [{ name: "controller-creds" }],
      });
      await expectSecretRefused(
        "elsewhere-secret",
        "PopulatorDataSourceNotFound",
        `Secret ${userNs}/controller-creds named by the data source not found; waiting for it`,
      );
    },
  );

  badInputCase(
    {
      id: "image-e2e-pull-secret-namespaced",
      component: "image",
      input: "an ImageSource naming kube-system/registry-creds as its pull secret",
      expected: "API rejection: spec.pullSecrets[0].name should match the DNS subdomain pattern",
      checks: ["nothing-created"],
    },
    async () => {
      await expect(
        imageSource("namespaced-secret", {
          image: `${registry.host}/e2e/app:1.0`,
          pullSecrets: [{ name: "kube-system/registry-creds" }],
        }),
      ).rejects.toThrow(/spec\.pullSecrets\[0\]\.name/);
      const stored = api.config.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
        group: GROUP,
        version: "v1alpha1",
        namespace: userNs,
        plural: "imagesources",
        name: "namespaced-secret",
      });
      await contained("nothing-created", async () => expect(await stillThere({ stored })).toEqual([]));
    },
  );

  it("retries a registry that goes down mid-pull, then reports it unavailable", async () => {
    proxy.cutAfter(4 * 1024 * 1024);
    await populate("registry-down", {
      image: `${proxy.host}/e2e/big:1.0`,
      pullSecrets: [{ name: "proxy-creds" }],
    });
    await waitFor("the pull to be cut mid-blob", async () => (proxy.cuts > 0 ? true : undefined), 120_000);
    await proxy.down();
    try {
      await expectRefused("registry-down", /registry .* unavailable after \d+ attempts/);
    } finally {
      await proxy.up();
    }
  });
});
