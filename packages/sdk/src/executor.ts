import {
  type CoreV1Api,
  type KubernetesObject,
  PatchStrategy,
  setHeaderOptions,
  type V1ConfigMap,
  type V1ObjectReference,
  type V1PersistentVolumeClaim,
  type V1Secret,
} from "@kubernetes/client-node";
import { ApiError, isAlreadyExists, isNotFound, TransientError, toVolpopError } from "./errors.ts";
import type { EventRecorder } from "./event-recorder.ts";
import { EventReason, REFUSED_BY_API_SERVER } from "./events.ts";
import { failpoint } from "./failpoints.ts";
import type { PopulatorMetrics } from "./metrics.ts";
import {
  MANAGED_BY,
  MANAGED_BY_LABEL,
  POPULATE_FOR_LABEL,
  populatedFromAnnotation,
  populateProgressAnnotation,
  populatorPodName,
  primePvcName,
  targetProtectionFinalizer,
} from "./names.ts";
import type { Step } from "./plan.ts";
import { sourceNamespace } from "./reconcile.ts";
import type { StrategyRuntime } from "./strategy.ts";

const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
const strategicMergePatch = setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch);

export interface ExecutorContext {
  readonly core: CoreV1Api;
  readonly events: EventRecorder;
  readonly metrics: PopulatorMetrics;
  readonly prefix: string;
  /** Namespace of PVC' and populator pods. */
  readonly namespace: string;
  readonly strategyName: string;
  /** Carries out the `runtime` steps, which only the strategy can. */
  readonly runtime?: StrategyRuntime<unknown, never> | undefined;
  /**
   * Told of every object a step wrote, as the API server returned it, so that the controller can
   * wait for its caches to show the write before deciding again (see `controller.ts`).
   */
  readonly wrote?: (
    kind: "PersistentVolumeClaim" | "Pod" | "PersistentVolume",
    object: KubernetesObject,
  ) => void;
}

/**
 * Carries out a plan's steps against the API server, in order. Every step can be repeated safely:
 * creates tolerate AlreadyExists and deletes NotFound, finalizers are added and removed as list
 * items; so a reconcile that ran on a cache behind the last one's writes (the controller normally
 * waits for its own, see `wrote`) does no harm.
 */
export async function execute(
  steps: readonly Step[],
  pvc: V1PersistentVolumeClaim,
  context: ExecutorContext,
): Promise<void> {
  const { core, prefix, namespace } = context;
  const name = pvc.metadata?.name ?? "";
  const pvcNamespace = pvc.metadata?.namespace ?? "";
  const uid = pvc.metadata?.uid ?? "";
  const reference: V1ObjectReference = {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    name,
    namespace: pvcNamespace,
    uid,
    ...(pvc.metadata?.resourceVersion ? { resourceVersion: pvc.metadata.resourceVersion } : {}),
  };
  for (let index = 0; index < steps.length; index++) {
    const step = steps[index] as Step;
    const first = index;
    await failpoint(`before:${stepName(step, context.runtime)}`);
    switch (step.kind) {
      case "event":
        await context.events.record(reference, step.type, step.reason, step.message);
        break;
      case "addFinalizer":
      case "removeFinalizer":
      case "setProgress": {
        // Adjacent changes to the user's PVC go out as one patch.
        let end = index + 1;
        while (end < steps.length && isPvcMetadataStep(steps[end] as Step)) end++;
        await patchPvcMetadata(steps.slice(index, end) as PvcMetadataStep[], pvc, context);
        index = end - 1;
        break;
      }
      case "createPrimePvc": {
        const created = await reportRefusal(
          ignore(isAlreadyExists, core.createNamespacedPersistentVolumeClaim({ namespace, body: step.pvc })),
          {
            context,
            reference,
            reason: EventReason.PvcPrimeCreationError,
            subject: `PVC' ${namespace}/${primePvcName(uid)}`,
          },
        );
        if (created) context.wrote?.("PersistentVolumeClaim", created);
        break;
      }
      case "deletePrimePvc":
        await ignore(
          isNotFound,
          core.deleteNamespacedPersistentVolumeClaim({ name: primePvcName(uid), namespace }),
        );
        break;
      case "annotatePrimePvc": {
        // Decisions and failure counts live here: the next reconcile must see them, or it would
        // decide (and count) again.
        const patched = await core.patchNamespacedPersistentVolumeClaim(
          { name: primePvcName(uid), namespace, body: { metadata: { annotations: step.annotations } } },
          mergePatch,
        );
        context.wrote?.("PersistentVolumeClaim", patched);
        break;
      }
      case "createPod": {
        const created = await reportRefusal(
          ignore(isAlreadyExists, core.createNamespacedPod({ namespace, body: step.pod })),
          {
            context,
            reference,
            reason: EventReason.CreationError,
            subject: `Populator pod ${namespace}/${step.pod.metadata?.name ?? populatorPodName(uid)}`,
          },
        );
        if (created) context.wrote?.("Pod", created);
        if (created !== undefined && step.announce) {
          await context.events.record(reference, "Normal", step.announce.reason, step.announce.message);
        }
        break;
      }
      case "deletePod":
        await ignore(
          isNotFound,
          core.deleteNamespacedPod({ name: populatorPodName(uid), namespace, gracePeriodSeconds: 0 }),
        );
        break;
      case "copyObject":
        await copyObject(step, context, reference);
        break;
      case "rebindPv": {
        const patched = await core.patchPersistentVolume(
          {
            name: step.pvName,
            body: {
              metadata: {
                annotations: {
                  [populatedFromAnnotation(prefix)]:
                    `${sourceNamespace(pvc)}/${pvc.spec?.dataSourceRef?.name ?? ""}`,
                },
              },
              spec: {
                claimRef: {
                  namespace: pvcNamespace,
                  name,
                  uid,
                  ...(pvc.metadata?.resourceVersion ? { resourceVersion: pvc.metadata.resourceVersion } : {}),
                },
              },
            },
          },
          mergePatch,
        );
        context.wrote?.("PersistentVolume", patched);
        break;
      }
      case "startOperation":
        context.metrics.startOperation(uid);
        break;
      case "finishOperation":
        if (context.metrics.finishOperation(uid, step.result)) {
          context.metrics.recordStrategy(step.strategy ?? context.strategyName, step.result);
        }
        break;
      case "runtime":
        if (!context.runtime) throw new Error("a runtime step needs the strategy's runtime");
        await context.runtime.perform(step.action as never, uid);
        break;
    }
    // Steps sent together (one patch) are all done now.
    for (const done of steps.slice(first, index + 1))
      await failpoint(`after:${stepName(done, context.runtime)}`);
  }
}

