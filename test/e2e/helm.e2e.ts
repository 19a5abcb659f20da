import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { CoordinationV1Api, CustomObjectsApi } from "@kubernetes/client-node";
import {
  DEFAULT_WEBHOOK_SECRET,
  UNRECOGNIZED_MESSAGE,
  VOLUME_POPULATOR_GROUP,
  VOLUME_POPULATOR_PLURAL,
  VOLUME_POPULATOR_VERSION,
} from "@volpop/validator";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { kustomizeBase } from "../charts/manifests.ts";
import { buildWalkthroughImages } from "../cluster/walkthrough-images.ts";
import { chartsDir, helm, helmBinary } from "../support/helm.ts";
import { type Kubectl, runStory, unregisteredKindWarning } from "../support/walkthrough.ts";
import {
  createTestNamespace,
  deleteNamespace,
  type Kube,
  kube,
  kubectlBinary,
  waitFor,
  waitForNamespaceGone,
} from "./support/kube.ts";

const execFileAsync = promisify(execFile);

/** The Lease names the programs elect on (packages/validator/src/run.ts, the SDK's controller mode). */
const VALIDATOR_LEASE = "data-source-validator-leader";
const HELLO_LEASE = "hello.example.com-populator";
const HELLO_GROUP = "hello.example.com";
const VOLUME_POPULATORS = {
  group: VOLUME_POPULATOR_GROUP,
  version: VOLUME_POPULATOR_VERSION,
  plural: VOLUME_POPULATOR_PLURAL,
};

/**
 * The charts as charts/README.md installs them: the validator (two replicas, so under leader
 * election, with its webhook) and the hello populator (two replicas) with `helm install` into
 * namespaces labelled for Pod Security first, then the walkthrough on them, then `helm uninstall`,
 * after which nothing of theirs is left but what the README says stays: the CRDs (Helm never deletes
 * those of a chart's crds/ folder) and, in the release namespaces, what the programs made at run time
 * (their released Leases, the webhook's certificate Secret), which go with the namespaces.
 *
 * The kustomize install of the walkthrough suite uses the same cluster-scoped names and would run a
 * second hello controller, so it is removed first (that suite installs it again when it runs).
 */
