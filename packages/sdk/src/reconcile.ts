import type { KubernetesObject, V1PersistentVolume, V1PersistentVolumeClaim } from "@kubernetes/client-node";
import { EventReason } from "./events.ts";
import { applyMutator, primePvcProblems } from "./mutators.ts";
import {
  MANAGED_BY,
  MANAGED_BY_LABEL,
  POPULATE_FOR_LABEL,
  populatedFromAnnotation,
  populateForAnnotation,
  populateStateAnnotation,
  populateStrategyAnnotation,
  primePvcName,
  SELECTED_NODE_ANNOTATION,
  STORAGE_PROVISIONER_ANNOTATIONS,
  targetProtectionFinalizer,
} from "./names.ts";
import type { Observed } from "./observed.ts";
import { nothing, type Plan, type Step } from "./plan.ts";
import type { Populator, SourceKind } from "./populator.ts";
import { consumerNode } from "./selected-node.ts";
import type { PopulationSettings } from "./settings.ts";
import type { Strategy } from "./strategy.ts";

/** What `reconcile` needs besides the observed state. */
export interface ReconcileContext {
  readonly populator: Populator<unknown>;
  readonly strategy: Strategy;
  readonly settings: PopulationSettings;
}

/** True when `pvc.spec.dataSourceRef` names this populator's kind (group and kind, as upstream). */
export function refersTo(pvc: V1PersistentVolumeClaim, kind: SourceKind): boolean {
  const ref = pvc.spec?.dataSourceRef;
  return ref !== undefined && (ref.apiGroup ?? "") === kind.group && ref.kind === kind.kind;
}

/**
 * True for the PVs a population of this populator can look at: bound to a PVC' (`prime-…` in the
 * populator's namespace), or already handed over by it (they carry its populated-from annotation,
 * set in the same patch as the new claimRef). The controller caches only these, so that a cluster's
 * other PVs, thousands of them, cost it nothing; both tests depend on the PV alone, and a PV that
 * passes keeps passing through the hand-over.
 */
export function isPopulationPv(pv: V1PersistentVolume, namespace: string, prefix: string): boolean {
  const claim = pv.spec?.claimRef;
  if (claim?.namespace === namespace && (claim.name?.startsWith("prime-") ?? false)) return true;
  return pv.metadata?.annotations?.[populatedFromAnnotation(prefix)] !== undefined;
}

/** Namespace of the source object: `dataSourceRef.namespace` or the PVC's own. */
export function sourceNamespace(pvc: V1PersistentVolumeClaim): string {
  return pvc.spec?.dataSourceRef?.namespace || pvc.metadata?.namespace || "";
}

/**
 * How long a new PVC is left to kube-controller-manager's PV controller before the first write to it.
 * The PV controller updates every new claim it will provision (the storage-provisioner annotation) with
 * a plain Update from its cache; a finalizer patched in between makes that Update fail, and the user
 * reads a `ProvisioningFailed ... the object has been modified` Warning on a PVC that is fine. Waiting
 * for the annotation costs one watch event; the grace only runs out where the PV controller has
 * nothing to do (WaitForFirstConsumer before a node is chosen) or does not run.
 */
export const PV_CONTROLLER_GRACE_MS = 5_000;

function pvControllerHasSeen(pvc: V1PersistentVolumeClaim): boolean {
  const annotations = pvc.metadata?.annotations ?? {};
  return STORAGE_PROVISIONER_ANNOTATIONS.some((key) => annotations[key] !== undefined);
}

/** A plan that waits while the PV controller may still be about to Update a new claim. */
function waitForPvController(pvc: V1PersistentVolumeClaim, now: number): Plan | undefined {
  if (pvControllerHasSeen(pvc)) return undefined;
  const written = lastWrittenAt(pvc);
  if (written === undefined) return undefined;
  // Timestamps have whole seconds: count the grace from the end of that second.
  const waitedMs = now - (written + 1_000);
  // A clock this far behind the API server's cannot count the grace: better not wait at all.
  if (waitedMs >= PV_CONTROLLER_GRACE_MS || waitedMs < -PV_CONTROLLER_GRACE_MS) return undefined;
  return {
    steps: [],
    waitingFor: "kube-controller-manager to take the PVC in hand",
    requeueAfterMs: PV_CONTROLLER_GRACE_MS - Math.max(0, waitedMs),
  };
}

/**
 * When the claim was last written: its creation, or a later write by anyone (managedFields). With
 * WaitForFirstConsumer, the PV controller's turn comes when the scheduler writes the selected node,
 * long after the claim was created.
 */
function lastWrittenAt(pvc: V1PersistentVolumeClaim): number | undefined {
  const times = [pvc.metadata?.creationTimestamp, ...(pvc.metadata?.managedFields ?? []).map((f) => f.time)]
    .map((t) => (t === undefined ? Number.NaN : new Date(t).getTime()))
    .filter((t) => !Number.isNaN(t));
  return times.length === 0 ? undefined : Math.max(...times);
}

