import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { manifestImage, publishProductImage } from "@volpop/images";
import { type LocalRegistry, startLocalRegistry, writeImage } from "@volpop/oci-testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { network } from "../cluster/config.ts";
import type { Kubectl } from "../support/walkthrough.ts";
import {
  imageRegistry as imageRegistryOf,
  installPrerequisites,
  pinnedKubectl,
} from "./support/admin-kubectl.ts";
import {
  createGoldenContent,
  type GoldenStore,
  goldenContentRef,
  hostpathStateDir,
  writeGoldenStore,
} from "./support/fastpath-harness.ts";
import { type StorageClassPair, storageOnFirstNode } from "./support/first-node-storage.ts";
import { createImageSource, IMAGE_GROUP, prepareRegistryAccess } from "./support/image-harness.ts";
import {
  createPvc,
  createTestNamespace,
  e2eSettings,
  eventsFor,
  JOB_MOUNT_PATH,
  type Kube,
  kube,
  runJob,
  waitFor,
  waitForBound,
} from "./support/kube.ts";

/**
 * The populators installed the way a cluster admin installs them: `kubectl apply` of what the
 * package's deploy/kustomization.yaml lists, with images built from this repository and the few
 * node paths that differ on the test node put in. What these suites catch is a shipped manifest that
 * does not work: missing RBAC, a wrong flag, a pod the namespace's Pod Security level refuses, a path.
 */

const repoRoot = path.resolve(import.meta.dirname, "../..");
const embedded = inject("embeddedCluster");
// Where the cluster pulls this repository's images from.
const imageRegistry = imageRegistryOf();
// The hostpath CSI driver's state directory on the node (the fast-path backend mounts it).
const stateDir = hostpathStateDir();
// Where pods reach a registry this test starts on this machine.
const registryAddress = process.env.VOLPOP_E2E_REGISTRY_ADDRESS ?? (embedded ? network.nodeIP : "");

const publish = (name: string) => publishProductImage(name, imageRegistry ?? "");

async function render(
  kubectl: Kubectl,
  pkg: string,
  replacements: Readonly<Record<string, string>>,
): Promise<string> {
  let text = await kubectl(["kustomize", path.join(repoRoot, "packages", pkg, "deploy")]);
  for (const [from, to] of Object.entries(replacements)) {
    expect(text, `the manifests of ${pkg} contain ${from}`).toContain(from);
    text = text.replaceAll(from, to);
  }
  return text;
}

/** The rendered objects other than CRDs, which other suites share: what the teardown deletes. */
const withoutCrds = (rendered: string) =>
  rendered
    .split(/^---$/m)
    .filter((doc) => !/^kind: CustomResourceDefinition$/m.test(doc))
    .join("---");

/** Deletes a namespace and waits until it is gone, so that its PVCs are released while the populator still runs. */
async function deleteNamespaceAndWait(api: Kube, name: string) {
  await api.core.deleteNamespace({ name }).catch(() => undefined);
  await waitFor(
    `namespace ${name} to be gone`,
    async () => ((await api.core.readNamespace({ name }).catch(() => undefined)) ? undefined : true),
    180_000,
  );
}

/** Fails on any refusal of the API server a workload logged: a right its RBAC forgot. */
async function expectNoRefusals(kubectl: Kubectl, namespace: string, workload: string) {
  const logs = await kubectl(["-n", namespace, "logs", workload, "--all-containers"]);
  expect(logs, `${workload} logged a refusal`).not.toMatch(/forbidden|unauthorized/i);
}

/**
 * Removes the objects the manifests created (CRDs aside, which other suites share), and the
 * VolumePopulator the controller registers itself if it started before the manifests' one existed.
 */
async function uninstall(kubectl: Kubectl, manifests: string, ownVolumePopulator: string) {
  await kubectl(
    ["delete", "--ignore-not-found", "--wait=true", "--timeout=180s", "-f", "-"],
    withoutCrds(manifests),
  );
  await kubectl(["delete", "--ignore-not-found", "volumepopulator", ownVolumePopulator]);
}

async function reasonsFor(api: Kube, namespace: string, name: string) {
  return (await eventsFor(api, namespace, name)).map((e) => e.reason);
}