describe("the charts installed with helm", () => {
  let api: Kube;
  let kubeconfig: string;
  let kubectlBin: string;
  let validatorNs = "";
  let helloNs = "";
  let userNs = "";
  const releases: { name: string; namespace: string }[] = [];
  /** What each release namespace held before its install: what the cluster puts into any namespace. */
  const before = new Map<string, string[]>();
  const installOutput: string[] = [];

  /** kubectl's stdout and stderr, where it prints the API server's warnings. */
  const kubectlOutput = async (args: readonly string[], input?: string) => {
    const child = execFileAsync(kubectlBin, [`--kubeconfig=${kubeconfig}`, ...args], {
      maxBuffer: 16 * 1024 * 1024,
    });
    if (input !== undefined) child.child.stdin?.end(input);
    return child;
  };
  const kubectl: Kubectl = async (args, input) => (await kubectlOutput(args, input)).stdout;

  async function install(release: string, chart: string, namespace: string, image: string, set: string[]) {
    const [repository, digest] = image.split("@");
    const output = await helm(
      [
        "install",
        release,
        path.join(chartsDir, chart),
        "-n",
        namespace,
        "--set",
        `image.repository=${repository}`,
        "--set",
        `image.digest=${digest}`,
        ...set.flatMap((s) => ["--set", s]),
        "--wait",
        "--timeout=5m",
      ],
      { kubeconfig },
    );
    releases.push({ name: release, namespace });
    installOutput.push(output);
  }

  beforeAll(async () => {
    api = kube();
    kubeconfig = inject("kubeconfig");
    kubectlBin = kubectlBinary();
    const [images] = await Promise.all([buildWalkthroughImages(inject("embeddedCluster")), helmBinary()]);
    await removeKustomizeInstalls();

    // The namespaces first (createTestNamespace labels them for `baseline`): hello's is as
    // charts/README.md says; the validator's is labelled `restricted` only after its install, whose
    // notes must warn meanwhile.
    validatorNs = await createTestNamespace(api, "helm-validator");
    helloNs = await createTestNamespace(api, "helm-hello");
    for (const ns of [validatorNs, helloNs]) before.set(ns, await namespaceContents(ns));
    await install("volpop-validator", "volpop-validator", validatorNs, images.validator, [
      "replicas=2",
      "webhook.enabled=true",
    ]);
    await kubectl([
      "label",
      "namespace",
      validatorNs,
      "pod-security.kubernetes.io/enforce=restricted",
      "--overwrite",
    ]);
    await install("volpop-hello", "volpop-populator-hello", helloNs, images.hello, ["replicas=2"]);
  }, 1_800_000);

  afterAll(async () => {
    if (userNs) await deleteNamespace(api, userNs);
    for (const release of releases.reverse()) {
      await helm(["uninstall", release.name, "-n", release.namespace, "--wait"], { kubeconfig }).catch(
        () => undefined,
      );
    }
    for (const ns of [helloNs, validatorNs]) if (ns) await deleteNamespace(api, ns);
  }, 600_000);

  const volumePopulators = () => api.config.makeApiClient(CustomObjectsApi);

  /** Deletes what `kubectl apply` of the validator's and hello's kustomize bases made, CRDs aside. */
  async function removeKustomizeInstalls() {
    const objects = [...kustomizeBase("populator-hello/deploy"), ...kustomizeBase("validator/deploy")];
    const builtIn = objects.filter(
      (m) => m.kind !== "CustomResourceDefinition" && m.kind !== "VolumePopulator",
    );
    await kubectl(
      ["delete", "--ignore-not-found", "--wait=true", "--timeout=180s", "-f", "-"],
      JSON.stringify({ apiVersion: "v1", kind: "List", items: builtIn }),
    );
    // Through the API, which answers 404 alike for a missing object and a missing CRD (a fresh
    // cluster), where kubectl would fail on the unknown kind. The hello controller registers Hello
    // itself, under its own name, when it starts before the base's VolumePopulator exists.
    const names = [
      ...objects.filter((m) => m.kind === "VolumePopulator").map((m) => m.metadata.name),
      `hellos.${HELLO_GROUP}`,
    ];
    for (const name of names) {
      await volumePopulators()
        .deleteClusterCustomObject({ ...VOLUME_POPULATORS, name })
        .catch((error: { code?: number }) => {
          if (error.code !== 404) throw error;
        });
    }
  }

  it("installs both into their release namespaces, and its notes say how to label them", async () => {
    const deployments = await kubectl([
      "get",
      "deployments",
      "-A",
      "-l",
      "app.kubernetes.io/part-of=volpop",
      "-o",
      "name",
    ]);
    expect(deployments).toContain("deployment.apps/volume-data-source-validator");
    expect(deployments).toContain("deployment.apps/hello-populator");
    for (const [ns, name] of [
      [validatorNs, "volume-data-source-validator"],
      [helloNs, "hello-populator"],
    ] as const) {
      const ready = await kubectl([
        "-n",
        ns,
        "get",
        "deployment",
        name,
        "-o",
        "jsonpath={.status.readyReplicas}",
      ]);
      expect(ready, `${ns}/${name}`).toBe("2");
    }
    const [validatorNotes, helloNotes] = installOutput;
    expect(validatorNotes).toContain(
      `kubectl label namespace ${validatorNs} pod-security.kubernetes.io/enforce=restricted`,
    );
    // Still `baseline` when it was installed: the notes read the namespace (lookup) and say so.
    expect(validatorNotes).toContain(
      `WARNING: namespace ${validatorNs} does not enforce \`restricted\` now.`,
    );
    expect(helloNotes).toContain(
      `kubectl label namespace ${helloNs} pod-security.kubernetes.io/enforce=baseline`,
    );
    expect(helloNotes).not.toContain("WARNING");
  });

  it("runs each controller under leader election: one replica holds its Lease", async () => {
    const leases = api.config.makeApiClient(CoordinationV1Api);
    for (const [ns, name] of [
      [validatorNs, VALIDATOR_LEASE],
      [helloNs, HELLO_LEASE],
    ] as const) {
      const holder = await waitFor(`a holder of Lease ${ns}/${name}`, async () => {
        const lease = await leases.readNamespacedLease({ name, namespace: ns }).catch(() => undefined);
        return lease?.spec?.holderIdentity || undefined;
      });
      expect(holder).not.toBe("");
    }
  });

  it("runs the walkthrough: the Job prints Hello, world!, from a populator pod of the release namespace", async () => {
    userNs = await createTestNamespace(api, "helm-walkthrough");
    expect(await runStory(kubectl, { namespace: userNs })).toBe("Hello, world!\n");
    const podEvents = await kubectl([
      "-n",
      helloNs,
      "get",
      "events",
      "--field-selector=involvedObject.kind=Pod",
      "-o",
      "jsonpath={.items[*].involvedObject.name}",
    ]);
    expect(podEvents).toMatch(/populate-/);
  });

  it("warns about an unregistered kind, with an event and through the webhook at apply time", async () => {
    expect(await unregisteredKindWarning(kubectl, userNs)).toContain(UNRECOGNIZED_MESSAGE);
    const pvc = `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: unregistered-at-apply}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 10Mi}}
  dataSourceRef: {apiGroup: nobody.example.com, kind: Unregistered, name: anything}
`;
    // The validator puts its CA into the webhook configuration; the API server then calls it.
    const stderr = await waitFor("the webhook's warning at apply time", async () => {
      const out = await kubectlOutput(["-n", userNs, "apply", "--dry-run=server", "-f", "-"], pvc);
      return out.stderr.includes(UNRECOGNIZED_MESSAGE) ? out.stderr : undefined;
    });
    expect(stderr).toContain(`Warning: ${UNRECOGNIZED_MESSAGE}`);
  });

  it("leaves nothing behind after helm uninstall but the CRDs and, in the namespaces, what the README names", async () => {
    // The user's PVCs go while the populator still runs, as they would before an uninstall.
    await deleteNamespace(api, userNs);
    await waitForNamespaceGone(api, userNs, 180_000);
    for (const release of releases.toReversed()) {
      // Foreground: the pods, ReplicaSets and EndpointSlices go before helm returns.
      await helm(
        [
          "uninstall",
          release.name,
          "-n",
          release.namespace,
          "--cascade=foreground",
          "--wait",
          "--timeout=5m",
        ],
        {
          kubeconfig,
        },
      );
    }
    releases.length = 0;

    // Cluster-scoped: no RBAC, no VolumePopulator for Hello (the chart's nor one the controller made
    // itself), no webhook configuration; the CRDs stay.
    const instances = `app.kubernetes.io/instance in (volpop-validator,volpop-hello)`;
    expect(await kubectl(["get", "clusterroles,clusterrolebindings", "-l", instances, "-o", "name"])).toBe(
      "",
    );
    const names = ["hello-populator", "volume-data-source-validator", "volume-data-source-validator-webhook"];
    for (const kind of ["clusterrole", "clusterrolebinding"]) {
      expect(await kubectl(["get", kind, ...names, "--ignore-not-found", "-o", "name"]), kind).toBe("");
    }
    const registered = (await volumePopulators().listClusterCustomObject(VOLUME_POPULATORS)) as {
      items: { metadata: { name: string }; sourceKind?: { group?: string } }[];
    };
    expect(
      registered.items.filter((v) => v.sourceKind?.group === HELLO_GROUP).map((v) => v.metadata.name),
    ).toEqual([]);
    expect(
      await kubectl([
        "get",
        "validatingwebhookconfiguration",
        "volume-data-source-validator",
        "--ignore-not-found",
        "-o",
        "name",
      ]),
    ).toBe("");
    expect(
      await kubectl([
        "get",
        "crd",
        `hellos.${HELLO_GROUP}`,
        "volumepopulators.populator.storage.k8s.io",
        "-o",
        "name",
      ]),
    ).toBe(
      "customresourcedefinition.apiextensions.k8s.io/hellos.hello.example.com\ncustomresourcedefinition.apiextensions.k8s.io/volumepopulators.populator.storage.k8s.io\n",
    );
    expect(await helm(["list", "-A", "-q"], { kubeconfig })).not.toMatch(/volpop-validator|volpop-hello/);

    // In the namespaces: every object of every listable kind but events, against what the cluster
    // puts into any namespace (what was there before, and the root CA ConfigMap its controller may
    // not have published yet then) and what the programs made at run time.
    const expected = (ns: string, runtime: string[]) =>
      [...new Set([...(before.get(ns) ?? []), "configmap/kube-root-ca.crt", ...runtime])].sort();
    const expectations = {
      [validatorNs]: expected(validatorNs, [
        `lease.coordination.k8s.io/${VALIDATOR_LEASE}`,
        `secret/${DEFAULT_WEBHOOK_SECRET}`,
      ]),
      [helloNs]: expected(helloNs, [`lease.coordination.k8s.io/${HELLO_LEASE}`]),
    };
    expect(expectations[helloNs]).toContain("serviceaccount/default");
    for (const [ns, objects] of Object.entries(expectations)) {
      // Whatever the garbage collector still removes (a terminating pod) is given a minute.
      const left = await waitFor(
        `${ns} to hold only ${objects.join(", ")}`,
        async () => {
          const contents = await namespaceContents(ns);
          return contents.join() === objects.join() ? contents : undefined;
        },
        60_000,
      ).catch(() => namespaceContents(ns));
      expect(left, ns).toEqual(objects);
    }
    // Nobody holds the Leases any more: released by a leader that still had the rights to, or
    // naming a pod that is gone (helm removes the Role while the pods terminate, so a leader may be
    // refused its release; the next install's leader takes the Lease over once it expires).
    const leases = api.config.makeApiClient(CoordinationV1Api);
    for (const [ns, name] of [
      [validatorNs, VALIDATOR_LEASE],
      [helloNs, HELLO_LEASE],
    ] as const) {
      const holder = (await leases.readNamespacedLease({ name, namespace: ns })).spec?.holderIdentity ?? "";
      const pods = await api.core.listNamespacedPod({ namespace: ns });
      expect(
        pods.items
          .filter((pod) => holder.startsWith(`${pod.metadata?.name}-`))
          .map((pod) => pod.metadata?.name),
        `${ns}/${name} held by ${holder}`,
      ).toEqual([]);
    }

    // Then the namespaces, and with them the rest.
    for (const ns of [validatorNs, helloNs]) {
      await deleteNamespace(api, ns);
      await waitForNamespaceGone(api, ns, 180_000);
    }
    validatorNs = "";
    helloNs = "";
  });

  /** `kind/name` of every object in `namespace`, events aside, sorted. */
  async function namespaceContents(namespace: string): Promise<string[]> {
    const kinds = (await kubectl(["api-resources", "--namespaced", "--verbs=list", "-o", "name"]))
      .split("\n")
      .filter((k) => k !== "" && k !== "events" && k !== "events.events.k8s.io");
    const out = await kubectl(["-n", namespace, "get", kinds.join(","), "-o", "name", "--ignore-not-found"]);
    return out
      .split("\n")
      .filter((line) => line !== "")
      .sort();
  }
});
