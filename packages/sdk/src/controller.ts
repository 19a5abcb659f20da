import os from "node:os";
import {
  CoreV1Api,
  type CoreV1Event,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  StorageV1Api,
  type V1PersistentVolume,
  type V1PersistentVolumeClaim,
  type V1Pod,
  type V1StorageClass,
} from "@kubernetes/client-node";
import type { Registry } from "prom-client";
import { type Clock, systemClock } from "./clock.ts";
import { isConflict, TerminalError, toVolpopError } from "./errors.ts";
import { EventRecorder } from "./event-recorder.ts";
import { execute } from "./executor.ts";
import type { HealthResult } from "./http-server.ts";
import { type CollectionWatch, watchCollection } from "./informers.ts";
import { reuseConnections } from "./kube-connections.ts";
import { createLogger, type Logger, reconcileLogger } from "./logger.ts";
import { createPopulatorMetrics, type PopulatorMetrics } from "./metrics.ts";
import {
  MANAGED_BY,
  MANAGED_BY_LABEL,
  POPULATE_FOR_LABEL,
  POPULATOR_CONTAINER_NAME,
  populatorPodName,
  primePvcName,
} from "./names.ts";
import type { Observed, SourceObject } from "./observed.ts";
import type { Populator } from "./populator.ts";
import { lastProgress, type Progress } from "./progress.ts";
import { WorkQueue } from "./queue.ts";
import { workQueueMetrics } from "./queue-metrics.ts";
import { isPopulationPv, reconcile, refersTo, sourceNamespace } from "./reconcile.ts";
import { grantAllows, listReferenceGrants } from "./reference-grant.ts";
import { showsWrite } from "./resource-version.ts";
import { DEFAULT_WORKERS, type PopulationSettings, withDefaults } from "./settings.ts";
import { podStrategy } from "./strategies/pod/strategy.ts";
import type { Strategy } from "./strategy.ts";

/**
 * Longest a reconcile waits for the caches to show its own last writes: they normally do within
 * milliseconds; a watch that relisted meanwhile may never show the exact version written.
 */
const CACHE_CATCH_UP_MS = 3000;

/** The PV controller's warning about a PV whose claimRef names another claim: what the hand-over does to PVC'. */
const CLAIM_MISBOUND = "ClaimMisbound";

/** Everything a populator controller needs; only `populator`, `kubeConfig` and `namespace` are required. */
export interface PopulatorControllerConfig<Spec = unknown> {
  /** What the controller populates from. */
  readonly populator: Populator<Spec>;
  /** Cluster access (`--kubeconfig`, `--master`, or in-cluster). */
  readonly kubeConfig: KubeConfig;
  /** Namespace of PVC' and populator pods (`--namespace`); the controller needs rights there. */
  readonly namespace: string;
  /** Image of the populator pod (`--image-name`). */
  readonly imageName?: string;
  /** How PVC' gets its data. Default: the Pod strategy. */
  readonly strategy?: Strategy;
  /** PVCs reconciled in parallel (`--workers`). Default 10. */
  readonly workers?: number;
  /** Retry, failure and cross-namespace behaviour; see {@link PopulationSettings}. */
  readonly settings?: Partial<Omit<PopulationSettings, "namespace" | "imageName">>;
  /** Structured logger. Default: JSON on stdout at `info`. */
  readonly logger?: Logger;
  /** Where metrics are registered. Default: a new registry (see `controller.metrics.registry`). */
  readonly registry?: Registry;
  /** Time source (tests). */
  readonly clock?: Clock;
  /** Who this controller is, in events. Default: host name and pid. */
  readonly identity?: string;
  /** How long shutdown waits for reconciles in flight. Default 20 s, inside Kubernetes' 30 s grace period. */
  readonly shutdownGraceMs?: number;
}