/**
 * What a step is called in failpoints: its kind, and for a runtime step also its action's name when
 * the strategy's runtime gives one (`runtime:populate`), so that a test can stop the controller at
 * one action of a strategy rather than at the first runtime step of any kind.
 */
export function stepName(step: Step, runtime: StrategyRuntime<unknown, never> | undefined): string {
  if (step.kind !== "runtime") return step.kind;
  const action = runtime?.actionName?.(step.action as never);
  return action ? `runtime:${action}` : "runtime";
}

type PvcMetadataStep = Extract<Step, { kind: "addFinalizer" | "removeFinalizer" | "setProgress" }>;

function isPvcMetadataStep(step: Step): step is PvcMetadataStep {
  return step.kind === "addFinalizer" || step.kind === "removeFinalizer" || step.kind === "setProgress";
}

/**
 * One strategic merge patch of the user's PVC for a run of finalizer and progress steps. Finalizers
 * are added and removed as list items (`$deleteFromPrimitiveList`), not by sending the whole list:
 * nothing anyone else put there can be lost, so no resourceVersion precondition is needed, and a
 * reconcile working from a cache that has not yet seen its previous patch repeats it harmlessly
 * instead of failing with a conflict. (The API server refuses new finalizers on a PVC being deleted.)
 */
async function patchPvcMetadata(
  steps: readonly PvcMetadataStep[],
  pvc: V1PersistentVolumeClaim,
  context: ExecutorContext,
): Promise<void> {
  const finalizer = targetProtectionFinalizer(context.prefix);
  const progressKey = populateProgressAnnotation(context.prefix);
  const metadata: Record<string, unknown> = {};
  let adds = false;
  for (const step of steps) {
    if (step.kind === "addFinalizer") {
      metadata.finalizers = [finalizer];
      adds = true;
    } else if (step.kind === "removeFinalizer") {
      metadata["$deleteFromPrimitiveList/finalizers"] = [finalizer];
    } else if (pvc.metadata?.annotations?.[progressKey] !== step.progress) {
      metadata.annotations = { [progressKey]: step.progress };
    }
  }
  if (Object.keys(metadata).length === 0) return;
  const patch = context.core.patchNamespacedPersistentVolumeClaim(
    { name: pvc.metadata?.name ?? "", namespace: pvc.metadata?.namespace ?? "", body: { metadata } },
    strategicMergePatch,
  );
  // A PVC deleted meanwhile needs no progress or finalizer removal; but a finalizer that could not be
  // added must stop the plan before it creates anything the finalizer would have protected.
  const patched = await (adds ? patch : ignore(isNotFound, patch));
  if (patched) context.wrote?.("PersistentVolumeClaim", patched);
}

