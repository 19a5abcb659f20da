import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import {
  ApiextensionsV1Api,
  type CoreV1Event,
  CustomObjectsApi,
  loadYaml,
  type V1CustomResourceDefinition,
  type V1TypedObjectReference,
} from "@kubernetes/client-node";
import { createLogger } from "@volpop/sdk";
import { badInputCase, contained } from "@volpop/test-catalogue";
import {
  createValidatorController,
  EventReason,
  OPERATION_COUNT_NAME,
  UNRECOGNIZED_MESSAGE,
  type ValidatorController,
  VOLUME_POPULATOR_GROUP,
  VOLUME_POPULATOR_PLURAL,
  VOLUME_POPULATOR_VERSION,
} from "@volpop/validator";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createPvc,
  createTestNamespace,
  deleteNamespace,
  e2eSettings,
  eventsFor,
  type Kube,
  kube,
  stillThere,
  waitFor,
} from "./support/kube.ts";

const CRD_FILE = new URL("../../packages/validator/deploy/crd.yaml", import.meta.url);
/** Short, so that the suite sees several resyncs and can check that warnings are not repeated. */
const RESYNC_MS = 1000;

/**
 * The data-source validator, run in this process against the real cluster as its binary would run
 * it, with the CRD from its own manifests. It watches only the suite's namespace, so that it leaves
 * other suites' PVCs on the shared cluster alone.
 */
const IDENTITY = `validator-e2e-${process.pid}`;