export interface PopulatorController {
  /** Starts watching and reconciling; resolves once `signal` aborted and in-flight work finished. */
  run(signal: AbortSignal): Promise<void>;
  readonly metrics: PopulatorMetrics;
  /** Liveness: the controller runs. */
  healthz(): HealthResult;
  /** Readiness: every watch has synced and is running. */
  readyz(): HealthResult;
}

/** Creates the controller of one populator: upstream lib-volume-populator's machinery, level-based. */
export function createPopulatorController<Spec>(
  config: PopulatorControllerConfig<Spec>,
): PopulatorController {
  const populator = config.populator as Populator<unknown>;
  const settings = withDefaults({
    ...config.settings,
    namespace: config.namespace,
    imageName: config.imageName,
  });
  const strategy = config.strategy ?? podStrategy;
  const clock = config.clock ?? systemClock;
  const logger = config.logger ?? createLogger({ name: "volpop", level: "info" });
  const metrics = createPopulatorMetrics(config.registry, { clock });
  const kc = reuseConnections(config.kubeConfig);
  const core = kc.makeApiClient(CoreV1Api);
  const storage = kc.makeApiClient(StorageV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const identity = config.identity ?? `${os.hostname()}-${process.pid}`;
  const events = new EventRecorder({
    core,
    component: `${populator.prefix}-populator`,
    instance: identity,
    clock,
    logger,
  });
  const queue = new WorkQueue({ clock, metrics: workQueueMetrics(metrics.registry, populator.prefix) });
  const { group, version, plural, kind } = populator.source;
  const isPrimePvc = (pvc: V1PersistentVolumeClaim) =>
    pvc.metadata?.namespace === settings.namespace && (pvc.metadata.name?.startsWith("prime-") ?? false);

  // The user's PVC key for each PVC uid we have seen: PVC', pods and PVs name only the uid.
  const keyByUid = new Map<string, string>();
  const keyOf = (o: KubernetesObject) => `${o.metadata?.namespace}/${o.metadata?.name}`;
  // Read your own writes: what each population last wrote and its caches have not shown yet. A
  // reconcile deciding before they do would repeat the write (a conflict, a duplicate create); it
  // waits instead, and the watch event that brings the write wakes it. Bounded, for an event lost
  // to a relist.
  const unseenWrites = new Map<string, { key: string; resourceVersion: string; until: number }>();
  const objectId = (kind: string, o: KubernetesObject) =>
    `${kind}/${o.metadata?.namespace ?? ""}/${o.metadata?.name}`;
  const cacheShows = (kind: string, o: KubernetesObject) => {
    const id = objectId(kind, o);
    const written = unseenWrites.get(id)?.resourceVersion;
    if (written !== undefined && showsWrite(o.metadata?.resourceVersion, written)) unseenWrites.delete(id);
  };
  const cacheBehindMs = (key: string): number => {
    let wait = 0;
    const now = clock.now();
    for (const [id, write] of unseenWrites) {
      if (write.until <= now) unseenWrites.delete(id);
      else if (write.key === key) wait = Math.max(wait, write.until - now);
    }
    return wait;
  };
  const enqueueUid = (uid: string | undefined) => {
    const key = uid ? keyByUid.get(uid) : undefined;
    if (key) queue.add(key);
  };

  const pvcs: CollectionWatch<V1PersistentVolumeClaim> = watchCollection({
    kind: "PersistentVolumeClaim",
    kubeConfig: kc,
    path: "/api/v1/persistentvolumeclaims",
    list: (page) => core.listPersistentVolumeClaimForAllNamespaces({ ...page }),
    // The API server cannot select by dataSourceRef: drop the cluster's other PVCs as they arrive, so
    // memory follows our populations, not the cluster's size. Both tests are fixed for a PVC's life
    // (dataSourceRef is immutable).
    keep: (pvc) => refersTo(pvc, populator.source) || isPrimePvc(pvc),
    logger,
    onChange: (pvc, change) => {
      cacheShows("PersistentVolumeClaim", pvc);
      if (isPrimePvc(pvc)) {
        enqueueUid(pvc.metadata?.labels?.[POPULATE_FOR_LABEL] ?? pvc.metadata?.name?.slice("prime-".length));
      } else if (pvc.metadata?.uid) {
        queue.add(keyOf(pvc));
        // Gone for good (our finalizer is released before that): nothing will name this uid again.
        if (change === "delete") keyByUid.delete(pvc.metadata.uid);
        else keyByUid.set(pvc.metadata.uid, keyOf(pvc));
      }
    },
  });
  const pvs: CollectionWatch<V1PersistentVolume> = watchCollection({
    kind: "PersistentVolume",
    kubeConfig: kc,
    path: "/api/v1/persistentvolumes",
    list: (page) => core.listPersistentVolume({ ...page }),
    // Like PVCs: only the PVs of populations, not every PV of the cluster.
    keep: (pv) => isPopulationPv(pv, settings.namespace, populator.prefix),
    logger,
    onChange: (pv) => {
      cacheShows("PersistentVolume", pv);
      const claim = pv.spec?.claimRef;
      if (claim?.namespace === settings.namespace && claim.name?.startsWith("prime-")) {
        enqueueUid(claim.name.slice("prime-".length));
      } else if (claim?.uid) {
        enqueueUid(claim.uid);
      }
    },
  });
  const pods: CollectionWatch<V1Pod> = watchCollection({
    kind: "Pod",
    kubeConfig: kc,
    path: `/api/v1/namespaces/${settings.namespace}/pods`,
    labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY}`,
    list: (page) =>
      core.listNamespacedPod({
        namespace: settings.namespace,
        labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY}`,
        ...page,
      }),
    logger,
    onChange: (pod) => {
      cacheShows("Pod", pod);
      enqueueUid(pod.metadata?.labels?.[POPULATE_FOR_LABEL]);
    },
  });
  const enqueueWaiting = () => {
    for (const pvc of pvcs.list())
      if (refersTo(pvc, populator.source) && !isPrimePvc(pvc) && !pvc.spec?.volumeName) queue.add(keyOf(pvc));
  };
  const storageClasses: CollectionWatch<V1StorageClass> = watchCollection({
    kind: "StorageClass",
    kubeConfig: kc,
    path: "/apis/storage.k8s.io/v1/storageclasses",
    list: (page) => storage.listStorageClass({ ...page }),
    logger,
    onChange: enqueueWaiting,
  });
  const sources: CollectionWatch<SourceObject> = watchCollection({
    kind,
    kubeConfig: kc,
    path: `/apis/${group}/${version}/${plural}`,
    list: (page) =>
      custom.listClusterCustomObject({ group, version, plural, ...page }) as Promise<
        KubernetesListObject<SourceObject>
      >,
    logger,
    onChange: (source) => {
      for (const pvc of pvcs.list()) {
        if (
          refersTo(pvc, populator.source) &&
          !isPrimePvc(pvc) &&
          pvc.spec?.dataSourceRef?.name === source.metadata?.name &&
          sourceNamespace(pvc) === source.metadata?.namespace
        ) {
          queue.add(keyOf(pvc));
        }
      }
    },
  });
  // Warnings on PVC' (provisioning failures, quota) are invisible to users, who only see their own
  // PVC: repeat them there. Normal events are the provisioner's routine and would only bury the
  // user's own; ClaimMisbound is the PV controller noticing our hand-over of the PV, not a problem.
  // Only events newer than this controller, so a restart does not replay history.
  const startedAt = clock.now();
  const eventSelector = "involvedObject.kind=PersistentVolumeClaim,type=Warning";
  const primeEvents: CollectionWatch<CoreV1Event> = watchCollection({
    kind: "Event",
    kubeConfig: kc,
    path: `/api/v1/namespaces/${settings.namespace}/events`,
    fieldSelector: eventSelector,
    list: (page) =>
      core.listNamespacedEvent({ namespace: settings.namespace, fieldSelector: eventSelector, ...page }),
    keep: (event) =>
      event.reason !== CLAIM_MISBOUND && (event.involvedObject?.name?.startsWith("prime-") ?? false),
    logger,
    onChange: (event, change) => {
      const involved = event.involvedObject;
      if (change === "delete" || !involved?.name) return;
      const at = Date.parse(
        String(event.lastTimestamp ?? event.eventTime ?? event.metadata?.creationTimestamp ?? ""),
      );
      if (!(at >= startedAt - 1000)) return;
      const key = keyByUid.get(involved.name.slice("prime-".length));
      const [namespace = "", name = ""] = key?.split("/") ?? [];
      const pvc = key ? pvcs.get(name, namespace) : undefined;
      if (!pvc?.metadata) return;
      void events.record(
        {
          apiVersion: "v1",
          kind: "PersistentVolumeClaim",
          name,
          namespace,
          ...(pvc.metadata.uid ? { uid: pvc.metadata.uid } : {}),
        },
        "Warning",
        event.reason ?? "Unknown",
        `${event.message ?? ""} (on PVC' ${settings.namespace}/${involved.name})`,
      );
    },
  });
  const watches = [pvcs, pvs, pods, storageClasses, sources, primeEvents];

  async function observe(pvc: V1PersistentVolumeClaim): Promise<Observed> {
    const uid = pvc.metadata?.uid ?? "";
    const primePvc = pvcs.get(primePvcName(uid), settings.namespace);
    const sourceNs = sourceNamespace(pvc);
    const crossNamespace = sourceNs !== pvc.metadata?.namespace;
    const pod = pods.get(populatorPodName(uid), settings.namespace);
    return {
      now: clock.now(),
      pvc,
      source: sources.get(pvc.spec?.dataSourceRef?.name ?? "", sourceNs),
      referenceGranted:
        crossNamespace && settings.allowCrossNamespace
          ? grantAllows(await listReferenceGrants(custom, sourceNs), pvc)
          : !crossNamespace,
      storageClass: pvc.spec?.storageClassName ? storageClasses.get(pvc.spec.storageClassName) : undefined,
      primePvc,
      primePv: primePvc?.spec?.volumeName ? pvs.get(primePvc.spec.volumeName) : undefined,
      pod,
      podProgress: pod?.status?.phase === "Running" ? await readProgress(pod) : undefined,
      strategyState: strategy.runtime?.observe(uid),
    };
  }

  async function readProgress(pod: V1Pod): Promise<Progress | undefined> {
    const log = await core
      .readNamespacedPodLog({
        name: pod.metadata?.name ?? "",
        namespace: settings.namespace,
        container: POPULATOR_CONTAINER_NAME,
        tailLines: 20,
      })
      .catch(() => undefined);
    return log === undefined ? undefined : lastProgress(log);
  }

  let reconcileCount = 0;
  async function reconcileKey(key: string): Promise<void> {
    const [namespace = "", name = ""] = key.split("/");
    const pvc = pvcs.get(name, namespace);
    // PVC' is never a population of its own, whatever a mutator put in its dataSourceRef.
    if (!pvc || !refersTo(pvc, populator.source) || isPrimePvc(pvc)) {
      queue.forget(key);
      return;
    }
    const behindMs = cacheBehindMs(key);
    if (behindMs > 0) {
      logger.debug(
        { namespace, name, behindMs },
        "waiting for the caches to show this population's own writes",
      );
      queue.forget(key);
      queue.addAfter(key, behindMs);
      return;
    }
    const log = reconcileLogger(logger, { namespace, name, reconcileId: `${identity}-${++reconcileCount}` });
    try {
      const plan = reconcile(await observe(pvc), { populator, strategy, settings });
      if (plan.steps.length > 0)
        log.info({ steps: plan.steps.map((s) => s.kind), waitingFor: plan.waitingFor }, "reconciled");
      else if (plan.waitingFor) log.debug({ waitingFor: plan.waitingFor }, "waiting");
      await execute(plan.steps, pvc, {
        core,
        events,
        metrics,
        prefix: populator.prefix,
        namespace: settings.namespace,
        strategyName: strategy.name,
        runtime: strategy.runtime,
        wrote: (kind, object) => {
          const written = object.metadata?.resourceVersion;
          if (!written) return;
          // The watch may bring a write before the call that made it returns: then it is seen already.
          const cache = kind === "Pod" ? pods : kind === "PersistentVolume" ? pvs : pvcs;
          const cached = cache.get(object.metadata?.name ?? "", object.metadata?.namespace);
          if (showsWrite(cached?.metadata?.resourceVersion, written)) return;
          unseenWrites.set(objectId(kind, object), {
            key,
            resourceVersion: written,
            until: clock.now() + CACHE_CATCH_UP_MS,
          });
        },
      });
      queue.forget(key);
      if (plan.requeueAfterMs !== undefined) queue.addAfter(key, plan.requeueAfterMs);
      metrics.recordReconcile(plan.requeueAfterMs !== undefined ? "requeue" : "success");
      if (pvc.metadata?.deletionTimestamp && pvc.metadata.uid) metrics.dropOperation(pvc.metadata.uid);
    } catch (thrown) {
      const error = toVolpopError(thrown);
      metrics.recordReconcile("error", error.code);
      if (error instanceof TerminalError) {
        log.error({ err: error }, "reconcile failed; not retrying");
        queue.forget(key);
      } else if (isConflict(error)) {
        // The cache had not caught up with the API server yet: routine, and retried shortly.
        log.debug({ code: error.code }, "object changed meanwhile; retrying");
        queue.addRateLimited(key);
      } else {
        log.warn(
          { code: error.code, error: error.message, retries: queue.retries(key) },
          "reconcile failed; retrying",
        );
        queue.addRateLimited(key);
      }
    }
  }

  async function worker(signal: AbortSignal): Promise<void> {
    for (;;) {
      const key = await queue.get(signal).catch(() => undefined);
      if (key === undefined) return;
      try {
        await reconcileKey(key);
      } finally {
        queue.done(key);
      }
    }
  }

  return {
    metrics,
    healthz: () => [{ name: "controller", ok: true }],
    readyz: () => [
      ...watches.map((w) => ({
        name: `watch-${w.kind}`,
        ok: w.healthy,
        ...(w.healthy ? {} : { reason: w.lastError ?? "not synced yet" }),
      })),
      ...(strategy.runtime?.health() ?? []),
    ],
    async run(signal: AbortSignal): Promise<void> {
      logger.info(
        { source: `${group}/${version} ${kind}`, namespace: settings.namespace, strategy: strategy.name },
        "starting",
      );
      // Each start retries until its first list succeeds (a CRD installed later, RBAC fixed later);
      // readiness says which one is still missing meanwhile.
      await Promise.all(watches.map((w) => w.start(signal)));
      await strategy.runtime?.start({ signal, requeue: enqueueUid, logger, metrics });
      const workers = Array.from({ length: config.workers ?? DEFAULT_WORKERS }, () => worker(signal));
      if (!signal.aborted) {
        logger.info("caches synced; reconciling");
        await new Promise<void>((resolve) =>
          signal.addEventListener("abort", () => resolve(), { once: true }),
        );
      }
      logger.info("stopping: finishing reconciles in flight");
      const drained = await queue.shutDownWithDrain(config.shutdownGraceMs ?? 20_000);
      if (!drained) logger.warn("reconciles still running at the end of the grace period");
      await Promise.allSettled(workers);
      await Promise.all(watches.map((w) => w.stop()));
      await strategy.runtime?.stop();
      logger.info("stopped");
    },
  };
}