// Provisioners built into Kubernetes cannot be populated through a prime PVC: upstream skips them too.
function isInTreeProvisioner(provisioner: string): boolean {
  return provisioner.startsWith("kubernetes.io/");
}

/**
 * Decides the next step of one PVC's population from what is observed. Pure: no I/O, no clock but
 * `observed.now`, so every branch is table-testable. The flow follows upstream lib-volume-populator:
 * PVC' in the populator namespace, the strategy fills it, its PV is handed to the user's PVC, then
 * everything temporary is removed and the finalizer released.
 */
export function reconcile(observed: Observed, context: ReconcileContext): Plan {
  const { pvc, primePvc } = observed;
  const { populator, strategy, settings } = context;
  const prefix = populator.prefix;
  if (!refersTo(pvc, populator.source)) return nothing;
  const finalizer = targetProtectionFinalizer(prefix);
  const hasFinalizer = pvc.metadata?.finalizers?.includes(finalizer) ?? false;
  // `last` goes just before the finalizer's removal, so that the executor sends both in one patch.
  const cleanup = (...last: Step[]): Step[] => [
    ...strategy.cleanup(observed, prefix),
    ...(primePvc ? [{ kind: "deletePrimePvc" } as const] : []),
    ...last,
    ...(hasFinalizer ? [{ kind: "removeFinalizer" } as const] : []),
  ];

  if (pvc.metadata?.deletionTimestamp) {
    if (!hasFinalizer) return nothing;
    return { steps: [...cleanup(), { kind: "finishOperation", result: "abandoned" }] };
  }

  if (pvc.spec?.volumeName) {
    const usedStrategy = primePvc?.metadata?.annotations?.[populateStrategyAnnotation(prefix)];
    // Bound: the population is over (or the PVC was bound by hand and is none of our business).
    if (!hasFinalizer && !primePvc && !observed.pod) return nothing;
    if (!hasFinalizer) return { steps: cleanup() };
    return {
      steps: [
        {
          kind: "event",
          type: "Normal",
          reason: EventReason.Finished,
          message: `Populated from ${describeSource(pvc)}`,
        },
        { kind: "finishOperation", result: "success", ...(usedStrategy ? { strategy: usedStrategy } : {}) },
        ...cleanup({ kind: "setProgress", progress: "complete" }),
      ],
    };
  }

  if (primePvc?.metadata?.annotations?.[populateStateAnnotation(prefix)] === "failed") {
    // Given up earlier and reported then; deleting the PVC (or this annotation) starts over.
    return { steps: [], waitingFor: "someone to act on the failed population" };
  }

  // Before anything that writes to the PVC, progress annotations of the warnings below included.
  if (!hasFinalizer && !primePvc) {
    const waiting = waitForPvController(pvc, observed.now);
    if (waiting) return waiting;
  }

  const ref = pvc.spec?.dataSourceRef;
  const namespace = pvc.metadata?.namespace ?? "";
  const sourceNs = sourceNamespace(pvc);
  if (sourceNs !== namespace) {
    if (!settings.allowCrossNamespace) {
      return warn(
        EventReason.CrossNamespaceNotAllowed,
        `dataSourceRef names namespace ${sourceNs}, but this populator does not allow cross-namespace sources`,
      );
    }
    if (!observed.referenceGranted) {
      return {
        ...warn(
          EventReason.CrossNamespaceNotGranted,
          `no ReferenceGrant in namespace ${sourceNs} allows PersistentVolumeClaims from ${namespace} to use ${ref?.kind} ${ref?.name}`,
        ),
        requeueAfterMs: settings.referenceGrantRecheckMs,
      };
    }
  }

  const source = observed.source;
  if (!source) {
    return warn(
      EventReason.DataSourceNotFound,
      `${describeSource(pvc)} not found; waiting for it to be created`,
      {
        progress: "waiting for the data source",
      },
    );
  }
  const checked = populator.validate(source.spec);
  if (!checked.ok) {
    return warn(
      EventReason.DataSourceInvalid,
      `${describeSource(pvc)} is invalid: ${checked.problems.join("; ")}`,
      {
        progress: "data source invalid",
      },
    );
  }

  const storageClassName = pvc.spec?.storageClassName;
  if (!storageClassName) return { steps: [], waitingFor: "a storage class name on the PVC" };
  const storageClass = observed.storageClass;
  if (!storageClass) return { steps: [], waitingFor: `StorageClass ${storageClassName}` };
  if (isInTreeProvisioner(storageClass.provisioner)) return nothing;
  const waitForConsumer = storageClass.volumeBindingMode === "WaitForFirstConsumer";
  const selectedNode = consumerNode(pvc, storageClass);
  if (waitForConsumer && !selectedNode) {
    return { steps: [], waitingFor: "a pod using the PVC (WaitForFirstConsumer)" };
  }

  const validSource = {
    namespace: sourceNs,
    name: source.metadata?.name ?? "",
    uid: source.metadata?.uid ?? "",
    spec: checked.spec,
  };
  const steps: Step[] = hasFinalizer ? [] : [{ kind: "addFinalizer" }];
  if (!primePvc) {
    const mutate = populator.mutatePrimePvc;
    const built = applyMutator(
      primePvcFor(pvc, settings.namespace, selectedNode, prefix),
      mutate && ((prime: V1PersistentVolumeClaim) => mutate(prime, { pvc, source: validSource })),
      primePvcProblems,
    );
    if (!built.ok) {
      return warn(
        EventReason.PvcPrimeCreationError,
        `PVC' not created: mutatePrimePvc ${built.problems.join("; ")}`,
      );
    }
    return {
      steps: [
        ...steps,
        // Beside the finalizer: one patch of the user's PVC.
        { kind: "setProgress", progress: "populating" },
        { kind: "createPrimePvc", pvc: built.object },
        { kind: "startOperation" },
      ],
      waitingFor: "PVC' to appear",
    };
  }

  const outcome = strategy.fill({ observed, populator, prefix, settings, source: validSource });
  if (outcome.state === "working") return { ...outcome.plan, steps: [...steps, ...outcome.plan.steps] };

  const pvName = primePvc.spec?.volumeName;
  if (!pvName || !observed.primePv) return { steps, waitingFor: "PVC' to bind" };
  if (observed.primePv.spec?.claimRef?.uid !== pvc.metadata?.uid) {
    return { steps: [...steps, { kind: "rebindPv", pvName }], waitingFor: "the PV to bind to the PVC" };
  }
  return { steps, waitingFor: "the PV controller to bind the PVC" };
}