describe.skipIf(!imageRegistry || !stateDir)(
  "the CSI fast-path populator installed from its manifests",
  () => {
    const NAMESPACE = "volpop-fastpath";
    let api: Kube;
    let kubectl: ReturnType<typeof pinnedKubectl>;
    let work: string;
    let golden: GoldenStore;
    let manifests = "";
    let userNs = "";
    // The DaemonSet's pods all mount the first node's driver state (on this machine every node's state
    // is a different folder, where a real cluster has the same path on each node): volumes go there.
    let storage: StorageClassPair | undefined;

    beforeAll(async () => {
      api = kube();
      kubectl = pinnedKubectl();
      storage = await storageOnFirstNode(api, "manifests-fastpath");
      work = await mkdtemp(path.join(os.tmpdir(), "volpop-manifests-fastpath-"));
      golden = await writeGoldenStore(path.join(work, "golden"), 1);
      const image = await publish("populator-csi-fastpath");
      await installPrerequisites(kubectl);
      manifests = await render(kubectl, "populator-csi-fastpath", {
        [manifestImage("populator-csi-fastpath")]: image,
        "/var/lib/volpop/cluster/csi-hostpath": stateDir,
        // The golden directory of the DaemonSet and of the controller's --golden-host-dir alike.
        "/var/lib/volpop-fastpath/golden": golden.dir,
        // The socket directory on the node, in our temporary directory so that nothing stays behind.
        "path: /run/volpop-fastpath": `path: ${path.join(work, "run")}`,
      });
      await kubectl(["apply", "-f", "-"], manifests);
      // The namespace warns at the baseline level, which its pods' hostPath volumes exceed; nothing else.
      expect(kubectl.warnings.filter((w) => !/hostPath volumes/.test(w))).toEqual([]);
      if (storage?.node !== undefined) {
        // The embedded cluster's nodes share one filesystem: the DaemonSet's pods would all bind the
        // one socket path, and only the first node's backend reaches the volumes. It runs there only.
        await kubectl([
          "-n",
          NAMESPACE,
          "patch",
          "daemonset/csi-fastpath-backend",
          "--type=merge",
          "-p",
          JSON.stringify({
            spec: { template: { spec: { nodeSelector: { "kubernetes.io/hostname": storage.node } } } },
          }),
        ]);
      }
      await kubectl([
        "-n",
        NAMESPACE,
        "rollout",
        "status",
        "daemonset/csi-fastpath-backend",
        "--timeout=180s",
      ]);
      await kubectl([
        "-n",
        NAMESPACE,
        "rollout",
        "status",
        "deployment/csi-fastpath-populator",
        "--timeout=180s",
      ]);
      userNs = await createTestNamespace(api, "manifests-fastpath");
    }, 600_000);
    afterAll(async () => {
      if (userNs) await deleteNamespaceAndWait(api, userNs);
      if (manifests) await uninstall(kubectl, manifests, "goldencontents.fastpath.volpop.dev");
      await storage?.remove();
      if (work) await rm(work, { recursive: true, force: true });
    }, 400_000);

    it("fills a volume through the backend DaemonSet, with no populator pod", async () => {
      const name = "golden-tree";
      await createGoldenContent(api, userNs, name, "tree");
      await createPvc(api, userNs, name, {
        storageClassName: storage?.immediate ?? e2eSettings.immediateStorageClass,
        volumeMode: "Filesystem",
        dataSourceRef: goldenContentRef(name),
      });
      await waitForBound(api, userNs, name);
      const log = await runJob(api, userNs, "read-golden-tree", {
        script: `cd ${JOB_MOUNT_PATH} && find . -type f | sort | xargs sha256sum && readlink link`,
        pvc: { claimName: name, volumeMode: "Filesystem" },
      });
      expect(log).toBe(`${await golden.checksums("tree")}hello.txt\n`);

      const reasons = await reasonsFor(api, userNs, name);
      expect(reasons).toContain("PopulatorFastPath");
      expect(reasons).toContain("PopulatorFinished");
      expect(reasons).not.toContain("PopulatorCreated");
      expect(reasons).not.toContain("PopulatorFastPathFallback");
      // Only the backend and the controller ever ran in the populator's namespace.
      const pods = await api.core.listNamespacedPod({ namespace: NAMESPACE });
      expect(pods.items.map((p) => p.metadata?.name).filter((n) => n?.startsWith("populate-"))).toEqual([]);
      await expectNoRefusals(kubectl, NAMESPACE, "deployment/csi-fastpath-populator");
      await expectNoRefusals(kubectl, NAMESPACE, "daemonset/csi-fastpath-backend");
    });
  },
);

