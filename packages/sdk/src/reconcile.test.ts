import type { V1PersistentVolume, V1PersistentVolumeClaim } from "@kubernetes/client-node";
import { badInputCase, contained } from "@volpop/test-catalogue";
import { describe, expect, it } from "vitest";
import { EventReason } from "./events.ts";
import {
  backendView,
  FASTPATH_ENDPOINT,
  FINALIZER,
  fakePopulator,
  fakeStrategy,
  NOW,
  observed,
  operationView,
  ourPvc,
  POPULATOR_NAMESPACE,
  PREFIX,
  PV_NAME,
  PVC_NAME,
  PVC_UID,
  pod,
  primePvc,
  pv,
  pvc,
  SOURCE_KIND,
  SOURCE_NAME,
  SOURCE_UID,
  settings,
  sourceObject,
  storageClass,
  USER_NAMESPACE,
} from "./internal/fixtures.ts";
import {
  populatedFromAnnotation,
  populateStateAnnotation,
  populateStrategyAnnotation,
  primePvcName,
  SELECTED_NODE_ANNOTATION,
} from "./names.ts";
import type { Observed } from "./observed.ts";
import { nothing, type Plan, type Step } from "./plan.ts";
import {
  isPopulationPv,
  PV_CONTROLLER_GRACE_MS,
  primePvcFor,
  reconcile,
  reconcileOrphan,
  refersTo,
  sourceNamespace,
} from "./reconcile.ts";
import type { PopulationSettings } from "./settings.ts";
import { csiFastPathStrategy, FAST_PATH } from "./strategies/csi-fastpath/strategy.ts";
import { fastPathBackendAnnotation } from "./strategies/csi-fastpath/vocabulary.ts";
import { podStrategy } from "./strategies/pod/strategy.ts";
import type { FillOutcome, Strategy } from "./strategy.ts";

const WORKING_PLAN: Plan = {
  steps: [{ kind: "setProgress", progress: "populating: 50%" }],
  waitingFor: "the populator pod (Running)",
  requeueAfterMs: 10_000,
};
const WORKING: FillOutcome = { state: "working", plan: WORKING_PLAN };

function run(
  seen: Partial<Observed>,
  options: {
    strategy?: Strategy;
    settings?: Partial<Omit<PopulationSettings, "namespace">>;
    problems?: readonly string[];
  } = {},
): Plan {
  const populator = fakePopulator(options.problems ? { problems: options.problems } : {});
  return reconcile(observed(seen), {
    populator,
    strategy: options.strategy ?? fakeStrategy(WORKING),
    settings: settings(options.settings),
  });
}

const kinds = (plan: Plan) => plan.steps.map((step) => step.kind);
/** The steps of a plan that would create or change objects: all but events and the PVC's progress. */
const writes = (plan: Plan) => kinds(plan).filter((kind) => kind !== "event" && kind !== "setProgress");
const finishedPopulation: Step[] = [
  {
    kind: "event",
    type: "Normal",
    reason: EventReason.Finished,
    message: `Populated from Hello ${USER_NAMESPACE}/${SOURCE_NAME}`,
  },
  { kind: "finishOperation", result: "success" },
];
const completed: Step = { kind: "setProgress", progress: "complete" };
const firstPass: Step["kind"][] = ["addFinalizer", "setProgress", "createPrimePvc", "startOperation"];

/** A strategy that must not be asked: the reconcile decides before filling. */
const untouchable: Strategy = {
  name: "untouchable",
  fill: () => {
    throw new Error("fill must not be called");
  },
  cleanup: () => [],
};

