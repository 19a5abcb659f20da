import os from "node:os";
import {
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type V1PersistentVolumeClaim,
} from "@kubernetes/client-node";
import { createLogger, type Logger } from "@volpop/sdk";
import {
  type Change,
  type Clock,
  createController,
  createManager,
  type HealthResult,
  type Manager,
  workQueueMetrics,
} from "@volpop/sdk/runtime";
import { Registry } from "prom-client";
import type { SourceKind } from "./classify.ts";
import { apiEventRecorder, EVENT_COMPONENT, type RecordEvent } from "./events.ts";
import { createValidatorMetrics, type ValidatorMetrics } from "./metrics.ts";
import { createPvcReconciler, pvcKey, pvcKeysReferring } from "./reconciler.ts";
import {
  type Registration,
  registrationOf,
  VOLUME_POPULATOR_GROUP,
  VOLUME_POPULATOR_PLURAL,
  VOLUME_POPULATOR_VERSION,
  type VolumePopulator,
} from "./volume-populator.ts";

/** Upstream's `--worker-threads` default. */
export const DEFAULT_WORKER_THREADS = 10;
/** Upstream's `--resync-period` default: every PVC is validated again this often. */
export const DEFAULT_RESYNC_PERIOD_MS = 60_000;

/** The validator on a Manager; every field is optional. */
export interface ValidatorOptions {
  /** PVCs validated in parallel (`--worker-threads`). Default 10. */
  readonly workers?: number;
  /**
   * How often every cached PVC is validated again (`--resync-period`), as a safety net and to keep
   * the operation counter moving like upstream's; 0 turns it off. Warnings are not repeated. Default 60 s.
   */
  readonly resyncPeriodMs?: number;
  /**
   * Watch the PVCs of this namespace only. Default: every namespace, as upstream; a narrower scope
   * suits tests on a shared cluster and tenants who may not watch cluster-wide.
   */
  readonly namespace?: string;
  /** Records events; replace to observe them without an API server. Default: core/v1 Events through the API. */
  readonly recordEvent?: RecordEvent;
  /** How long shutdown waits for validations in flight. Default 10 s. */
  readonly shutdownGraceMs?: number;
}

/** Everything a stand-alone validator controller needs; only `kubeConfig` is required. */
export interface ValidatorControllerConfig extends ValidatorOptions {
  /** Cluster access (`--kubeconfig`, or in-cluster). Needs get/list/watch on PVCs and VolumePopulators, create on events. */
  readonly kubeConfig: KubeConfig;
  /** Where the metrics are registered. Default: a new registry (see `controller.metrics.registry`). */
  readonly registry?: Registry;
  /** Structured logger. Default: JSON on stdout at `info`. */
  readonly logger?: Logger;
  /** Time source for resyncs, retries and event timestamps (tests). */
  readonly clock?: Clock;
  /** `reportingInstance` of the events. Default: host name (the pod name in a cluster). */
  readonly identity?: string;
}

/** What {@link addValidator} added to a Manager. */
export interface ValidatorHandle {
  /** The operation counter and its registry. */
  readonly metrics: ValidatorMetrics;
  /**
   * The `VolumePopulator` registrations in the cache, for the admission webhook; `undefined` until
   * the cache has listed once, so that callers never judge a PVC against an incomplete list.
   */
  registrations(): readonly Registration[] | undefined;
}

/** A stand-alone validator controller: a Manager with the validator alone. */
export interface ValidatorController extends ValidatorHandle {
  /** Liveness: the controller runs. */
  healthz(): HealthResult;
  /** Readiness: both watches have listed and are running. */
  readyz(): HealthResult;
  /**
   * Watches PVCs and VolumePopulators and validates PVCs until `signal` aborts; resolves once
   * validations in flight have finished and the watches stopped. Call once.
   */
  run(signal: AbortSignal): Promise<void>;
}

/** Creates the validator with a Manager of its own; programs with more controllers use {@link addValidator}. */
export function createValidatorController(config: ValidatorControllerConfig): ValidatorController {
  const manager = createManager({
    kubeConfig: config.kubeConfig,
    registry: config.registry ?? new Registry(),
    logger: config.logger ?? createLogger({ name: EVENT_COMPONENT, level: "info" }),
    ...(config.clock ? { clock: config.clock } : {}),
    identity: config.identity ?? os.hostname(),
  });
  const validator = addValidator(manager, config);
  return {
    ...validator,
    healthz: () => manager.healthz(),
    readyz: () => manager.readyz(),
    run: (signal) => manager.run(signal),
  };
}