/**
 * Copies a Secret or ConfigMap the populator pod needs from the source's namespace into the
 * populator namespace, owned by PVC' so the garbage collector removes it with PVC'.
 */
async function copyObject(
  step: Extract<Step, { kind: "copyObject" }>,
  context: ExecutorContext,
  reference: V1ObjectReference,
): Promise<void> {
  const { core, namespace } = context;
  const { object, copyName } = step;
  const read =
    object.kind === "Secret"
      ? core.readNamespacedSecret({ name: object.name, namespace: object.namespace })
      : core.readNamespacedConfigMap({ name: object.name, namespace: object.namespace });
  let original: V1Secret | V1ConfigMap;
  try {
    original = await read;
  } catch (error) {
    if (!isNotFound(error)) throw error;
    const message = `${object.kind} ${object.namespace}/${object.name} named by the data source not found; waiting for it`;
    await context.events.record(reference, "Warning", EventReason.DataSourceNotFound, message);
    throw new TransientError(message, { cause: error });
  }
  const uid = reference.uid ?? "";
  const metadata = {
    name: copyName,
    namespace,
    labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [POPULATE_FOR_LABEL]: uid },
    ownerReferences: [
      { apiVersion: "v1", kind: "PersistentVolumeClaim", name: primePvcName(uid), uid: step.ownerUid },
    ],
  };
  if (object.kind === "Secret") {
    const secret = original as V1Secret;
    const type = secret.type ?? "Opaque";
    if (object.secretTypes && !object.secretTypes.includes(type)) {
      const message = `Secret ${object.namespace}/${object.name} named by the data source is of type ${type}; only ${object.secretTypes.join(" or ")} can be used`;
      await context.events.record(reference, "Warning", EventReason.DataSourceInvalid, message);
      throw new TransientError(message);
    }
    const body = {
      metadata,
      ...(secret.type ? { type: secret.type } : {}),
      ...(secret.data ? { data: secret.data } : {}),
    };
    await createOrReplace(
      () => core.createNamespacedSecret({ namespace, body }),
      () => core.replaceNamespacedSecret({ name: copyName, namespace, body }),
    );
  } else {
    const configMap = original as V1ConfigMap;
    const body = {
      metadata,
      ...(configMap.data ? { data: configMap.data } : {}),
      ...(configMap.binaryData ? { binaryData: configMap.binaryData } : {}),
    };
    await createOrReplace(
      () => core.createNamespacedConfigMap({ namespace, body }),
      () => core.replaceNamespacedConfigMap({ name: copyName, namespace, body }),
    );
  }
}

// A copy left by an earlier attempt is replaced: the user may have fixed the original since.
async function createOrReplace(
  create: () => Promise<unknown>,
  replace: () => Promise<unknown>,
): Promise<void> {
  try {
    await create();
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
    await replace();
  }
}

/**
 * Rejects as `call` does, and when the API server answered the create with an error (a quota, Pod
 * Security admission, a LimitRange, an admission webhook, missing RBAC), first says so in a Warning
 * event on the user's PVC: otherwise only the controller's log would, and the user sees a PVC that
 * waits without a word. A request that never reached the API server (network) records nothing: the
 * event could not be recorded either, and the controller retries it anyway.
 */
async function reportRefusal<T>(
  call: Promise<T>,
  refusal: {
    readonly context: ExecutorContext;
    readonly reference: V1ObjectReference;
    readonly reason: string;
    readonly subject: string;
  },
): Promise<T> {
  try {
    return await call;
  } catch (error) {
    const failure = toVolpopError(error);
    if (failure instanceof ApiError && isRefusal(failure)) {
      await refusal.context.events.record(
        refusal.reference,
        "Warning",
        refusal.reason,
        `${refusal.subject} not created: ${REFUSED_BY_API_SERVER}: ${failure.message}`,
      );
    }
    throw error;
  }
}

/**
 * A refusal someone must act on: a 4xx answer (admission, quota, RBAC, an invalid object) other than
 * a timeout, a conflict or throttling (408, 409, 429), or an admission webhook that fails the call (a
 * 500 that names it: a broken policy webhook blocks every population until it is fixed). Other 5xx
 * (etcd timing out, the API server overloaded) are passing states the retry goes through; reporting
 * them would only fill the PVC with warnings.
 */
function isRefusal(error: ApiError): boolean {
  if (error.status >= 400 && error.status < 500) return ![408, 409, 429].includes(error.status);
  return error.status === 500 && /failed calling webhook/.test(error.message);
}

async function ignore<T>(expected: (error: unknown) => boolean, call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (error) {
    if (expected(error)) return undefined;
    throw error;
  }
}
