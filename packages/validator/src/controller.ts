import os from "node:os";
import {
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type V1PersistentVolumeClaim,
} from "@kubernetes/client-node";
import { createLogger, type Logger, toVolpopError } from "@volpop/sdk";
import {
  type Clock,
  type CollectionWatch,
  type HealthResult,
  reuseConnections,
  systemClock,
  WorkQueue,
  watchCollection,
  workQueueMetrics,
} from "@volpop/sdk/runtime";
import type { Registry } from "prom-client";
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

/** Everything the validator controller needs; only `kubeConfig` is required. */
export interface ValidatorControllerConfig {
  /** Cluster access (`--kubeconfig`, or in-cluster). Needs get/list/watch on PVCs and VolumePopulators, create on events. */
  readonly kubeConfig: KubeConfig;
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
  /** Where the metrics are registered. Default: a new registry (see `controller.metrics.registry`). */
  readonly registry?: Registry;
  /** Structured logger. Default: JSON on stdout at `info`. */
  readonly logger?: Logger;
  /** Time source for resyncs, retries and event timestamps (tests). */
  readonly clock?: Clock;
  /** `reportingInstance` of the events. Default: host name (the pod name in a cluster). */
  readonly identity?: string;
  /** Records events; replace to observe them without an API server. Default: core/v1 Events through the API. */
  readonly recordEvent?: RecordEvent;
  /** How long shutdown waits for validations in flight. Default 10 s. */
  readonly shutdownGraceMs?: number;
}

/** A validator controller; see {@link createValidatorController}. */
export interface ValidatorController {
  /** The operation counter and its registry. */
  readonly metrics: ValidatorMetrics;
  /** Liveness: the controller runs. */
  healthz(): HealthResult;
  /** Readiness: both watches have listed and are running. */
  readyz(): HealthResult;
  /**
   * The `VolumePopulator` registrations in the cache, for the admission webhook; `undefined` until
   * the cache has listed once (the controller is not running, or is still starting), so that callers
   * never judge a PVC against an incomplete list.
   */
  registrations(): readonly Registration[] | undefined;
  /**
   * Watches PVCs and VolumePopulators and validates PVCs until `signal` aborts; resolves once
   * validations in flight have finished and the watches stopped. Call once.
   */
  run(signal: AbortSignal): Promise<void>;
}

/**
 * Creates the data-source validator, upstream's controller: every PVC with a `dataSourceRef` is
 * validated against the registered `VolumePopulator`s (see `validatePvc`) when it changes, when a
 * `VolumePopulator` for its kind changes, and every resync period. PVCs are validated only once
 * both caches are complete, so that a missing CRD or a slow start never warns about PVCs whose
 * populator is registered.
 */
