import { readFileSync } from "node:fs";
import {
  loadAllYaml,
  type V1ClusterRole,
  type V1Deployment,
  type V1Role,
  type V1Service,
  type V1ValidatingWebhookConfiguration,
} from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { WEBHOOK_PATH } from "./webhook/server.ts";
import {
  DEFAULT_WEBHOOK_CONFIGURATION,
  DEFAULT_WEBHOOK_SECRET,
  DEFAULT_WEBHOOK_SERVICE,
} from "./webhook/webhook.ts";

const read = (file: string) =>
  loadAllYaml(readFileSync(new URL(`../deploy/${file}`, import.meta.url), "utf8")) as { kind: string }[];
const one = <T>(file: string, kind: string): T => {
  const found = read(file).filter((o) => o.kind === kind);
  expect(found).toHaveLength(1);
  return found[0] as T;
};

describe("the webhook manifests", () => {
  const deployment = one<V1Deployment>("deployment.yaml", "Deployment");
  const withWebhook = one<V1Deployment>("webhook/deployment-webhook.yaml", "Deployment");
  const service = one<V1Service>("webhook/service.yaml", "Service");
  const configuration = one<V1ValidatingWebhookConfiguration>(
    "webhook/validating-webhook-configuration.yaml",
    "ValidatingWebhookConfiguration",
  );
  const namespace = deployment.metadata?.namespace;

  it("leave the default install without the webhook", () => {
    const kustomization = readFileSync(new URL("../deploy/kustomization.yaml", import.meta.url), "utf8");
    expect(kustomization).not.toContain("webhook");
    expect(deployment.spec?.template.spec?.containers[0]?.args?.join(" ")).not.toContain("--webhook");
  });

  it("turn the webhook on in a Deployment that is otherwise the default one", () => {
    const container = withWebhook.spec?.template.spec?.containers[0];
    expect(container?.args).toEqual([
      ...(deployment.spec?.template.spec?.containers[0]?.args ?? []),
      "--webhook-port=9443",
    ]);
    expect(container?.ports).toContainEqual({ name: "webhook", containerPort: 9443 });
    const strip = (d: V1Deployment) => {
      const copy = structuredClone(d);
      const c = copy.spec?.template.spec?.containers[0];
      if (c) {
        c.args = [];
        c.ports = c.ports?.filter((p) => p.name !== "webhook") ?? [];
      }
      return copy;
    };
    expect(strip(withWebhook)).toEqual(strip(deployment));
  });

  it("name what the flags' defaults name", () => {
    expect(service.metadata).toMatchObject({ name: DEFAULT_WEBHOOK_SERVICE, namespace });
    expect(service.spec?.selector).toEqual(deployment.spec?.selector?.matchLabels);
    expect(service.spec?.ports).toEqual([{ name: "webhook", port: 443, targetPort: "webhook" }]);
    expect(configuration.metadata?.name).toBe(DEFAULT_WEBHOOK_CONFIGURATION);
    expect(configuration.webhooks?.map((w) => w.clientConfig.service)).toEqual([
      { name: DEFAULT_WEBHOOK_SERVICE, namespace, path: WEBHOOK_PATH, port: 443 },
    ]);
  });

  it("grant the Secret and the webhook configuration by name, for the validator's service account", () => {
    const role = one<V1Role>("webhook/rbac.yaml", "Role");
    expect(role.metadata?.namespace).toBe(namespace);
    expect(role.rules).toEqual([
      {
        apiGroups: [""],
        resources: ["secrets"],
        resourceNames: [DEFAULT_WEBHOOK_SECRET],
        verbs: ["get", "update"],
      },
      { apiGroups: [""], resources: ["secrets"], verbs: ["create"] },
    ]);
    const clusterRole = one<V1ClusterRole>("webhook/rbac.yaml", "ClusterRole");
    expect(clusterRole.rules).toEqual([
      {
        apiGroups: ["admissionregistration.k8s.io"],
        resources: ["validatingwebhookconfigurations"],
        resourceNames: [DEFAULT_WEBHOOK_CONFIGURATION],
        verbs: ["get", "patch"],
      },
    ]);
    for (const kind of ["RoleBinding", "ClusterRoleBinding"]) {
      const binding = one<{ subjects: unknown[] }>("webhook/rbac.yaml", kind);
      expect(binding.subjects).toEqual([
        { kind: "ServiceAccount", name: deployment.spec?.template.spec?.serviceAccountName, namespace },
      ]);
    }
  });

  it("can only warn: always Ignore on failure, no side effects, PVC creates and updates only, no caBundle", () => {
    expect(configuration.webhooks).toHaveLength(1);
    const [webhook] = configuration.webhooks ?? [];
    expect(webhook).toMatchObject({
      admissionReviewVersions: ["v1"],
      sideEffects: "None",
      failurePolicy: "Ignore",
      rules: [
        {
          apiGroups: [""],
          apiVersions: ["v1"],
          operations: ["CREATE", "UPDATE"],
          resources: ["persistentvolumeclaims"],
          scope: "Namespaced",
        },
      ],
    });
    expect(webhook?.timeoutSeconds).toBeLessThanOrEqual(5);
    expect(webhook?.clientConfig.caBundle).toBeUndefined();
  });
});
