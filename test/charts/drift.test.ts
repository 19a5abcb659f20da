import fs from "node:fs";
import path from "node:path";
import type { V1Container, V1PodSpec } from "@kubernetes/client-node";
import { manifestImage } from "@volpop/images";
import { beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { layout } from "../cluster/config.ts";
import { chartsDir, helmBinary } from "../support/helm.ts";
import {
  applied,
  identity,
  kustomizeBase,
  type Manifest,
  manifestFiles,
  parseManifests,
  renderChart,
} from "./manifests.ts";

/**
 * The charts and the kustomize bases (packages/<pkg>/deploy) install the same thing: the same
 * objects under the same names, the same RBAC rules, CRDs and VolumePopulators, and workloads that
 * run the same image with the same flags, security contexts, resources, probes and volumes. What the
 * chart does differently is listed here, so that neither can change without the other noticing.
 */

interface DriftCase {
  readonly title: string;
  readonly chart: string;
  /** The package, whose image the default values must name. */
  readonly image: string;
  /** The namespace of the base, where the chart is installed with `helm -n`. */
  readonly namespace: string;
  readonly values?: Readonly<Record<string, unknown>>;
  readonly base: () => Manifest[];
  /** Flags the chart passes that the base leaves at their defaults, by container name. */
  readonly chartOnlyArgs: Readonly<Record<string, readonly string[]>>;
  /** Deployment strategies that differ on purpose, by workload name. */
  readonly strategies?: Readonly<Record<string, unknown>>;
}

const validatorBase = () => kustomizeBase("validator/deploy");
const VALIDATOR_ARGS = { validator: ["--worker-threads=10"] };

const cases: readonly DriftCase[] = [
  {
    title: "the validator",
    chart: "volpop-validator",
    image: "validator",
    namespace: "volpop-system",
    base: validatorBase,
    chartOnlyArgs: VALIDATOR_ARGS,
  },
  {
    title: "the validator with two replicas (leader election)",
    chart: "volpop-validator",
    image: "validator",
    namespace: "volpop-system",
    values: { replicas: 2 },
    base: () => [...validatorBase(), ...manifestFiles("validator/deploy", ["leader-election-rbac.yaml"])],
    chartOnlyArgs: { validator: [...VALIDATOR_ARGS.validator, "--leader-election"] },
    // With a Lease, a rolling update hands over instead of two validators warning at once.
    strategies: { "volume-data-source-validator": { type: "RollingUpdate" } },
  },
  {
    title: "the validator with its webhook",
    chart: "volpop-validator",
    image: "validator",
    namespace: "volpop-system",
    values: { webhook: { enabled: true } },
    base: () => applied(validatorBase(), kustomizeBase("validator/deploy/webhook")),
    chartOnlyArgs: VALIDATOR_ARGS,
  },
  {
    title: "the hello populator",
    chart: "volpop-populator-hello",
    image: "populator-hello",
    namespace: "hello",
    base: () => kustomizeBase("populator-hello/deploy"),
    chartOnlyArgs: { hello: ["--namespace=hello", "--workers=10"] },
  },
  {
    title: "the image populator",
    chart: "volpop-populator-image",
    image: "populator-image",
    namespace: "volpop-image",
    base: () => kustomizeBase("populator-image/deploy"),
    chartOnlyArgs: { "image-populator": ["--namespace=volpop-image", "--workers=10"] },
  },
  {
    title: "the CSI fast-path populator",
    chart: "volpop-populator-csi-fastpath",
    image: "populator-csi-fastpath",
    namespace: "volpop-fastpath",
    base: () => kustomizeBase("populator-csi-fastpath/deploy"),
    chartOnlyArgs: { controller: ["--namespace=volpop-fastpath", "--workers=10"] },
  },
];

/** JSON with object keys sorted: YAML written by hand and by Helm's toYaml order keys differently. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
const sortedJson = (items: readonly unknown[] | undefined) => (items ?? []).map(canonical).sort();
const byIdentity = (objects: readonly Manifest[]) => new Map(objects.map((m) => [identity(m), m]));
const field = (m: Manifest, name: string) => (m as Record<string, unknown>)[name];

/** What must be equal of a workload's pod: everything but labels, and the args as a set. */
function podEssentials(pod: V1PodSpec | undefined) {
  const container = (c: V1Container) => ({
    name: c.name,
    image: c.image,
    imagePullPolicy: c.imagePullPolicy,
    env: c.env,
    ports: sortedJson(c.ports),
    livenessProbe: c.livenessProbe,
    readinessProbe: c.readinessProbe,
    resources: c.resources,
    securityContext: c.securityContext,
    volumeMounts: c.volumeMounts,
  });
  return {
    serviceAccountName: pod?.serviceAccountName,
    automountServiceAccountToken: pod?.automountServiceAccountToken,
    securityContext: pod?.securityContext,
    tolerations: pod?.tolerations,
    terminationGracePeriodSeconds: pod?.terminationGracePeriodSeconds,
    volumes: sortedJson(pod?.volumes),
    containers: pod?.containers.map(container),
  };
}

describe.each(cases)("the chart of $title", (c) => {
  let chart: Manifest[];
  let base: Manifest[];

  beforeAll(async () => {
    await helmBinary();
    const rendered = await renderChart(c.chart, {
      namespace: c.namespace,
      includeCrds: true,
      ...(c.values ? { values: c.values } : {}),
    });
    chart = parseManifests(rendered);
    base = c.base();
  }, 1_200_000);

  it("installs the base's objects under the same names, but the namespace, plus a metrics Service", () => {
    const namespace = `Namespace//${c.namespace}`;
    // The release namespace is Helm's (helm install -n … --create-namespace); see charts/README.md.
    expect(base.map(identity)).toContain(namespace);
    const services = chart.filter((m) => m.kind === "Service" && m.metadata.name.endsWith("-metrics"));
    expect(services).toHaveLength(1);
    expect(chart.map(identity).sort()).toEqual(
      [...base.map(identity).filter((id) => id !== namespace), ...services.map(identity)].sort(),
    );
  });

  it("grants exactly the base's RBAC rules, to the same subjects", () => {
    const chartObjects = byIdentity(chart);
    const rbac = base.filter((m) =>
      ["ClusterRole", "Role", "ClusterRoleBinding", "RoleBinding", "ServiceAccount"].includes(m.kind),
    );
    expect(rbac.length).toBeGreaterThan(2);
    for (const object of rbac) {
      const ours = chartObjects.get(identity(object));
      expect(ours, identity(object)).toBeDefined();
      if (ours === undefined) continue;
      for (const name of ["rules", "subjects"])
        expect(sortedJson(field(ours, name) as unknown[]), `${identity(object)} ${name}`).toEqual(
          sortedJson(field(object, name) as unknown[]),
        );
      expect(field(ours, "roleRef"), identity(object)).toEqual(field(object, "roleRef"));
      expect(field(ours, "automountServiceAccountToken"), identity(object)).toEqual(
        field(object, "automountServiceAccountToken"),
      );
    }
  });

  it("brings the base's CRD, VolumePopulator and webhook configuration unchanged", () => {
    const chartObjects = byIdentity(chart);
    const same = base.filter((m) =>
      ["CustomResourceDefinition", "VolumePopulator", "ValidatingWebhookConfiguration"].includes(m.kind),
    );
    expect(same.map((m) => m.kind)).toContain("CustomResourceDefinition");
    for (const object of same) {
      const ours = chartObjects.get(identity(object));
      const { metadata: _ours, ...oursBody } = ours ?? { metadata: {} };
      const { metadata: _base, ...baseBody } = object;
      expect(oursBody, identity(object)).toEqual(baseBody);
    }
  });

  it("runs the base's image with the base's flags, security contexts, resources, probes and volumes", () => {
    const chartObjects = byIdentity(chart);
    const workloads = base.filter((m) => m.kind === "Deployment" || m.kind === "DaemonSet");
    expect(workloads.length).toBeGreaterThan(0);
    for (const object of workloads) {
      const ours = chartObjects.get(identity(object));
      const spec = (m: Manifest | undefined) =>
        field(m ?? object, "spec") as {
          replicas?: number;
          strategy?: unknown;
          selector: unknown;
          template: { spec: V1PodSpec };
        };
      const [oursSpec, baseSpec] = [spec(ours), spec(object)];
      expect(oursSpec.selector, identity(object)).toEqual(baseSpec.selector);
      expect(oursSpec.replicas, identity(object)).toEqual(
        (c.values?.replicas as number | undefined) ?? baseSpec.replicas,
      );
      expect(oursSpec.strategy, identity(object)).toEqual(
        c.strategies?.[object.metadata.name] ?? baseSpec.strategy,
      );
      expect(podEssentials(oursSpec.template.spec), identity(object)).toEqual(
        podEssentials(baseSpec.template.spec),
      );
      for (const container of baseSpec.template.spec.containers) {
        const theirs = oursSpec.template.spec.containers.find((o) => o.name === container.name);
        expect(theirs?.args?.toSorted(), `${identity(object)} ${container.name}`).toEqual(
          [...(container.args ?? []), ...(c.chartOnlyArgs[container.name] ?? [])].sort(),
        );
      }
    }
  });

  it("has the metrics Service select the controller's pods", () => {
    const service = chart.find((m) => m.kind === "Service" && m.metadata.name.endsWith("-metrics"));
    const deployment = chart.find((m) => m.kind === "Deployment");
    expect(service?.metadata.name).toBe(`${deployment?.metadata.name}-metrics`);
    const selector = (m: Manifest | undefined) =>
      m === undefined ? undefined : (field(m, "spec") as { selector?: { matchLabels?: unknown } }).selector;
    expect(selector(service)).toEqual(selector(deployment)?.matchLabels);
  });

  it("names the package's image by default: the chart's appVersion is the package's version", () => {
    expect(chart.filter((m) => m.kind === "Deployment").length).toBe(1);
    const images = chart.flatMap((m) =>
      m.kind === "Deployment" || m.kind === "DaemonSet"
        ? (field(m, "spec") as { template: { spec: V1PodSpec } }).template.spec.containers.map((x) => x.image)
        : [],
    );
    expect(new Set(images)).toEqual(new Set([manifestImage(c.image)]));
  });

  it("carries the package's version as the chart's version and appVersion", () => {
    const meta = YAML.parse(fs.readFileSync(path.join(chartsDir, c.chart, "Chart.yaml"), "utf8")) as {
      version: string;
      appVersion: string;
    };
    const pkg = JSON.parse(
      fs.readFileSync(path.join(layout.repoRoot, "packages", c.image, "package.json"), "utf8"),
    ) as { version: string };
    expect({ version: meta.version, appVersion: meta.appVersion }).toEqual({
      version: pkg.version,
      appVersion: pkg.version,
    });
  });

  it("links the base's CRD files rather than copying them", () => {
    const crds = path.join(chartsDir, c.chart, "crds");
    for (const file of fs.readdirSync(crds)) {
      const target = fs.readlinkSync(path.join(crds, file));
      expect(target).toMatch(new RegExp(`^\\.\\./\\.\\./\\.\\./packages/${c.image}/deploy/crd\\.yaml$`));
    }
  });
});