describe("reconcile", () => {
  describe("a new PVC is left to kube-controller-manager's first write", () => {
    // The PV controller Updates a claim it provisions from its cache; a patch of ours in between
    // makes it fail with a conflict, and the user reads a ProvisioningFailed Warning.
    const createdAt = (msBeforeNow: number) => new Date(NOW - msBeforeNow);
    const fresh = (msBeforeNow: number, annotations: Record<string, string> = {}) =>
      pvc({ metadata: { creationTimestamp: createdAt(msBeforeNow), annotations } });

    it("waits, and comes back when the grace would be over, while the PV controller has not annotated it", () => {
      const plan = run({ pvc: fresh(1_000) });
      expect(plan).toEqual({
        steps: [],
        waitingFor: "kube-controller-manager to take the PVC in hand",
        requeueAfterMs: PV_CONTROLLER_GRACE_MS,
      });
    });

    it("counts the grace from the end of the creation second", () => {
      expect(run({ pvc: fresh(3_500) }).requeueAfterMs).toBe(PV_CONTROLLER_GRACE_MS - 2_500);
    });

    it.each(["volume.kubernetes.io/storage-provisioner", "volume.beta.kubernetes.io/storage-provisioner"])(
      "starts as soon as the claim carries %s",
      (key) => {
        expect(kinds(run({ pvc: fresh(0, { [key]: "hostpath.csi.k8s.io" }) }))).toEqual(firstPass);
      },
    );

    it("counts the grace from the last write to the claim: WaitForFirstConsumer's turn comes with the selected node", () => {
      const claim = pvc({
        metadata: {
          creationTimestamp: createdAt(600_000),
          annotations: { [SELECTED_NODE_ANNOTATION]: "node-1" },
          managedFields: [
            { manager: "kubectl", operation: "Update", time: createdAt(600_000) },
            { manager: "kube-scheduler", operation: "Update", time: createdAt(1_000) },
          ],
        },
      });
      const plan = run({
        pvc: claim,
        storageClass: storageClass({ volumeBindingMode: "WaitForFirstConsumer" }),
      });
      expect(plan.waitingFor).toBe("kube-controller-manager to take the PVC in hand");
      expect(plan.requeueAfterMs).toBe(PV_CONTROLLER_GRACE_MS);
    });

    it("starts anyway once the grace is over (a cluster without the PV controller)", () => {
      expect(kinds(run({ pvc: fresh(PV_CONTROLLER_GRACE_MS + 1_000) }))).toEqual(firstPass);
    });

    it.each([
      [
        "its finalizer",
        { pvc: ourPvc({ metadata: { creationTimestamp: createdAt(0) } }) },
        firstPass.slice(1),
      ],
      [
        "PVC'",
        {
          pvc: fresh(0),
          primePvc: primePvc({ spec: { volumeName: undefined }, status: { phase: "Pending" } }),
        },
        // The finalizer again, then the strategy's working plan.
        ["addFinalizer", "setProgress"],
      ],
    ])("does not wait once the population has begun (%s there)", (_, seen, expected) => {
      expect(kinds(run(seen))).toEqual(expected);
    });

    it("waits before a warning's progress annotation too: a PVC created before its source", () => {
      expect(run({ pvc: fresh(1_000), source: undefined })).toEqual({
        steps: [],
        waitingFor: "kube-controller-manager to take the PVC in hand",
        requeueAfterMs: PV_CONTROLLER_GRACE_MS,
      });
    });

    it("does not wait when its clock is far behind the API server's", () => {
      expect(kinds(run({ pvc: fresh(-(PV_CONTROLLER_GRACE_MS + 2_000)) }))).toEqual(firstPass);
    });
  });

  describe("PVCs that are not ours", () => {
    it.each<[string, V1PersistentVolumeClaim]>([
      ["no dataSourceRef", pvc({ spec: { dataSourceRef: undefined } })],
      [
        "another kind of the group",
        pvc({ spec: { dataSourceRef: { apiGroup: PREFIX, kind: "Other", name: "x" } } }),
      ],
      [
        "our kind in another group",
        pvc({ spec: { dataSourceRef: { apiGroup: "elsewhere.example.com", kind: "Hello", name: "x" } } }),
      ],
      [
        "a core PVC to clone",
        pvc({ spec: { dataSourceRef: { kind: "PersistentVolumeClaim", name: "src" } } }),
      ],
      [
        "a volume snapshot",
        pvc({
          spec: {
            dataSourceRef: { apiGroup: "snapshot.storage.k8s.io", kind: "VolumeSnapshot", name: "snap" },
          },
        }),
      ],
    ])("does nothing for a PVC with %s", (_, claim) => {
      expect(run({ pvc: claim }, { strategy: untouchable })).toEqual(nothing);
    });

    it("does nothing for a deleted or bound PVC of another populator, even with leftovers around", () => {
      const other = pvc({
        metadata: { deletionTimestamp: new Date(NOW), finalizers: [FINALIZER] },
        spec: { volumeName: "pv-1", dataSourceRef: { apiGroup: "x.example.com", kind: "Hello", name: "h" } },
      });
      expect(run({ pvc: other, primePvc: primePvc(), pod: pod() }, { strategy: untouchable })).toEqual(
        nothing,
      );
    });

    it("matches the kind by group and kind, not version", () => {
      expect(refersTo(pvc(), SOURCE_KIND)).toBe(true);
      expect(refersTo(pvc(), { ...SOURCE_KIND, version: "v2" })).toBe(true);
      expect(refersTo(pvc(), { ...SOURCE_KIND, kind: "hello" })).toBe(false);
    });

    it.each<[string, boolean, V1PersistentVolume]>([
      ["bound to a PVC' of the populator's namespace", true, pv()],
      [
        "handed over by this populator (its populated-from annotation)",
        true,
        pv({
          metadata: { annotations: { [populatedFromAnnotation(PREFIX)]: "apps/hello" } },
          spec: { claimRef: { namespace: USER_NAMESPACE, name: PVC_NAME, uid: PVC_UID } },
        }),
      ],
      [
        "bound to an ordinary claim",
        false,
        pv({ spec: { claimRef: { namespace: USER_NAMESPACE, name: "db", uid: "u-1" } } }),
      ],
      [
        "bound to a prime-… claim of another namespace",
        false,
        pv({ spec: { claimRef: { namespace: "elsewhere", name: primePvcName(PVC_UID), uid: "u-2" } } }),
      ],
      [
        "handed over by another populator",
        false,
        pv({
          metadata: { annotations: { [populatedFromAnnotation("other.example.com")]: "apps/x" } },
          spec: { claimRef: { namespace: USER_NAMESPACE, name: "x", uid: "u-3" } },
        }),
      ],
      ["not bound at all", false, pv({ spec: { claimRef: undefined } })],
    ])("caches a PV %s: %s", (_, kept, volume) => {
      expect(isPopulationPv(volume, POPULATOR_NAMESPACE, PREFIX)).toBe(kept);
    });

    it("matches a core-group kind when dataSourceRef leaves apiGroup out", () => {
      const claim = pvc({ spec: { dataSourceRef: { kind: "ConfigMap", name: "c" } } });
      expect(refersTo(claim, { group: "", version: "v1", kind: "ConfigMap", plural: "configmaps" })).toBe(
        true,
      );
    });
  });

  describe("a PVC being deleted", () => {
    const deleting = (finalizers: string[]) =>
      pvc({ metadata: { deletionTimestamp: new Date(NOW), finalizers } });

    it("does nothing when it does not carry our finalizer", () => {
      expect(run({ pvc: deleting(["kubernetes.io/pvc-protection"]) }, { strategy: untouchable })).toEqual(
        nothing,
      );
    });

    it.each<[string, Partial<Observed>, Step[]]>([
      [
        "deletes the pod and PVC', then removes the finalizer when the PVC is deleted mid-population",
        { primePvc: primePvc(), pod: pod() },
        [
          { kind: "deletePod" },
          { kind: "deletePrimePvc" },
          { kind: "removeFinalizer" },
          { kind: "finishOperation", result: "abandoned" },
        ],
      ],
      [
        "deletes PVC' and removes the finalizer when the PVC is deleted between pods",
        { primePvc: primePvc() },
        [
          { kind: "deletePrimePvc" },
          { kind: "removeFinalizer" },
          { kind: "finishOperation", result: "abandoned" },
        ],
      ],
      [
        "only removes the finalizer when the PVC is deleted before PVC' exists",
        {},
        [{ kind: "removeFinalizer" }, { kind: "finishOperation", result: "abandoned" }],
      ],
    ])("%s", (_, seen, steps) => {
      const plan = run({ pvc: deleting([FINALIZER, "kubernetes.io/pvc-protection"]), ...seen });
      expect(plan).toEqual({ steps });
    });

    it("cleans up even when the source is gone and the population had failed", () => {
      const plan = run({
        pvc: deleting([FINALIZER]),
        source: undefined,
        primePvc: primePvc({ metadata: { annotations: { [populateStateAnnotation(PREFIX)]: "failed" } } }),
        pod: pod({ status: { phase: "Failed" } }),
      });
      expect(kinds(plan)).toEqual(["deletePod", "deletePrimePvc", "removeFinalizer", "finishOperation"]);
    });

    it("asks the strategy what to clean up", () => {
      const strategy: Strategy = {
        name: "custom",
        fill: () => ({ state: "done" }),
        cleanup: () => [{ kind: "annotatePrimePvc", annotations: { "x.example.com/gone": "true" } }],
      };
      const plan = run({ pvc: deleting([FINALIZER]), primePvc: primePvc(), pod: pod() }, { strategy });
      expect(kinds(plan)).toEqual([
        "annotatePrimePvc",
        "deletePrimePvc",
        "removeFinalizer",
        "finishOperation",
      ]);
    });
  });

  describe("a bound PVC", () => {
    const bound = (finalizers?: string[]) =>
      pvc({ metadata: { finalizers }, spec: { volumeName: PV_NAME }, status: { phase: "Bound" } });

    it("reports success, then deletes the pod and PVC' and releases the finalizer once the PV is handed over", () => {
      const plan = run({
        pvc: bound([FINALIZER]),
        primePvc: primePvc({ status: { phase: "Lost" } }),
        pod: pod(),
      });
      expect(plan).toEqual({
        steps: [
          ...finishedPopulation,
          { kind: "deletePod" },
          { kind: "deletePrimePvc" },
          completed,
          { kind: "removeFinalizer" },
        ],
      });
    });

    it("reports success and releases the finalizer when PVC' and the pod are already gone", () => {
      expect(run({ pvc: bound([FINALIZER]) })).toEqual({
        steps: [...finishedPopulation, completed, { kind: "removeFinalizer" }],
      });
    });

    it("names a source in another namespace in the success event", () => {
      const claim = pvc({
        metadata: { finalizers: [FINALIZER] },
        spec: {
          volumeName: PV_NAME,
          dataSourceRef: { apiGroup: PREFIX, kind: "Hello", name: SOURCE_NAME, namespace: "data" },
        },
      });
      expect(run({ pvc: claim }).steps[0]).toMatchObject({ message: "Populated from Hello data/hello" });
    });

    it.each(["pod", FAST_PATH])(
      "finishes the operation as the %s strategy's when PVC' records that one filled it",
      (used) => {
        const prime = primePvc({ metadata: { annotations: { [populateStrategyAnnotation(PREFIX)]: used } } });
        expect(run({ pvc: bound([FINALIZER]), primePvc: prime }).steps).toContainEqual({
          kind: "finishOperation",
          result: "success",
          strategy: used,
        });
      },
    );

    it("does nothing when nothing of ours is left", () => {
      expect(run({ pvc: bound() }, { strategy: untouchable })).toEqual(nothing);
    });

    it.each<[string, Partial<Observed>, Step["kind"][]]>([
      ["a PVC'", { primePvc: primePvc() }, ["deletePrimePvc"]],
      ["a pod", { pod: pod() }, ["deletePod"]],
    ])("removes %s left behind without reporting success again", (_, seen, steps) => {
      expect(kinds(run({ pvc: bound(), ...seen }))).toEqual(steps);
    });

    it("finishes even when the source has since been deleted", () => {
      expect(kinds(run({ pvc: bound([FINALIZER]), source: undefined }))).toEqual([
        "event",
        "finishOperation",
        "setProgress",
        "removeFinalizer",
      ]);
    });
  });

  it("waits without a word when the population was given up earlier", () => {
    const failed = primePvc({ metadata: { annotations: { [populateStateAnnotation(PREFIX)]: "failed" } } });
    const plan = run(
      { pvc: ourPvc(), primePvc: failed, pod: pod({ status: { phase: "Failed" } }) },
      { strategy: untouchable },
    );
    expect(plan).toEqual({ steps: [], waitingFor: "someone to act on the failed population" });
  });

  it("carries on when PVC' has a populate-state other than failed", () => {
    const other = primePvc({ metadata: { annotations: { [populateStateAnnotation(PREFIX)]: "retrying" } } });
    const strategy = fakeStrategy(WORKING);
    run({ pvc: ourPvc(), primePvc: other }, { strategy });
    expect(strategy.fills).toHaveLength(1);
  });

  describe("a source in another namespace", () => {
    const crossNamespace = pvc({
      spec: { dataSourceRef: { apiGroup: PREFIX, kind: "Hello", name: SOURCE_NAME, namespace: "data" } },
    });
    const remoteSource = sourceObject({ metadata: { namespace: "data" } });

    badInputCase(
      {
        id: "sdk-cross-namespace-not-allowed",
        component: "sdk",
        input: "a dataSourceRef naming a source in another namespace, where the populator allows none",
        expected: "Warning PopulatorCrossNamespaceNotAllowed, and a wait",
        checks: ["nothing-created"],
      },
      () => {
        const message =
          "dataSourceRef names namespace data, but this populator does not allow cross-namespace sources";
        const plan = run({ pvc: crossNamespace, source: remoteSource }, { strategy: untouchable });
        contained("nothing-created", () => expect(writes(plan)).toEqual([]));
        expect(plan).toEqual({
          steps: [{ kind: "event", type: "Warning", reason: EventReason.CrossNamespaceNotAllowed, message }],
          waitingFor: message,
        });
      },
    );

    badInputCase(
      {
        id: "sdk-cross-namespace-not-granted",
        component: "sdk",
        input: "a dataSourceRef naming a source in another namespace that no ReferenceGrant opens",
        expected: "Warning PopulatorCrossNamespaceNotGranted, looked at again later",
        checks: ["nothing-created"],
      },
      () => {
        const message =
          "no ReferenceGrant in namespace data allows PersistentVolumeClaims from apps to use Hello hello";
        const plan = run(
          { pvc: crossNamespace, source: remoteSource, referenceGranted: false },
          { strategy: untouchable, settings: { allowCrossNamespace: true, referenceGrantRecheckMs: 30_000 } },
        );
        contained("nothing-created", () => expect(writes(plan)).toEqual([]));
        expect(plan).toEqual({
          steps: [{ kind: "event", type: "Warning", reason: EventReason.CrossNamespaceNotGranted, message }],
          waitingFor: message,
          requeueAfterMs: 30_000,
        });
      },
    );

    it("populates from the other namespace when a ReferenceGrant allows it", () => {
      const plan = run(
        { pvc: crossNamespace, source: remoteSource, referenceGranted: true },
        { settings: { allowCrossNamespace: true } },
      );
      expect(kinds(plan)).toEqual(firstPass);
    });

    it("hands the strategy the source in its own namespace", () => {
      const strategy = fakeStrategy(WORKING);
      run(
        {
          pvc: { ...crossNamespace, metadata: { ...crossNamespace.metadata, finalizers: [FINALIZER] } },
          source: remoteSource,
          primePvc: primePvc(),
        },
        { strategy, settings: { allowCrossNamespace: true } },
      );
      expect(strategy.fills[0]?.source).toEqual({
        namespace: "data",
        name: SOURCE_NAME,
        uid: SOURCE_UID,
        spec: { fileName: "hello.txt", contents: "Hello, world!" },
      });
    });

    it("treats a dataSourceRef naming the PVC's own namespace as a local source", () => {
      const local = pvc({
        spec: {
          dataSourceRef: { apiGroup: PREFIX, kind: "Hello", name: SOURCE_NAME, namespace: USER_NAMESPACE },
        },
      });
      expect(kinds(run({ pvc: local, referenceGranted: true }))).toEqual(firstPass);
      expect(sourceNamespace(local)).toBe(USER_NAMESPACE);
    });
  });

  describe("the data source", () => {
    badInputCase(
      {
        id: "sdk-missing-source",
        component: "sdk",
        input: "a dataSourceRef naming a source that does not exist",
        expected:
          "Warning PopulatorDataSourceNotFound: Hello apps/hello not found; waiting for it to be created",
        checks: ["nothing-created"],
      },
      () => {
        const message = "Hello apps/hello not found; waiting for it to be created";
        const plan = run({ source: undefined }, { strategy: untouchable });
        contained("nothing-created", () => expect(writes(plan)).toEqual([]));
        expect(plan).toEqual({
          steps: [
            { kind: "event", type: "Warning", reason: EventReason.DataSourceNotFound, message },
            { kind: "setProgress", progress: "waiting for the data source" },
          ],
          waitingFor: message,
        });
      },
    );

    badInputCase(
      {
        id: "sdk-invalid-source",
        component: "sdk",
        input: "a source whose spec misses its required fields",
        expected: "Warning PopulatorDataSourceInvalid, listing every problem",
        checks: ["nothing-created"],
      },
      () => {
        const message = "Hello apps/hello is invalid: spec.fileName is required; spec.contents is required";
        const plan = run({ source: sourceObject({ spec: { size: 3 } }) }, { strategy: untouchable });
        contained("nothing-created", () => expect(writes(plan)).toEqual([]));
        expect(plan).toEqual({
          steps: [
            { kind: "event", type: "Warning", reason: EventReason.DataSourceInvalid, message },
            { kind: "setProgress", progress: "data source invalid" },
          ],
          waitingFor: message,
        });
      },
    );

    it("validates the source's spec and nothing else", () => {
      const populator = fakePopulator({ problems: ["spec.url must use https"] });
      const plan = reconcile(observed({ source: sourceObject({ spec: { url: "http://x" } }) }), {
        populator,
        strategy: untouchable,
        settings: settings(),
      });
      expect(populator.validated).toEqual([{ url: "http://x" }]);
      expect(plan.steps[0]).toMatchObject({ message: expect.stringMatching(/: spec\.url must use https$/) });
    });

    badInputCase(
      {
        id: "sdk-source-without-spec",
        component: "sdk",
        input: "a source object without a spec",
        expected: "Warning PopulatorDataSourceInvalid, no crash",
        checks: ["nothing-created"],
      },
      () => {
        const plan = run({ source: sourceObject({ spec: undefined }) });
        expect(plan.steps[0]).toMatchObject({ reason: EventReason.DataSourceInvalid });
        contained("nothing-created", () => expect(writes(plan)).toEqual([]));
      },
    );
  });

  describe("the storage class", () => {
    it("waits for a storage class name on the PVC", () => {
      expect(run({ pvc: pvc({ spec: { storageClassName: undefined } }), storageClass: undefined })).toEqual({
        steps: [],
        waitingFor: "a storage class name on the PVC",
      });
    });

    it("waits for the StorageClass to exist", () => {
      expect(run({ storageClass: undefined }, { strategy: untouchable })).toEqual({
        steps: [],
        waitingFor: "StorageClass csi-fast",
      });
    });

    it.each(["kubernetes.io/aws-ebs", "kubernetes.io/no-provisioner"])(
      "leaves PVCs of the in-tree provisioner %s alone",
      (provisioner) => {
        expect(run({ storageClass: storageClass({ provisioner }) }, { strategy: untouchable })).toEqual(
          nothing,
        );
      },
    );

    it("waits for a consumer pod to be scheduled with a WaitForFirstConsumer class", () => {
      const plan = run({ storageClass: storageClass({ volumeBindingMode: "WaitForFirstConsumer" }) });
      expect(plan).toEqual({ steps: [], waitingFor: "a pod using the PVC (WaitForFirstConsumer)" });
    });

    it("creates PVC' on the selected node with a WaitForFirstConsumer class", () => {
      const plan = run({
        pvc: pvc({ metadata: { annotations: { [SELECTED_NODE_ANNOTATION]: "node-a" } } }),
        storageClass: storageClass({ volumeBindingMode: "WaitForFirstConsumer" }),
      });
      expect(kinds(plan)).toEqual(firstPass);
      const create = plan.steps.find((s) => s.kind === "createPrimePvc");
      expect(create?.pvc.metadata?.annotations).toEqual({
        "hello.example.com/populate-for": `${USER_NAMESPACE}/${PVC_NAME}`,
        [SELECTED_NODE_ANNOTATION]: "node-a",
      });
    });
  });

  it("creates PVC' without a node for immediate binding, even when a provisioner racing for the PVC annotated one", () => {
    const plan = run({
      pvc: pvc({ metadata: { annotations: { [SELECTED_NODE_ANNOTATION]: "node-c" } } }),
      storageClass: storageClass({ volumeBindingMode: "Immediate" }),
    });
    const create = plan.steps.find((s) => s.kind === "createPrimePvc");
    expect(create?.pvc.metadata?.annotations).not.toHaveProperty(SELECTED_NODE_ANNOTATION);
  });

  describe("the first pass", () => {
    it("adds the finalizer, creates PVC', starts the operation and says it is populating", () => {
      expect(run({}, { strategy: untouchable })).toEqual({
        steps: [
          { kind: "addFinalizer" },
          { kind: "setProgress", progress: "populating" },
          {
            kind: "createPrimePvc",
            pvc: {
              apiVersion: "v1",
              kind: "PersistentVolumeClaim",
              metadata: {
                name: `prime-${PVC_UID}`,
                namespace: POPULATOR_NAMESPACE,
                labels: { "app.kubernetes.io/managed-by": "volpop", "volpop.dev/populate-for": PVC_UID },
                annotations: { "hello.example.com/populate-for": `${USER_NAMESPACE}/${PVC_NAME}` },
              },
              spec: {
                accessModes: ["ReadWriteOnce"],
                resources: { requests: { storage: "1Gi" } },
                storageClassName: "csi-fast",
                volumeMode: "Filesystem",
              },
            },
          },
          { kind: "startOperation" },
        ],
        waitingFor: "PVC' to appear",
      });
    });

    it("creates PVC' as the populator's mutatePrimePvc adjusted it", () => {
      const populator = {
        ...fakePopulator(),
        mutatePrimePvc: (prime: V1PersistentVolumeClaim) => {
          prime.metadata = { ...prime.metadata, labels: { ...prime.metadata?.labels, backup: "skip" } };
          return prime;
        },
      };
      const plan = reconcile(observed({}), { populator, strategy: untouchable, settings: settings() });
      const create = plan.steps.find((s) => s.kind === "createPrimePvc");
      expect(create?.pvc.metadata?.labels?.backup).toBe("skip");
    });

    badInputCase(
      {
        id: "sdk-prime-size-changed",
        component: "sdk",
        input: "a populator whose mutatePrimePvc changes the size PVC' requests",
        expected:
          "Warning PopulatorPVCPrimeCreationError: PVC' not created: mutatePrimePvc changed spec storage",
        checks: ["nothing-created"],
      },
      () => {
        const populator = {
          ...fakePopulator(),
          mutatePrimePvc: (prime: V1PersistentVolumeClaim) => {
            if (prime.spec) prime.spec.resources = { requests: { storage: "5Gi" } };
            return prime;
          },
        };
        const plan = reconcile(observed({}), { populator, strategy: untouchable, settings: settings() });
        contained("nothing-created", () => expect(writes(plan)).toEqual([]));
        expect(plan.steps).toEqual([
          {
            kind: "event",
            type: "Warning",
            reason: EventReason.PvcPrimeCreationError,
            message: "PVC' not created: mutatePrimePvc changed spec storage",
          },
        ]);
      },
    );

    it("copies access modes, resources (requests and limits) and volume mode of a Block PVC into PVC', and nothing of the source", () => {
      const claim = pvc({
        metadata: { labels: { team: "a" }, annotations: { note: "x" } },
        spec: {
          accessModes: ["ReadWriteOncePod", "ReadOnlyMany"],
          resources: { requests: { storage: "5Gi" }, limits: { storage: "5Gi" } },
          volumeMode: "Block",
        },
      });
      const prime = primePvcFor(claim, POPULATOR_NAMESPACE, undefined, PREFIX);
      expect(prime.spec).toEqual({
        accessModes: ["ReadWriteOncePod", "ReadOnlyMany"],
        resources: { requests: { storage: "5Gi" }, limits: { storage: "5Gi" } },
        storageClassName: "csi-fast",
        volumeMode: "Block",
      });
      expect(prime.spec?.dataSourceRef).toBeUndefined();
      expect(prime.metadata?.labels).toEqual({
        "app.kubernetes.io/managed-by": "volpop",
        "volpop.dev/populate-for": PVC_UID,
      });
      // Whose it is (the orphan sweep removes only its own), and nothing of the user's PVC's own.
      expect(prime.metadata?.annotations).toEqual({
        "hello.example.com/populate-for": `${USER_NAMESPACE}/${PVC_NAME}`,
      });
    });

    it("leaves the volume mode of PVC' to the API server when the PVC does not set it", () => {
      const prime = primePvcFor(
        pvc({ spec: { volumeMode: undefined } }),
        POPULATOR_NAMESPACE,
        undefined,
        PREFIX,
      );
      expect(prime.spec).not.toHaveProperty("volumeMode");
    });

    it("does not add the finalizer twice when PVC' has to be created again", () => {
      expect(kinds(run({ pvc: ourPvc() }, { strategy: untouchable }))).toEqual([
        "setProgress",
        "createPrimePvc",
        "startOperation",
      ]);
    });
  });

  describe("filling PVC'", () => {
    it("carries out the strategy's plan while it works, adding the finalizer if it is missing", () => {
      const plan = run({ primePvc: primePvc() }, { strategy: fakeStrategy(WORKING) });
      expect(plan).toEqual({
        steps: [{ kind: "addFinalizer" }, { kind: "setProgress", progress: "populating: 50%" }],
        waitingFor: "the populator pod (Running)",
        requeueAfterMs: 10_000,
      });
    });

    it("returns the strategy's plan unchanged once the finalizer is on", () => {
      expect(run({ pvc: ourPvc(), primePvc: primePvc() }, { strategy: fakeStrategy(WORKING) })).toEqual(
        WORKING_PLAN,
      );
    });

    it("hands the strategy the observed state, the populator, the settings and the validated source", () => {
      const strategy = fakeStrategy(WORKING);
      const populator = fakePopulator();
      const seen = observed({ pvc: ourPvc(), primePvc: primePvc() });
      const tuned = settings({ maxAttempts: 3 });
      reconcile(seen, { populator, strategy, settings: tuned });
      expect(strategy.fills).toEqual([
        {
          observed: seen,
          populator,
          settings: tuned,
          prefix: PREFIX,
          source: {
            namespace: USER_NAMESPACE,
            name: SOURCE_NAME,
            uid: SOURCE_UID,
            spec: { fileName: "hello.txt", contents: "Hello, world!" },
          },
        },
      ]);
    });

    it.each<[string, Partial<Observed>]>([
      [
        "PVC' has no volume yet",
        { primePvc: primePvc({ spec: { volumeName: undefined } }), primePv: undefined },
      ],
      ["the PV of PVC' is not in the cache yet", { primePvc: primePvc(), primePv: undefined }],
    ])("waits for PVC' to bind when the data is written but %s", (_, seen) => {
      expect(run({ pvc: ourPvc(), ...seen }, { strategy: fakeStrategy({ state: "done" }) })).toEqual({
        steps: [],
        waitingFor: "PVC' to bind",
      });
    });

    it("hands the PV of PVC' to the user's PVC once the data is written", () => {
      const plan = run(
        { pvc: ourPvc(), primePvc: primePvc(), primePv: pv() },
        { strategy: fakeStrategy({ state: "done" }) },
      );
      expect(plan).toEqual({
        steps: [{ kind: "rebindPv", pvName: PV_NAME }],
        waitingFor: "the PV to bind to the PVC",
      });
    });

    it("waits for the PV controller once the PV already claims the user's PVC", () => {
      const claimed = pv({
        spec: {
          claimRef: {
            kind: "PersistentVolumeClaim",
            namespace: USER_NAMESPACE,
            name: PVC_NAME,
            uid: PVC_UID,
          },
        },
      });
      const plan = run(
        { pvc: ourPvc(), primePvc: primePvc({ status: { phase: "Lost" } }), primePv: claimed },
        { strategy: fakeStrategy({ state: "done" }) },
      );
      expect(plan).toEqual({ steps: [], waitingFor: "the PV controller to bind the PVC" });
    });

    it("rebinds a PV that claims an earlier PVC of the same name", () => {
      const stale = pv({
        spec: { claimRef: { namespace: USER_NAMESPACE, name: PVC_NAME, uid: "uid-of-a-deleted-pvc" } },
      });
      const plan = run(
        { pvc: ourPvc(), primePvc: primePvc(), primePv: stale },
        { strategy: fakeStrategy({ state: "done" }) },
      );
      expect(kinds(plan)).toEqual(["rebindPv"]);
    });
  });

  describe("with the Pod strategy", () => {
    const withPod = (seen: Partial<Observed>) =>
      run({ pvc: ourPvc(), primePvc: primePvc(), primePv: pv(), ...seen }, { strategy: podStrategy });

    it("creates the populator pod once PVC' exists", () => {
      const plan = withPod({});
      expect(kinds(plan)).toEqual(["createPod"]);
      expect(plan.waitingFor).toBe("the populator pod");
    });

    it("waits for a running pod and looks again for progress", () => {
      expect(withPod({ pod: pod() })).toEqual({
        steps: [],
        waitingFor: "the populator pod (Running)",
        requeueAfterMs: 10_000,
      });
    });

    it("rebinds the PV once the pod succeeded", () => {
      expect(withPod({ pod: pod({ status: { phase: "Succeeded" } }) }).steps).toEqual([
        { kind: "rebindPv", pvName: PV_NAME },
      ]);
    });
  });

  describe("with the CSI fast path", () => {
    const chosenPrime = (extra: Record<string, string> = {}) =>
      primePvc({
        metadata: {
          annotations: {
            [populateStrategyAnnotation(PREFIX)]: FAST_PATH,
            [fastPathBackendAnnotation(PREFIX)]: FASTPATH_ENDPOINT,
            ...extra,
          },
        },
      });
    const withFastPath = (seen: Partial<Observed>) =>
      run(
        {
          pvc: ourPvc(),
          primePvc: primePvc(),
          primePv: pv(),
          strategyState: { backends: [backendView()], operation: undefined },
          ...seen,
        },
        { strategy: csiFastPathStrategy({ backends: [{ endpoint: FASTPATH_ENDPOINT }] }) },
      );

    it("records the decision and asks the backend once PVC' is bound", () => {
      expect(kinds(withFastPath({}))).toEqual(["annotatePrimePvc", "runtime", "event", "runtime"]);
    });

    it("rebinds the PV once the operation succeeded", () => {
      const plan = withFastPath({
        primePvc: chosenPrime(),
        strategyState: { backends: [backendView()], operation: operationView({ phase: "succeeded" }) },
      });
      expect(plan.steps).toEqual([{ kind: "rebindPv", pvName: PV_NAME }]);
    });

    it("cancels the operation before deleting PVC' when the PVC is deleted mid-population", () => {
      const plan = withFastPath({
        pvc: ourPvc({ metadata: { deletionTimestamp: new Date(NOW) } }),
        primePvc: chosenPrime(),
        strategyState: { backends: [backendView()], operation: operationView() },
      });
      expect(plan.steps).toEqual([
        { kind: "runtime", action: { kind: "cancel", endpoint: FASTPATH_ENDPOINT } },
        { kind: "deletePrimePvc" },
        { kind: "removeFinalizer" },
        { kind: "finishOperation", result: "abandoned" },
      ]);
    });

    it("cancels the finished operation once the PV is handed over, and says the fast path filled it", () => {
      const plan = withFastPath({
        pvc: ourPvc({ spec: { volumeName: PV_NAME }, status: { phase: "Bound" } }),
        primePvc: chosenPrime(),
      });
      expect(plan.steps).toEqual([
        finishedPopulation[0],
        { kind: "finishOperation", result: "success", strategy: FAST_PATH },
        { kind: "runtime", action: { kind: "cancel", endpoint: FASTPATH_ENDPOINT } },
        { kind: "deletePrimePvc" },
        completed,
        { kind: "removeFinalizer" },
      ]);
    });

    it("waits without a word once a fast-path population was given up", () => {
      const plan = withFastPath({ primePvc: chosenPrime({ [populateStateAnnotation(PREFIX)]: "failed" }) });
      expect(plan).toEqual({ steps: [], waitingFor: "someone to act on the failed population" });
    });
  });
});