/**
 * Adds the data-source validator, upstream's controller, to `manager`: every PVC with a
 * `dataSourceRef` is validated against the registered `VolumePopulator`s (see `validatePvc`) when
 * it changes, when a `VolumePopulator` for its kind changes, and every resync period. PVCs are
 * validated only once both caches are complete, so that a missing CRD or a slow start never warns
 * about PVCs whose populator is registered.
 */
export function addValidator(manager: Manager, options: ValidatorOptions = {}): ValidatorHandle {
  const { clock, logger } = manager;
  const metrics = createValidatorMetrics(manager.registry);
  const workers = options.workers ?? DEFAULT_WORKER_THREADS;
  const resyncPeriodMs = options.resyncPeriodMs ?? DEFAULT_RESYNC_PERIOD_MS;
  if (!Number.isSafeInteger(workers) || workers < 1) {
    throw new RangeError(`workers must be a whole number of at least 1, not ${workers}`);
  }
  if (!(resyncPeriodMs >= 0))
    throw new RangeError(`resyncPeriodMs must not be negative, not ${resyncPeriodMs}`);
  const core = manager.kubeConfig.makeApiClient(CoreV1Api);
  const custom = manager.kubeConfig.makeApiClient(CustomObjectsApi);

  const pvcs = manager.informer<V1PersistentVolumeClaim>({
    kind: "PersistentVolumeClaim",
    path:
      options.namespace === undefined
        ? "/api/v1/persistentvolumeclaims"
        : `/api/v1/namespaces/${encodeURIComponent(options.namespace)}/persistentvolumeclaims`,
    list: (page) =>
      options.namespace === undefined
        ? core.listPersistentVolumeClaimForAllNamespaces({ ...page })
        : core.listNamespacedPersistentVolumeClaim({ namespace: options.namespace, ...page }),
  });
  const populators = manager.informer<VolumePopulator>({
    kind: "VolumePopulator",
    path: `/apis/${VOLUME_POPULATOR_GROUP}/${VOLUME_POPULATOR_VERSION}/${VOLUME_POPULATOR_PLURAL}`,
    list: (page) =>
      custom.listClusterCustomObject({
        group: VOLUME_POPULATOR_GROUP,
        version: VOLUME_POPULATOR_VERSION,
        plural: VOLUME_POPULATOR_PLURAL,
        ...page,
      }) as Promise<KubernetesListObject<VolumePopulator>>,
  });
  const registrations = (): Registration[] => {
    const found: Registration[] = [];
    for (const object of populators.list()) {
      const registration = registrationOf(object);
      if (registration !== undefined) found.push(registration);
    }
    return found;
  };
  const reconciler = createPvcReconciler({
    getPvc: (namespace, name) => pvcs.get(name, namespace),
    registrations,
    recordEvent: options.recordEvent ?? apiEventRecorder({ core, clock, instance: manager.identity }),
    metrics,
    logger,
  });
  const controller = createController({
    name: "volume-data-source-validator",
    workers,
    logger,
    clock,
    queueMetrics: workQueueMetrics(manager.registry, "volume-data-source-validator"),
    shutdownGraceMs: options.shutdownGraceMs ?? 10_000,
    resyncPeriodMs,
    resyncKeys: () => pvcs.list().map(pvcKey),
    reconcile: async (key) => {
      await reconciler.reconcile(key);
      return undefined;
    },
  });
  controller.watch(pvcs, pvcKey);
  controller.watch(
    populators,
    volumePopulatorKeyMapper(() => pvcs.list(), logger),
  );
  manager.add(controller);
  // The webhook answers from this cache, in every replica: never from an incomplete one.
  return { metrics, registrations: () => (populators.hasSynced ? registrations() : undefined) };
}

/**
 * Maps a `VolumePopulator`'s change to the PVCs to validate again: those of the kind it registers
 * now and of the kind it registered when last seen (an update or delete no longer registers it).
 */
export function volumePopulatorKeyMapper(
  pvcs: () => Iterable<V1PersistentVolumeClaim>,
  logger: Logger,
): (object: VolumePopulator, change: Change) => string[] {
  const registeredBy = new Map<string, SourceKind>();
  return (object, change) => {
    const name = object.metadata?.name ?? "";
    const kinds: SourceKind[] = [];
    const before = registeredBy.get(name);
    if (before !== undefined) kinds.push(before);
    const now = change === "delete" ? undefined : registrationOf(object);
    if (now !== undefined) {
      kinds.push(now.sourceKind);
      registeredBy.set(name, now.sourceKind);
    } else {
      registeredBy.delete(name);
      if (change !== "delete")
        logger.warn({ volumePopulator: name }, "VolumePopulator without sourceKind.kind ignored");
    }
    return pvcKeysReferring(pvcs(), kinds);
  };
}