describe.skipIf(!imageRegistry || !registryAddress)(
  "the image populator installed from its manifests",
  () => {
    const NAMESPACE = "volpop-image";
    const USER = "puller";
    const PASSWORD = randomBytes(9).toString("base64url");
    const CONTENTS = "installed from deploy/\n";
    let api: Kube;
    let kubectl: ReturnType<typeof pinnedKubectl>;
    let registry: LocalRegistry;
    let manifests = "";
    let userNs = "";

    beforeAll(async () => {
      api = kube();
      kubectl = pinnedKubectl();
      registry = await startLocalRegistry({
        tls: true,
        htpasswd: { user: USER, password: PASSWORD },
        address: registryAddress,
      });
      await writeImage(registry.pushTarget, {
        repository: "e2e/manifests",
        tag: "1.0",
        layers: [{ entries: [{ type: "file", path: "greeting.txt", content: CONTENTS, mode: 0o644 }] }],
      });
      const image = await publish("populator-image");
      await installPrerequisites(kubectl);
      manifests = await render(kubectl, "populator-image", { [manifestImage("populator-image")]: image });
      // The source brings the test registry's CA; as an admin would, allow credentials over it.
      manifests = manifests.replace(
        /^(\s*- )--http-endpoint=:8080$/m,
        (line, item: string) => `${line}\n${item}--allow-credentials-with-source-ca=${registry.host}`,
      );
      expect(manifests).toContain(`--allow-credentials-with-source-ca=${registry.host}`);
      await kubectl(["apply", "-f", "-"], manifests);
      // The controller passes the restricted level the namespace warns at.
      expect(kubectl.warnings).toEqual([]);
      await kubectl(["-n", NAMESPACE, "rollout", "status", "deployment/image-populator", "--timeout=180s"]);

      userNs = await createTestNamespace(api, "manifests-image");
      await prepareRegistryAccess(api, userNs, registry.caPem ?? "", [
        { name: "registry-creds", host: registry.host, user: USER, password: PASSWORD },
      ]);
    }, 600_000);
    afterAll(async () => {
      if (userNs) await deleteNamespaceAndWait(api, userNs);
      if (manifests) await uninstall(kubectl, manifests, "imagesources.image.volpop.dev");
      await registry?.stop();
    }, 400_000);

    /** An ImageSource for `e2e/<image>` of the private registry (its pull secret and CA bundle), and a PVC naming it. */
    async function createPrivateImagePvc(name: string, image: string) {
      await createImageSource(api, userNs, name, {
        image: `${registry.host}/e2e/${image}`,
        pullSecrets: [{ name: "registry-creds" }],
        caBundle: { configMap: "registry-ca" },
      });
      await createPvc(api, userNs, name, {
        storageClassName: e2eSettings.immediateStorageClass,
        volumeMode: "Filesystem",
        dataSourceRef: { apiGroup: IMAGE_GROUP, kind: "ImageSource", name },
      });
    }

    it("fills a volume from an image in a private TLS registry", async () => {
      const name = "from-image";
      await createPrivateImagePvc(name, "manifests:1.0");
      await waitForBound(api, userNs, name);
      const log = await runJob(api, userNs, "read-from-image", {
        script: `cat ${JOB_MOUNT_PATH}/greeting.txt`,
        pvc: { claimName: name, volumeMode: "Filesystem" },
      });
      expect(log).toBe(CONTENTS);
      const reasons = await reasonsFor(api, userNs, name);
      expect(reasons).toContain("PopulatorCreated");
      expect(reasons).toContain("PopulatorFinished");
      await expectNoRefusals(kubectl, NAMESPACE, "deployment/image-populator");
    });

    // Attempt 1 copies the pull secret and CA bundle into volpop-image and fails (the image is not
    // pushed yet); attempt 2 replaces those copies (the user may have fixed them), which the shipped
    // Role must allow, and fills the volume. Without `update` it was refused, and retried forever.
    it("retries with the same pull secret and CA bundle, replacing its copies, under the shipped RBAC", async () => {
      const name = "later-image";
      await createPrivateImagePvc(name, "later:1.0");
      await waitFor(
        "the first attempt to fail",
        async () => ((await reasonsFor(api, userNs, name)).includes("PopulatorFailed") ? true : undefined),
        180_000,
      );
      await writeImage(registry.pushTarget, {
        repository: "e2e/later",
        tag: "1.0",
        layers: [{ entries: [{ type: "file", path: "greeting.txt", content: CONTENTS, mode: 0o644 }] }],
      });
      await waitForBound(api, userNs, name, 240_000);
      const log = await runJob(api, userNs, "read-later-image", {
        script: `cat ${JOB_MOUNT_PATH}/greeting.txt`,
        pvc: { claimName: name, volumeMode: "Filesystem" },
      });
      expect(log).toBe(CONTENTS);
      await expectNoRefusals(kubectl, NAMESPACE, "deployment/image-populator");
    });
  },
);
