import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import { promisify } from "node:util";
import {
  AdmissionregistrationV1Api,
  CustomObjectsApi,
  loadAllYaml,
  type V1ClusterRole,
  type V1Deployment,
  type V1RoleBinding,
  type V1ValidatingWebhookConfiguration,
} from "@kubernetes/client-node";
import { publishProductImage } from "@volpop/images";
import { doctorCluster, FindingCode } from "@volpop/sdk/doctor";
import { badInputCase, contained } from "@volpop/test-catalogue";
import {
  DEFAULT_WEBHOOK_SECRET,
  UNRECOGNIZED_MESSAGE,
  VOLUME_POPULATOR_GROUP,
  VOLUME_POPULATOR_PLURAL,
  VOLUME_POPULATOR_VERSION,
} from "@volpop/validator";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { registry as embeddedRegistry, layout } from "../cluster/config.ts";
import { createTestNamespace, deleteNamespace, type Kube, kube, waitFor } from "./support/kube.ts";

const execFileAsync = promisify(execFile);
const DEPLOY = new URL("../../packages/validator/deploy/", import.meta.url);

/** What kubectl printed: resources on stdout, `Warning: …` lines on stderr. */
interface KubectlOutput {
  readonly stdout: string;
  readonly stderr: string;
}

type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  [field: string]: unknown;
};

/**
 * The validator with its admission webhook, deployed from its own image and manifests
 * (deploy/crd.yaml, rbac.yaml, webhook/*) the way a cluster admin installs it, but under names of
 * its own so that it leaves the default install (volpop-system) and other suites alone: its
 * namespace, suffixed cluster-scoped names, a controller watching only its namespace, and a webhook
 * configuration that matches only that namespace. The client is kubectl, whose stderr must show
 * the API server's relay of the webhook's warning at apply time.
 */