describe("reconcileOrphan: what a vanished PVC's population left behind", () => {
  const ours = { annotations: { "hello.example.com/populate-for": `${USER_NAMESPACE}/${PVC_NAME}` } };
  // The vanished PVC: only its uid is known.
  const gone = (seen: Partial<Observed>) =>
    reconcileOrphan(observed({ pvc: { metadata: { uid: PVC_UID } }, source: undefined, ...seen }), {
      strategy: podStrategy,
      prefix: PREFIX,
    });

  it("removes its own PVC' and populator pod", () => {
    expect(kinds(gone({ primePvc: primePvc({ metadata: ours }), pod: pod({ metadata: ours }) }))).toEqual([
      "deletePod",
      "deletePrimePvc",
    ]);
  });

  it("removes its own pod when PVC' is gone already", () => {
    expect(kinds(gone({ primePvc: undefined, pod: pod({ metadata: ours }) }))).toEqual(["deletePod"]);
  });

  it("removes an upstream pod left beside its own PVC'", () => {
    expect(kinds(gone({ primePvc: primePvc({ metadata: ours }), pod: pod() }))).toEqual([
      "deletePod",
      "deletePrimePvc",
    ]);
  });

  it("leaves alone temporaries that do not say they are its own (another populator's, upstream's)", () => {
    expect(kinds(gone({ primePvc: primePvc(), pod: pod() }))).toEqual([]);
    const other = { annotations: { "other.example.com/populate-for": "apps/data" } };
    expect(kinds(gone({ primePvc: primePvc({ metadata: other }), pod: pod({ metadata: other }) }))).toEqual(
      [],
    );
  });

  it("leaves alone what is being deleted already", () => {
    const deleting = { ...ours, deletionTimestamp: new Date(0) };
    expect(
      kinds(gone({ primePvc: primePvc({ metadata: deleting }), pod: pod({ metadata: deleting }) })),
    ).toEqual([]);
    expect(kinds(gone({ primePvc: primePvc({ metadata: deleting }), pod: pod({ metadata: ours }) }))).toEqual(
      ["deletePod"],
    );
  });

  it("does nothing when nothing is left", () => {
    expect(gone({ primePvc: undefined, pod: undefined })).toEqual({ steps: [] });
  });
});