export function createValidatorController(config: ValidatorControllerConfig): ValidatorController {
  const clock = config.clock ?? systemClock;
  const logger = config.logger ?? createLogger({ name: EVENT_COMPONENT, level: "info" });
  const metrics = createValidatorMetrics(config.registry);
  const workers = config.workers ?? DEFAULT_WORKER_THREADS;
  const resyncPeriodMs = config.resyncPeriodMs ?? DEFAULT_RESYNC_PERIOD_MS;
  if (!Number.isSafeInteger(workers) || workers < 1) {
    throw new RangeError(`workers must be a whole number of at least 1, not ${workers}`);
  }
  if (!(resyncPeriodMs >= 0))
    throw new RangeError(`resyncPeriodMs must not be negative, not ${resyncPeriodMs}`);

  const kubeConfig = reuseConnections(config.kubeConfig);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const queue = new WorkQueue({
    clock,
    metrics: workQueueMetrics(metrics.registry, "volume-data-source-validator"),
  });

  const pvcs: CollectionWatch<V1PersistentVolumeClaim> = watchCollection({
    kind: "PersistentVolumeClaim",
    kubeConfig,
    path:
      config.namespace === undefined
        ? "/api/v1/persistentvolumeclaims"
        : `/api/v1/namespaces/${encodeURIComponent(config.namespace)}/persistentvolumeclaims`,
    list: (page) =>
      config.namespace === undefined
        ? core.listPersistentVolumeClaimForAllNamespaces({ ...page })
        : core.listNamespacedPersistentVolumeClaim({ namespace: config.namespace, ...page }),
    logger,
    onChange: (pvc) => queue.add(pvcKey(pvc)),
  });

  // The kind each VolumePopulator registered when last seen: an update or delete must also revisit
  // the PVCs of the kind it no longer registers.
  const registeredBy = new Map<string, SourceKind>();
  const populators: CollectionWatch<VolumePopulator> = watchCollection({
    kind: "VolumePopulator",
    kubeConfig,
    path: `/apis/${VOLUME_POPULATOR_GROUP}/${VOLUME_POPULATOR_VERSION}/${VOLUME_POPULATOR_PLURAL}`,
    list: (page) =>
      custom.listClusterCustomObject({
        group: VOLUME_POPULATOR_GROUP,
        version: VOLUME_POPULATOR_VERSION,
        plural: VOLUME_POPULATOR_PLURAL,
        ...page,
      }) as Promise<KubernetesListObject<VolumePopulator>>,
    logger,
    onChange: (object, change) => {
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
      for (const key of pvcKeysReferring(pvcs.list(), kinds)) queue.add(key);
    },
  });
  const watches = [pvcs, populators];
  // Set once the VolumePopulator cache is complete; it may fail and restart later, but stays filled.
  let populatorsListed = false;

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
    recordEvent:
      config.recordEvent ?? apiEventRecorder({ core, clock, instance: config.identity ?? os.hostname() }),
    metrics,
    logger,
  });

  async function worker(): Promise<void> {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        await reconciler.reconcile(key);
        queue.forget(key);
      } catch (error) {
        logger.warn(
          { key, err: toVolpopError(error), retries: queue.retries(key) },
          "validating the PVC failed; retrying",
        );
        queue.addRateLimited(key);
      } finally {
        queue.done(key);
      }
    }
  }

  return {
    metrics,
    healthz: () => [{ name: "controller", ok: true }],
    registrations: () => (populatorsListed ? registrations() : undefined),
    readyz: () =>
      watches.map((w) => ({
        name: `watch-${w.kind}`,
        ok: w.healthy,
        ...(w.healthy ? {} : { reason: w.lastError ?? "not listed yet" }),
      })),
    async run(signal) {
      logger.info({ workers, namespace: config.namespace ?? "(all)", resyncPeriodMs }, "starting");
      // Keys queue up while the caches fill; workers start only once both are complete.
      await Promise.all([
        pvcs.start(signal),
        populators.start(signal).then(() => {
          populatorsListed = !signal.aborted;
        }),
      ]);
      const running = signal.aborted ? [] : Array.from({ length: workers }, () => worker());
      let resyncTimer: ReturnType<Clock["setTimeout"]> | undefined;
      const resync = () => {
        for (const pvc of pvcs.list()) queue.add(pvcKey(pvc));
        resyncTimer = clock.setTimeout(resync, resyncPeriodMs);
      };
      if (!signal.aborted) {
        logger.info("caches synced; validating PVCs");
        if (resyncPeriodMs > 0) resyncTimer = clock.setTimeout(resync, resyncPeriodMs);
        await new Promise<void>((resolve) =>
          signal.addEventListener("abort", () => resolve(), { once: true }),
        );
      }
      logger.info("stopping");
      if (resyncTimer !== undefined) clock.clearTimeout(resyncTimer);
      const drained = await queue.shutDownWithDrain(config.shutdownGraceMs ?? 10_000);
      // Workers stuck in an API call past the grace period are left behind, not waited for.
      if (drained) await Promise.all(running);
      else logger.warn("validations still running at the end of the grace period");
      await Promise.all(watches.map((w) => w.stop()));
      populatorsListed = false;
      logger.info("stopped");
    },
  };
}