describe("the validator's admission webhook", () => {
  let api: Kube;
  let namespace: string;
  let kubectlBin: string;
  let kubeconfig: string;
  const suffix = randomBytes(3).toString("hex");
  // A group of our own, so that no other suite's VolumePopulator registers (or unregisters) it.
  const group = `webhook-${suffix}.e2e.volpop.dev`;
  const populatorName = `validator-webhook-e2e-${suffix}`;
  const configurationName = `volume-data-source-validator-e2e-${suffix}`;
  const renamedClusterObjects = new Set([
    "ClusterRole",
    "ClusterRoleBinding",
    "ValidatingWebhookConfiguration",
  ]);
  const clusterScoped: Manifest[] = [];

  const kubectl = async (args: readonly string[], input?: string): Promise<KubectlOutput> => {
    const child = execFileAsync(kubectlBin, [`--kubeconfig=${kubeconfig}`, ...args], {
      maxBuffer: 16 * 1024 * 1024,
    });
    child.child.stdin?.end(input);
    const { stdout, stderr } = await child;
    return { stdout, stderr };
  };
  const apply = (yaml: string, ...flags: string[]) =>
    kubectl(["-n", namespace, "apply", ...flags, "-f", "-"], yaml);
  const pvcYaml = (name: string, dataSourceRef: string, labels = "{}") => `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: ${name}, labels: ${labels}}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 10Mi}}
  dataSourceRef: ${dataSourceRef}
`;
  const unknownPvc = (name: string, labels?: string) =>
    pvcYaml(name, `{apiGroup: ${group}, kind: Thing, name: t}`, labels);
  const expectedWarning = `Warning: ${UNRECOGNIZED_MESSAGE} (apiGroup "${group}", kind "Thing")`;

  beforeAll(async () => {
    api = kube();
    kubeconfig = inject("kubeconfig");
    kubectlBin = fs.existsSync(layout.bin("kubernetes", "kubectl"))
      ? layout.bin("kubernetes", "kubectl")
      : "kubectl";
    const target = inject("embeddedCluster") ? embeddedRegistry : process.env.VOLPOP_IMAGE_REGISTRY;
    if (!target) {
      throw new Error(
        "KUBECONFIG points at your own cluster, which cannot pull images built here: set VOLPOP_IMAGE_REGISTRY to a registry the cluster pulls from",
      );
    }
    const image = await publishProductImage("validator", target);

    namespace = await createTestNamespace(api, "validator-webhook");
    const manifests = [
      ...(await manifestsOf("crd.yaml")),
      ...(await manifestsOf("rbac.yaml")),
      ...(await manifestsOf("webhook/rbac.yaml")),
      ...(await manifestsOf("webhook/service.yaml")),
      ...(await manifestsOf("webhook/validating-webhook-configuration.yaml")),
      ...(await manifestsOf("webhook/deployment-webhook.yaml")),
    ].map((manifest) => rename(manifest, image));
    clusterScoped.push(...manifests.filter((m) => renamedClusterObjects.has(m.kind)));
    await kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: manifests }));
    await kubectl(["wait", "--for=condition=Established", "crd/volumepopulators.populator.storage.k8s.io"]);
    await kubectl([
      "-n",
      namespace,
      "rollout",
      "status",
      "deployment/volume-data-source-validator",
      "--timeout=180s",
    ]);

    // The validator sets the caBundle; then the API server calls the webhook once it has seen that.
    const admission = api.config.makeApiClient(AdmissionregistrationV1Api);
    await waitFor("the validator to set the caBundle", async () => {
      const current = await admission.readValidatingWebhookConfiguration({ name: configurationName });
      return current.webhooks?.every((w) => w.clientConfig.caBundle) ? true : undefined;
    });
    await waitFor("the API server to relay the webhook's warning", async () =>
      (await apply(unknownPvc("probe"), "--dry-run=server")).stderr.includes(expectedWarning)
        ? true
        : undefined,
    );
  }, 600_000);

  afterAll(async () => {
    // Cluster-scoped objects first, the webhook configuration above all.
    for (const manifest of clusterScoped.reverse()) {
      await kubectl(["delete", manifest.kind, manifest.metadata.name, "--ignore-not-found"]).catch(
        () => undefined,
      );
    }
    await api?.config
      .makeApiClient(CustomObjectsApi)
      .deleteClusterCustomObject({
        group: VOLUME_POPULATOR_GROUP,
        version: VOLUME_POPULATOR_VERSION,
        plural: VOLUME_POPULATOR_PLURAL,
        name: populatorName,
      })
      .catch(() => undefined);
    if (namespace) await deleteNamespace(api, namespace);
  });

  badInputCase(
    {
      id: "webhook-e2e-unregistered-kind",
      component: "webhook",
      input: "a PVC whose dataSourceRef names a kind no VolumePopulator registers",
      expected:
        "admitted, with the warning relayed at apply time: does not match any registered VolumePopulator",
      checks: ["pvc-kept"],
    },
    async () => {
      const { stdout, stderr } = await apply(unknownPvc("unknown"));
      expect(stderr).toContain(expectedWarning);
      expect(stdout).toContain("persistentvolumeclaim/unknown created");
      await contained("pvc-kept", () =>
        api.core.readNamespacedPersistentVolumeClaim({ name: "unknown", namespace }),
      );
    },
  );

  badInputCase(
    {
      id: "webhook-e2e-long-group",
      component: "webhook",
      input: "a PVC whose dataSourceRef names an unregistered kind under a 200-character API group",
      expected: "admitted, with one warning of at most 256 characters relayed at apply time",
      checks: ["pvc-kept"],
    },
    async () => {
      const longGroup = `${["a", "b", "c"].map((c) => c.repeat(63)).join(".")}.${group}`;
      const { stdout, stderr } = await apply(
        pvcYaml("long-group", `{apiGroup: ${longGroup}, kind: Thing, name: t}`),
      );
      const warnings = stderr.split("\n").filter((line) => line.startsWith("Warning: "));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(`Warning: ${UNRECOGNIZED_MESSAGE} (apiGroup "aaa`);
      expect(warnings[0]?.slice("Warning: ".length).length).toBeLessThanOrEqual(256);
      expect(stdout).toContain("persistentvolumeclaim/long-group created");
      await contained("pvc-kept", async () => {
        const pvc = await api.core.readNamespacedPersistentVolumeClaim({ name: "long-group", namespace });
        expect(pvc.spec?.dataSourceRef?.apiGroup).toBe(longGroup);
      });
    },
  );

  it("is what `volpop doctor cluster` finds running", async () => {
    const report = await doctorCluster(api.config);
    const running = report.findings.find((f) => f.code === FindingCode.ValidatorRunning);
    expect(running?.severity).toBe("ok");
    // Doctor names the first available validator of the cluster: this suite's, unless another runs too.
    expect(running?.what).toMatch(/^The data-source validator runs \(\S+\/volume-data-source-validator\)$/);
    expect(report.findings.map((f) => f.code)).not.toContain(FindingCode.ValidatorUnhealthy);
  });

  it("warns again when the PVC is applied again", async () => {
    const { stdout, stderr } = await apply(unknownPvc("unknown", "{changed: 'yes'}"));
    expect(stderr).toContain(expectedWarning);
    expect(stdout).toContain("persistentvolumeclaim/unknown configured");
  });

  it("says nothing about PVC clones, snapshot sources or a kind a VolumePopulator registers", async () => {
    const clone = await apply(pvcYaml("clone", "{kind: PersistentVolumeClaim, name: unknown}"));
    expect(clone.stderr).not.toContain("Warning:");
    const snapshot = await apply(
      pvcYaml("from-snapshot", "{apiGroup: snapshot.storage.k8s.io, kind: VolumeSnapshot, name: snap}"),
    );
    expect(snapshot.stderr).not.toContain("Warning:");

    await kubectl(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: `${VOLUME_POPULATOR_GROUP}/${VOLUME_POPULATOR_VERSION}`,
        kind: "VolumePopulator",
        metadata: { name: populatorName },
        sourceKind: { group, kind: "Registered" },
      }),
    );
    const registered = pvcYaml("registered", `{apiGroup: ${group}, kind: Registered, name: r}`);
    // The webhook learns of the VolumePopulator through the validator's watch: soon, not at once.
    await waitFor("the webhook to know the new VolumePopulator", async () =>
      (await apply(registered, "--dry-run=server")).stderr.includes("Warning:") ? undefined : true,
    );
    const { stdout, stderr } = await apply(registered);
    expect(stderr).not.toContain("Warning:");
    expect(stdout).toContain("persistentvolumeclaim/registered created");
    // The registration is for its kind only.
    expect((await apply(unknownPvc("still-unknown"))).stderr).toContain(expectedWarning);
  });

  it("keeps its certificate in a Secret that a restarted validator serves again", async () => {
    const secret = await api.core.readNamespacedSecret({ name: DEFAULT_WEBHOOK_SECRET, namespace });
    expect(secret.type).toBe("kubernetes.io/tls");
    expect(Object.keys(secret.data ?? {}).sort()).toEqual(["ca.crt", "ca.key", "tls.crt", "tls.key"]);
    const admission = api.config.makeApiClient(AdmissionregistrationV1Api);
    const configuration: V1ValidatingWebhookConfiguration =
      await admission.readValidatingWebhookConfiguration({
        name: configurationName,
      });
    expect(configuration.webhooks?.[0]?.clientConfig.caBundle).toBe(secret.data?.["ca.crt"]);

    await kubectl(["-n", namespace, "rollout", "restart", "deployment/volume-data-source-validator"]);
    await kubectl([
      "-n",
      namespace,
      "rollout",
      "status",
      "deployment/volume-data-source-validator",
      "--timeout=180s",
    ]);
    const after = await api.core.readNamespacedSecret({ name: DEFAULT_WEBHOOK_SECRET, namespace });
    expect(after.metadata?.resourceVersion).toBe(secret.metadata?.resourceVersion);
    await waitFor("the restarted validator to warn again", async () =>
      (await apply(unknownPvc("after-restart"), "--dry-run=server")).stderr.includes(expectedWarning)
        ? true
        : undefined,
    );
  });

  /** The manifests of one file of the validator's deploy folder. */
  async function manifestsOf(file: string): Promise<Manifest[]> {
    return loadAllYaml(await fs.promises.readFile(new URL(file, DEPLOY), "utf8")) as Manifest[];
  }

  /**
   * One manifest moved to the suite's names: namespaced objects into the suite's namespace,
   * cluster-scoped ones (but the shared CRD) suffixed; the Deployment runs `image`, validates the
   * suite's namespace only and names the suite's webhook configuration; the webhook matches the
   * suite's namespace only.
   */
  function rename(manifest: Manifest, image: string): Manifest {
    const m = structuredClone(manifest);
    if (m.metadata.namespace === "volpop-system") m.metadata.namespace = namespace;
    const suffixed = (name: string) => `${name}-e2e-${suffix}`;
    if (renamedClusterObjects.has(m.kind)) m.metadata.name = suffixed(m.metadata.name);
    if (m.kind === "ValidatingWebhookConfiguration") {
      m.metadata.name = configurationName;
      for (const webhook of (m as V1ValidatingWebhookConfiguration).webhooks ?? []) {
        if (webhook.clientConfig.service) webhook.clientConfig.service.namespace = namespace;
        webhook.namespaceSelector = {
          matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: [namespace] }],
        };
      }
    }
    if (m.kind === "ClusterRole") {
      for (const rule of (m as V1ClusterRole).rules ?? []) {
        if (rule.resources?.includes("validatingwebhookconfigurations"))
          rule.resourceNames = [configurationName];
      }
    }
    if (m.kind === "ClusterRoleBinding" || m.kind === "RoleBinding") {
      const binding = m as unknown as V1RoleBinding;
      if (binding.roleRef.kind === "ClusterRole") binding.roleRef.name = suffixed(binding.roleRef.name);
      for (const subject of binding.subjects ?? []) subject.namespace = namespace;
    }
    if (m.kind === "Deployment") {
      const container = (m as V1Deployment).spec?.template.spec?.containers[0];
      if (container === undefined) throw new Error("the validator's Deployment has no container");
      container.image = image;
      container.args = [
        ...(container.args ?? []),
        `--watch-namespace=${namespace}`,
        `--webhook-configuration-name=${configurationName}`,
      ];
    }
    return m;
  }
});