describe("volume data source validator", () => {
  let api: Kube;
  let custom: CustomObjectsApi;
  let namespace: string;
  let controller: ValidatorController;
  let running: Promise<void> | undefined;
  const stop = new AbortController();
  const registry = new Registry();
  // A group of our own, so that no other suite's VolumePopulator can register (or unregister) it.
  const suffix = randomBytes(3).toString("hex");
  const group = `validator-${suffix}.e2e.volpop.dev`;
  const populatorName = `validator-e2e-${suffix}`;
  const createdPopulators: string[] = [];

  beforeAll(async () => {
    api = kube();
    custom = api.config.makeApiClient(CustomObjectsApi);
    await applyVolumePopulatorCrd(api);
    namespace = await createTestNamespace(api, "validator");
    controller = createValidatorController({
      kubeConfig: api.config,
      namespace,
      identity: IDENTITY,
      registry,
      resyncPeriodMs: RESYNC_MS,
      logger: createLogger({ name: "validator-e2e", level: "silent" }),
    });
    running = controller.run(stop.signal);
    await waitFor("the validator to be ready", async () =>
      controller.readyz().every((check) => check.ok) ? true : undefined,
    );
  });

  afterAll(async () => {
    stop.abort();
    await running;
    // VolumePopulators are cluster-scoped: remove ours. The CRD stays, as other suites register too.
    for (const name of createdPopulators) {
      await custom
        .deleteClusterCustomObject({
          group: VOLUME_POPULATOR_GROUP,
          version: VOLUME_POPULATOR_VERSION,
          plural: VOLUME_POPULATOR_PLURAL,
          name,
        })
        .catch(() => undefined);
    }
    if (namespace) await deleteNamespace(api, namespace);
  });

  const pvcWithSource = (name: string, dataSourceRef: V1TypedObjectReference) =>
    createPvc(api, namespace, name, {
      storageClassName: e2eSettings.immediateStorageClass,
      volumeMode: "Filesystem",
      dataSourceRef,
    });

  // Only this suite's validator: another one (e.g. installed by the walkthrough) may watch the cluster too.
  const eventsWithReason = async (pvc: string, reason: string): Promise<CoreV1Event[]> =>
    (await eventsFor(api, namespace, pvc)).filter(
      (e) => e.reason === reason && e.reportingInstance === IDENTITY,
    );

  const count = async (result: string): Promise<number> => {
    const metric = await registry.getSingleMetric(OPERATION_COUNT_NAME)?.get();
    return metric?.values.find((v) => v.labels.result === result)?.value ?? 0;
  };

  badInputCase(
    {
      id: "validator-e2e-unregistered-kind",
      component: "validator",
      input: "a PVC whose dataSourceRef names a kind no VolumePopulator registers",
      expected: "one Warning UnrecognizedDataSourceKind, however often the PVC is validated",
      checks: ["pvc-kept"],
    },
    async () => {
      await pvcWithSource("unknown", { apiGroup: group, kind: "Thing", name: "t" });
      const [warning] = await waitFor("an UnrecognizedDataSourceKind event", async () => {
        const found = await eventsWithReason("unknown", EventReason.UnrecognizedDataSourceKind);
        return found.length > 0 ? found : undefined;
      });
      expect(warning?.type).toBe("Warning");
      expect(warning?.message).toBe(`${UNRECOGNIZED_MESSAGE} (apiGroup "${group}", kind "Thing")`);
      expect(warning?.source?.component).toBe("volume-data-source-validator");

      // Several resyncs later, still the one warning.
      const validated = await count("invalid");
      await sleep(3 * RESYNC_MS);
      await waitFor("three more validations of the PVC", async () =>
        (await count("invalid")) >= validated + 3 ? true : undefined,
      );
      expect(await eventsWithReason("unknown", EventReason.UnrecognizedDataSourceKind)).toHaveLength(1);
      // The validator only warns: the PVC keeps its source and gets nothing of the validator's.
      await contained("pvc-kept", async () => {
        const pvc = await api.core.readNamespacedPersistentVolumeClaim({ name: "unknown", namespace });
        expect(pvc.spec?.dataSourceRef).toEqual({ apiGroup: group, kind: "Thing", name: "t" });
        expect(pvc.metadata?.finalizers ?? []).toEqual(["kubernetes.io/pvc-protection"]);
      });
    },
  );

  badInputCase(
    {
      id: "validator-e2e-registration-without-kind",
      component: "validator",
      input: "a VolumePopulator whose sourceKind names a group but no kind",
      expected: "API rejection: sourceKind.kind: Required value",
      checks: ["nothing-created"],
    },
    async () => {
      const name = `${populatorName}-no-kind`;
      createdPopulators.push(name);
      const body = {
        apiVersion: `${VOLUME_POPULATOR_GROUP}/${VOLUME_POPULATOR_VERSION}`,
        kind: "VolumePopulator",
        metadata: { name },
        sourceKind: { group },
      };
      await expect(
        custom.createClusterCustomObject({
          group: VOLUME_POPULATOR_GROUP,
          version: VOLUME_POPULATOR_VERSION,
          plural: VOLUME_POPULATOR_PLURAL,
          body,
        }),
      ).rejects.toThrow(/sourceKind\.kind: Required value/);
      const stored = custom.getClusterCustomObject({
        group: VOLUME_POPULATOR_GROUP,
        version: VOLUME_POPULATOR_VERSION,
        plural: VOLUME_POPULATOR_PLURAL,
        name,
      });
      await contained("nothing-created", async () => expect(await stillThere({ stored })).toEqual([]));
    },
  );

  it("never warns about PVC clones or VolumeSnapshot sources", async () => {
    await pvcWithSource("clone", { kind: "PersistentVolumeClaim", name: "elsewhere" });
    await pvcWithSource("from-snapshot", {
      apiGroup: "snapshot.storage.k8s.io",
      kind: "VolumeSnapshot",
      name: "snap",
    });
    // Validated over and over by now: one resync covers both.
    await waitFor("both PVCs to be validated a few times", async () =>
      (await count("pvc")) >= 3 && (await count("snapshot")) >= 3 ? true : undefined,
    );
    expect(await eventsWithReason("clone", EventReason.UnrecognizedDataSourceKind)).toEqual([]);
    expect(await eventsWithReason("from-snapshot", EventReason.UnrecognizedDataSourceKind)).toEqual([]);
  });

  it("tells the warned PVC once a VolumePopulator registers its kind", async () => {
    await custom.createClusterCustomObject({
      group: VOLUME_POPULATOR_GROUP,
      version: VOLUME_POPULATOR_VERSION,
      plural: VOLUME_POPULATOR_PLURAL,
      body: {
        apiVersion: `${VOLUME_POPULATOR_GROUP}/${VOLUME_POPULATOR_VERSION}`,
        kind: "VolumePopulator",
        metadata: { name: populatorName },
        sourceKind: { group, kind: "Thing" },
      },
    });
    createdPopulators.push(populatorName);
    const [registered] = await waitFor("a DataSourceKindRegistered event", async () => {
      const found = await eventsWithReason("unknown", EventReason.DataSourceKindRegistered);
      return found.length > 0 ? found : undefined;
    });
    expect(registered?.type).toBe("Normal");
    expect(registered?.message).toContain(`VolumePopulator "${populatorName}"`);

    // A PVC of the now registered kind is valid from the start.
    await pvcWithSource("known", { apiGroup: group, kind: "Thing", name: "t" });
    const validated = await count("populator");
    await waitFor("both PVCs of the kind to be validated again", async () =>
      (await count("populator")) >= validated + 4 ? true : undefined,
    );
    await sleep(RESYNC_MS);
    expect(await eventsFor(api, namespace, "known")).toSatisfy((events: CoreV1Event[]) =>
      events.every((e) => e.source?.component !== "volume-data-source-validator"),
    );
    expect(await eventsWithReason("unknown", EventReason.DataSourceKindRegistered)).toHaveLength(1);
    expect(await eventsWithReason("unknown", EventReason.UnrecognizedDataSourceKind)).toHaveLength(1);
  });

  it("counts validations by result in upstream's metric", async () => {
    expect(await count("invalid")).toBeGreaterThanOrEqual(1);
    expect(await count("pvc")).toBeGreaterThanOrEqual(1);
    expect(await count("snapshot")).toBeGreaterThanOrEqual(1);
    expect(await count("populator")).toBeGreaterThanOrEqual(1);
    expect(await count("error")).toBe(0);
    expect(await registry.metrics()).toMatch(
      /^volume_data_source_validator_operation_count\{result="invalid"\} \d+$/m,
    );
  });
});

/** Applies the validator's CRD from its manifests (create, or replace an older one) and waits until it is served. */
async function applyVolumePopulatorCrd(api: Kube): Promise<void> {
  const extensions = api.config.makeApiClient(ApiextensionsV1Api);
  const crd = loadYaml<V1CustomResourceDefinition>(await readFile(CRD_FILE, "utf8"));
  const name = crd.metadata?.name ?? "";
  try {
    await extensions.createCustomResourceDefinition({ body: crd });
  } catch (error) {
    if ((error as { code?: number }).code !== 409) throw error;
    const existing = await extensions.readCustomResourceDefinition({ name });
    const resourceVersion = existing.metadata?.resourceVersion ?? "";
    await extensions.replaceCustomResourceDefinition({
      name,
      body: { ...crd, metadata: { ...crd.metadata, resourceVersion } },
    });
  }
  await waitFor(`CRD ${name} to be established`, async () => {
    const current = await extensions.readCustomResourceDefinition({ name });
    return current.status?.conditions?.some((c) => c.type === "Established" && c.status === "True")
      ? true
      : undefined;
  });
}
