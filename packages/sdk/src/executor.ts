import {
  type CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1ConfigMap,
  type V1ObjectReference,
  type V1PersistentVolumeClaim,
  type V1Secret,
} from "@kubernetes/client-node";
import { isAlreadyExists, isNotFound, TransientError } from "./errors.ts";
import type { EventRecorder } from "./event-recorder.ts";
import { EventReason } from "./events.ts";
import type { PopulatorMetrics } from "./metrics.ts";
import {
  fastPathBackendAnnotation,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  POPULATE_FOR_LABEL,
  populatedFromAnnotation,
  populateProgressAnnotation,
  populateStrategyAnnotation,
  populatorPodName,
  primePvcName,
  targetProtectionFinalizer,
} from "./names.ts";
import type { Step } from "./plan.ts";
import { sourceNamespace } from "./reconcile.ts";
import type { StrategyRuntime } from "./strategy.ts";

const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

export interface ExecutorContext {
  readonly core: CoreV1Api;
  readonly events: EventRecorder;
  readonly metrics: PopulatorMetrics;
  readonly prefix: string;
  /** Namespace of PVC' and populator pods. */
  readonly namespace: string;
  readonly strategyName: string;
  /** Carries out the steps only the strategy can (fast-path calls). */
  readonly runtime?: StrategyRuntime | undefined;
}

/**
 * Carries out a plan's steps against the API server, in order. Creates tolerate AlreadyExists and
 * deletes NotFound, because a reconcile may run on a cache that has not yet seen the last one's
 * writes; patches of the user's PVC carry its resourceVersion, so a stale view fails with a conflict
 * (and the key is retried) instead of overwriting someone's change.
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
  const finalizer = targetProtectionFinalizer(prefix);
  for (const step of steps) {
    switch (step.kind) {
      case "event":
        await context.events.record(reference, step.type, step.reason, step.message);
        break;
      case "addFinalizer":
      case "removeFinalizer": {
        const current = pvc.metadata?.finalizers ?? [];
        const finalizers =
          step.kind === "addFinalizer"
            ? [...new Set([...current, finalizer])]
            : current.filter((f) => f !== finalizer);
        await core.patchNamespacedPersistentVolumeClaim(
          {
            name,
            namespace: pvcNamespace,
            body: { metadata: { finalizers, resourceVersion: pvc.metadata?.resourceVersion } },
          },
          mergePatch,
        );
        break;
      }
      case "setProgress": {
        const key = populateProgressAnnotation(prefix);
        if (pvc.metadata?.annotations?.[key] === step.progress) break;
        await ignore(
          isNotFound,
          core.patchNamespacedPersistentVolumeClaim(
            { name, namespace: pvcNamespace, body: { metadata: { annotations: { [key]: step.progress } } } },
            mergePatch,
          ),
        );
        break;
      }
      case "createPrimePvc":
        await ignore(
          isAlreadyExists,
          core.createNamespacedPersistentVolumeClaim({ namespace, body: step.pvc }),
        );
        break;
      case "deletePrimePvc":
        await ignore(
          isNotFound,
          core.deleteNamespacedPersistentVolumeClaim({ name: primePvcName(uid), namespace }),
        );
        break;
      case "annotatePrimePvc":
        await core.patchNamespacedPersistentVolumeClaim(
          { name: primePvcName(uid), namespace, body: { metadata: { annotations: step.annotations } } },
          mergePatch,
        );
        break;
      case "createPod": {
        const created = await ignore(
          isAlreadyExists,
          core.createNamespacedPod({ namespace, body: step.pod }),
        );
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
      case "rebindPv":
        await core.patchPersistentVolume(
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
        break;
      case "startOperation":
        context.metrics.startOperation(uid);
        break;
      case "finishOperation":
        if (context.metrics.finishOperation(uid, step.result)) {
          context.metrics.recordStrategy(step.strategy ?? context.strategyName, step.result);
        }
        break;
      case "chooseStrategy":
        // Recorded before anything is started, so a restart can never run both strategies.
        await core.patchNamespacedPersistentVolumeClaim(
          {
            name: primePvcName(uid),
            namespace,
            body: {
              metadata: {
                annotations: {
                  [populateStrategyAnnotation(prefix)]: step.strategy,
                  ...(step.endpoint ? { [fastPathBackendAnnotation(prefix)]: step.endpoint } : {}),
                },
              },
            },
          },
          mergePatch,
        );
        context.metrics.fastPathDecisionsTotal.inc({
          decision: step.strategy === "pod" ? "fallback" : "fastpath",
          reason: step.reason,
        });
        await context.events.record(
          reference,
          "Normal",
          step.strategy === "pod" ? EventReason.FastPathFallback : EventReason.FastPath,
          step.message,
        );
        break;
      case "fastPathPopulate":
      case "fastPathCancel":
        if (!context.runtime) throw new Error(`step ${step.kind} needs a strategy runtime`);
        await context.runtime.perform(step, uid);
        break;
    }
  }
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

async function ignore<T>(expected: (error: unknown) => boolean, call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (error) {
    if (expected(error)) return undefined;
    throw error;
  }
}