function warn(reason: string, message: string, extra: { progress?: string } = {}): Plan {
  return {
    steps: [
      { kind: "event", type: "Warning", reason, message },
      ...(extra.progress ? [{ kind: "setProgress", progress: extra.progress } as const] : []),
    ],
    waitingFor: message,
  };
}

function describeSource(pvc: V1PersistentVolumeClaim): string {
  const ref = pvc.spec?.dataSourceRef;
  return `${ref?.kind} ${sourceNamespace(pvc)}/${ref?.name}`;
}

/**
 * What is left of a population whose user's PVC is gone: deleted while the controller was down, or
 * its finalizer stripped by hand. `observed.pvc` stands for the vanished PVC (its uid only). Only
 * temporaries that say they are this populator's (see {@link populateForAnnotation}) are removed:
 * another populator sharing the namespace, or an upstream controller, may own the rest. Pure.
 */
export function reconcileOrphan(
  observed: Observed,
  context: Pick<ReconcileContext, "strategy"> & { prefix: string },
): Plan {
  // What is being deleted already is left to finish: its clean-up ran, or runs, with its PVC.
  const present = <T extends KubernetesObject>(object: T | undefined) =>
    object?.metadata?.deletionTimestamp ? undefined : object;
  const primePvc = present(observed.primePvc);
  const pod = present(observed.pod);
  const ours = (object: KubernetesObject | undefined) =>
    object?.metadata?.annotations?.[populateForAnnotation(context.prefix)] !== undefined;
  if (!ours(primePvc) && !ours(pod)) return nothing;
  return {
    steps: [
      ...context.strategy.cleanup({ ...observed, primePvc, pod }, context.prefix),
      ...(primePvc ? [{ kind: "deletePrimePvc" } as const] : []),
    ],
  };
}

/** PVC': the same request as the user's PVC, in the populator namespace, where the data is written. */
export function primePvcFor(
  pvc: V1PersistentVolumeClaim,
  namespace: string,
  selectedNode: string | undefined,
  prefix: string,
): V1PersistentVolumeClaim {
  const uid = pvc.metadata?.uid ?? "";
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: {
      name: primePvcName(uid),
      namespace,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [POPULATE_FOR_LABEL]: uid },
      annotations: {
        [populateForAnnotation(prefix)]: `${pvc.metadata?.namespace}/${pvc.metadata?.name}`,
        ...(selectedNode ? { [SELECTED_NODE_ANNOTATION]: selectedNode } : {}),
      },
    },
    spec: {
      accessModes: pvc.spec?.accessModes ?? [],
      resources: { ...pvc.spec?.resources, requests: pvc.spec?.resources?.requests ?? {} },
      ...(pvc.spec?.storageClassName ? { storageClassName: pvc.spec.storageClassName } : {}),
      ...(pvc.spec?.volumeMode ? { volumeMode: pvc.spec.volumeMode } : {}),
    },
  };
}
