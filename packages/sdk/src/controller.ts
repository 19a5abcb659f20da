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
import type { Clock } from "./clock.ts";
import { ConfigError, isNotFound, toVolpopError } from "./errors.ts";
import { EventRecorder } from "./event-recorder.ts";
import { execute } from "./executor.ts";
import type { HealthResult } from "./http-server.ts";
import type { Logger } from "./logger.ts";
import { reconcileLogger } from "./logger.ts";
import { type Controller, createController, type ReconcileOutcome } from "./manager/controller.ts";
import { createManager, type Manager } from "./manager/manager.ts";
import { createPopulatorMetrics, type PopulatorMetrics } from "./metrics.ts";
import {
  POPULATE_FOR_LABEL,
  POPULATOR_CONTAINER_NAME,
  populateForAnnotation,
  populatorPodName,
  primePvcName,
} from "./names.ts";
import type { Observed, SourceObject } from "./observed.ts";
import type { Populator } from "./populator.ts";
import { lastProgress, type Progress } from "./progress.ts";
import { workQueueMetrics } from "./queue-metrics.ts";
import { isPopulationPv, reconcile, reconcileOrphan, refersTo, sourceNamespace } from "./reconcile.ts";
import { grantAllows, listReferenceGrants } from "./reference-grant.ts";
import { showsWrite } from "./resource-version.ts";
import { DEFAULT_WORKERS, type PopulationSettings, withDefaults } from "./settings.ts";
import { podStrategy } from "./strategies/pod/strategy.ts";
import type { Strategy } from "./strategy.ts";
import { registerVolumePopulator } from "./volume-populator-registration.ts";

/**
 * Longest a reconcile waits for the caches to show its own last writes: they normally do within
 * milliseconds; a watch that relisted meanwhile may never show the exact version written.
 */
const CACHE_CATCH_UP_MS = 3000;

/** The PV controller's warning about a PV whose claimRef names another claim: what the hand-over does to PVC'. */
const CLAIM_MISBOUND = "ClaimMisbound";

/** One populator on a Manager; only `populator` and `namespace` are required. */
export interface PopulatorOptions<Spec = unknown> {
  /** What the controller populates from. */
  readonly populator: Populator<Spec>;
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
  /** How long shutdown waits for reconciles in flight. Default 20 s, inside Kubernetes' 30 s grace period. */
  readonly shutdownGraceMs?: number;
  /**
   * Register the source kind with the data-source validator (a `VolumePopulator` object) when the
   * Manager starts, in every replica. Default `true`.
   */
  readonly registerVolumePopulator?: boolean;
}

/** Everything a stand-alone populator controller needs; only `populator`, `kubeConfig` and `namespace` are required. */
export interface PopulatorControllerConfig<Spec = unknown>
  extends Omit<PopulatorOptions<Spec>, "registerVolumePopulator"> {
  /** Cluster access (`--kubeconfig`, `--master`, or in-cluster). */
  readonly kubeConfig: KubeConfig;
  /** Structured logger. Default: JSON on stdout at `info`. */
  readonly logger?: Logger;
  /** Where metrics are registered. Default: a new registry (see `controller.metrics.registry`). */
  readonly registry?: Registry;
  /** Time source (tests). */
  readonly clock?: Clock;
  /** Who this controller is, in events. Default: host name and pid. */
  readonly identity?: string;
}

/** A stand-alone populator controller: a Manager with one populator. */
export interface PopulatorController {
  /** Starts watching and reconciling; resolves once `signal` aborted and in-flight work finished. */
  run(signal: AbortSignal): Promise<void>;
  readonly metrics: PopulatorMetrics;
  /** Liveness: the controller runs. */
  healthz(): HealthResult;
  /** Readiness: every watch has synced and is running. */
  readyz(): HealthResult;
}

/** What {@link addPopulator} added to the Manager. */
export interface PopulatorHandle {
  readonly metrics: PopulatorMetrics;
  readonly controller: Controller;
}

/**
 * Creates the controller of one populator with a Manager of its own (no HTTP endpoint, no leader
 * election, no `VolumePopulator` registration): for tests and programs that run one populator
 * their own way. Programs with several controllers use {@link addPopulator} on one Manager.
 */
export function createPopulatorController<Spec>(
  config: PopulatorControllerConfig<Spec>,
): PopulatorController {
  const manager = createManager({
    kubeConfig: config.kubeConfig,
    ...(config.registry ? { registry: config.registry } : {}),
    ...(config.logger ? { logger: config.logger } : {}),
    ...(config.clock ? { clock: config.clock } : {}),
    ...(config.identity ? { identity: config.identity } : {}),
  });
  const { metrics } = addPopulator(manager, { ...config, registerVolumePopulator: false });
  return {
    metrics,
    healthz: () => manager.healthz(),
    readyz: () => manager.readyz(),
    run: (signal) => manager.run(signal),
  };
}

/**
 * Adds the controller of one populator to `manager`: upstream lib-volume-populator's machinery,
 * level-based. Its watches are the Manager's shared informers, so several populators (and the
 * validator) in one process cost the API server one watch per collection.
 */
export function addPopulator<Spec>(manager: Manager, options: PopulatorOptions<Spec>): PopulatorHandle {
  const populator = options.populator as Populator<unknown>;
  // Two controllers of one prefix would share its finalizer, metrics and queue name, and race.
  const prefixes = prefixesOf.get(manager) ?? new Set<string>();
  if (prefixes.has(populator.prefix))
    throw new ConfigError(`a populator with prefix ${populator.prefix} was added to this manager already`);
  prefixes.add(populator.prefix);
  prefixesOf.set(manager, prefixes);
  const settings = withDefaults({
    ...options.settings,
    namespace: options.namespace,
    imageName: options.imageName,
  });
  const strategy = options.strategy ?? podStrategy;
  const { clock, identity } = manager;
  const logger = manager.logger.child({ populator: populator.prefix });
  const metrics = createPopulatorMetrics(manager.registry, {
    clock,
    processMetrics: false,
    populator: populator.prefix,
  });
  const kc = manager.kubeConfig;
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const events = new EventRecorder({
    core,
    component: `${populator.prefix}-populator`,
    instance: identity,
    clock,
    logger,
  });
  const { group, version, kind } = populator.source;
  const isPrimePvc = primePvcTest(settings.namespace);

  // The user's PVC key for each PVC uid we have seen: PVC', pods and PVs name only the uid.
  const keyByUid = new Map<string, string>();
  // And the uid each key last had: a PVC deleted and created again under its name while a watch was
  // down comes back as an update with another uid, and the old one's leftovers must be looked for.
  const uidByKey = new Map<string, string>();
  // When this controller started reconciling (leading): only PVC' warnings newer than that are
  // repeated on the user's PVC, so a restart or a new leader does not replay history.
  let startedAt = Number.POSITIVE_INFINITY;
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
  const keyOfUid = (uid: string | undefined) => (uid ? keyByUid.get(uid) : undefined);

  const informers = populatorInformers(manager, populator, settings.namespace, { core, custom });
  const { pvcs, pvs, pods, storageClasses, sources, primeEvents } = informers;
  const controller = createController({
    name: populator.prefix,
    workers: options.workers ?? DEFAULT_WORKERS,
    logger,
    clock,
    queueMetrics: workQueueMetrics(manager.registry, populator.prefix),
    shutdownGraceMs: options.shutdownGraceMs ?? 20_000,
    reconcile: (key) => reconcileKey(key),
    beforeWorkers: async (signal) => {
      startedAt = clock.now();
      logger.info(
        { source: `${group}/${version} ${kind}`, namespace: settings.namespace, strategy: strategy.name },
        "starting",
      );
      await strategy.runtime?.start({
        signal,
        requeue: (uid) => {
          const key = keyOfUid(uid);
          if (key) controller.enqueue(key);
        },
        logger,
        metrics,
      });
    },
    afterWorkers: async () => {
      await strategy.runtime?.stop();
    },
    readyz: () => strategy.runtime?.health() ?? [],
  });

  controller.watch(pvcs, (pvc, change) => {
    cacheShows("PersistentVolumeClaim", pvc);
    if (isPrimePvc(pvc)) {
      const uid = pvc.metadata?.labels?.[POPULATE_FOR_LABEL] ?? pvc.metadata?.name?.slice("prime-".length);
      // PVC' of a PVC not (or no longer) known: left by a deletion this controller did not see.
      return keyOfUid(uid) ?? (change === "delete" ? undefined : orphanKey(uid));
    }
    const uid = pvc.metadata?.uid;
    if (!uid) return undefined;
    const key = keyOf(pvc);
    if (change === "delete") {
      // Gone for good; normally after our finalizer was released and everything cleaned up, but a
      // finalizer stripped by hand leaves PVC' and the pod behind: look for them.
      keyByUid.delete(uid);
      uidByKey.delete(key);
      return [key, orphanKey(uid) as string];
    }
    const before = uidByKey.get(key);
    keyByUid.set(uid, key);
    uidByKey.set(key, uid);
    if (before !== undefined && before !== uid) {
      keyByUid.delete(before);
      return [key, orphanKey(before) as string];
    }
    return key;
  });
  controller.watch(pvs, (pv) => {
    cacheShows("PersistentVolume", pv);
    const claim = pv.spec?.claimRef;
    if (claim?.namespace === settings.namespace && claim.name?.startsWith("prime-"))
      return keyOfUid(claim.name.slice("prime-".length));
    return keyOfUid(claim?.uid);
  });
  controller.watch(pods, (pod, change) => {
    cacheShows("Pod", pod);
    const uid =
      pod.metadata?.labels?.[POPULATE_FOR_LABEL] ?? pod.metadata?.name?.slice(POPULATOR_POD_PREFIX.length);
    return keyOfUid(uid) ?? (change === "delete" ? undefined : orphanKey(uid));
  });
  // A StorageClass appearing or changing may unblock every population still waiting for a volume.
  controller.watch(storageClasses, () =>
    pvcs
      .list()
      .filter((pvc) => !isPrimePvc(pvc) && !pvc.spec?.volumeName)
      .map(keyOf),
  );
  controller.watch(sources, (source) =>
    pvcs
      .list()
      .filter(
        (pvc) =>
          !isPrimePvc(pvc) &&
          pvc.spec?.dataSourceRef?.name === source.metadata?.name &&
          sourceNamespace(pvc) === source.metadata?.namespace,
      )
      .map(keyOf),
  );
  // Warnings on PVC' (provisioning failures, quota) are invisible to users, who only see their own
  // PVC: repeat them there. Only events newer than this controller, so a restart does not replay history.
  controller.watch(primeEvents, (event, change) => {
    const involved = event.involvedObject;
    if (change === "delete" || !involved?.name) return undefined;
    const at = Date.parse(
      String(event.lastTimestamp ?? event.eventTime ?? event.metadata?.creationTimestamp ?? ""),
    );
    if (!(at >= startedAt - 1000)) return undefined;
    const key = keyOfUid(involved.name.slice("prime-".length));
    const [namespace = "", name = ""] = key?.split("/") ?? [];
    const pvc = key ? pvcs.get(name, namespace) : undefined;
    if (!pvc?.metadata) return undefined;
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
    return undefined;
  });
  manager.add(controller);
  if (options.registerVolumePopulator ?? true) {
    manager.add({
      name: `register-${populator.prefix}`,
      needsLeaderElection: false,
      start: () => registerVolumePopulator(custom, populator.source, logger),
    });
  }

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

  // What every execution of a plan is given.
  const executing = {
    core,
    events,
    metrics,
    prefix: populator.prefix,
    namespace: settings.namespace,
    strategyName: strategy.name,
    runtime: strategy.runtime,
  };
  let reconcileCount = 0;
  async function reconcileKey(key: string): Promise<ReconcileOutcome | undefined> {
    if (key.startsWith(ORPHAN_KEY_PREFIX)) return sweepOrphan(key.slice(ORPHAN_KEY_PREFIX.length));
    const [namespace = "", name = ""] = key.split("/");
    const pvc = pvcs.get(name, namespace);
    // PVC' is never a population of its own, whatever a mutator put in its dataSourceRef.
    if (!pvc || isPrimePvc(pvc)) return undefined;
    const behindMs = cacheBehindMs(key);
    if (behindMs > 0) {
      logger.debug(
        { namespace, name, behindMs },
        "waiting for the caches to show this population's own writes",
      );
      return { requeueAfterMs: behindMs };
    }
    const log = reconcileLogger(logger, { namespace, name, reconcileId: `${identity}-${++reconcileCount}` });
    try {
      const plan = reconcile(await observe(pvc), { populator, strategy, settings });
      if (plan.steps.length > 0)
        log.info({ steps: plan.steps.map((s) => s.kind), waitingFor: plan.waitingFor }, "reconciled");
      else if (plan.waitingFor) log.debug({ waitingFor: plan.waitingFor }, "waiting");
      await execute(plan.steps, pvc, {
        ...executing,
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
      metrics.recordReconcile(plan.requeueAfterMs !== undefined ? "requeue" : "success");
      if (pvc.metadata?.deletionTimestamp && pvc.metadata.uid) metrics.dropOperation(pvc.metadata.uid);
      return plan.requeueAfterMs === undefined ? undefined : { requeueAfterMs: plan.requeueAfterMs };
    } catch (thrown) {
      // Counted here; the controller decides whether and when to retry.
      metrics.recordReconcile("error", toVolpopError(thrown).code);
      throw thrown;
    }
  }

  /** Removes what a vanished PVC's population left, once the caches are sure the PVC is gone. */
  async function sweepOrphan(uid: string): Promise<undefined> {
    if (keyByUid.has(uid)) return undefined;
    const primePvc = pvcs.get(primePvcName(uid), settings.namespace);
    const pod = pods.get(populatorPodName(uid), settings.namespace);
    const owner = [primePvc, pod]
      .map((o) => o?.metadata?.annotations?.[populateForAnnotation(populator.prefix)])
      .find((value) => value !== undefined);
    if (owner === undefined) return undefined;
    // The caches say the PVC is gone; a PVC watch that lags behind the pod watch (restarting, or a
    // replica that just took over) would say so of a live one too. Ask the API server before
    // deleting anything of a population.
    const [namespace = "", name = ""] = owner.split("/");
    const live = await core
      .readNamespacedPersistentVolumeClaim({ name, namespace })
      .catch((error: unknown) => {
        if (isNotFound(error)) return undefined;
        throw error;
      });
    if (live?.metadata?.uid === uid) return undefined;
    // Stands for the vanished PVC: the executor and the strategies' clean-up need only its uid.
    const pvc: V1PersistentVolumeClaim = { metadata: { uid, name, namespace } };
    const observed: Observed = {
      now: clock.now(),
      pvc,
      source: undefined,
      referenceGranted: false,
      storageClass: undefined,
      primePvc,
      primePv: primePvc?.spec?.volumeName ? pvs.get(primePvc.spec.volumeName) : undefined,
      pod,
      podProgress: undefined,
      strategyState: strategy.runtime?.observe(uid),
    };
    const plan = reconcileOrphan(observed, { strategy, prefix: populator.prefix });
    if (plan.steps.length === 0) return undefined;
    logger.info(
      { pvcUid: uid, pvc: owner, steps: plan.steps.map((s) => s.kind) },
      "removing what the population of a deleted PVC left behind",
    );
    await execute(plan.steps, pvc, executing);
    metrics.dropOperation(uid);
    return undefined;
  }

  return { metrics, controller };
}

/** The populator prefixes added to each Manager. */
const prefixesOf = new WeakMap<Manager, Set<string>>();

/** Queue keys of PVC uids whose leftovers to look for (a user PVC's key is `namespace/name`). */
const ORPHAN_KEY_PREFIX = "orphan:";
const orphanKey = (uid: string | undefined) => (uid ? `${ORPHAN_KEY_PREFIX}${uid}` : undefined);
const POPULATOR_POD_PREFIX = populatorPodName("");

/** The collections a populator reads, as views of the Manager's shared informers. */
function populatorInformers(
  manager: Manager,
  populator: Populator<unknown>,
  namespace: string,
  { core, custom }: { core: CoreV1Api; custom: CustomObjectsApi },
) {
  const storage = manager.kubeConfig.makeApiClient(StorageV1Api);
  const { group, version, plural, kind } = populator.source;
  const isPrimePvc = primePvcTest(namespace);
  const eventSelector = "involvedObject.kind=PersistentVolumeClaim,type=Warning";
  return {
    pvcs: manager.informer<V1PersistentVolumeClaim>({
      kind: "PersistentVolumeClaim",
      path: "/api/v1/persistentvolumeclaims",
      list: (page) => core.listPersistentVolumeClaimForAllNamespaces({ ...page }),
      // The API server cannot select by dataSourceRef: drop the cluster's other PVCs as they arrive,
      // so memory follows our populations, not the cluster's size. Both tests are fixed for a PVC's
      // life (dataSourceRef is immutable).
      keep: (pvc) => refersTo(pvc, populator.source) || isPrimePvc(pvc),
    }),
    pvs: manager.informer<V1PersistentVolume>({
      kind: "PersistentVolume",
      path: "/api/v1/persistentvolumes",
      list: (page) => core.listPersistentVolume({ ...page }),
      // Like PVCs: only the PVs of populations, not every PV of the cluster.
      keep: (pv) => isPopulationPv(pv, namespace, populator.prefix),
    }),
    // By name, not by our label: a population started by upstream's controller (same names, none of
    // our labels) is carried on by this one, and its pod must be seen to be waited for and removed.
    pods: manager.informer<V1Pod>({
      kind: "Pod",
      path: `/api/v1/namespaces/${namespace}/pods`,
      list: (page) => core.listNamespacedPod({ namespace, ...page }),
      keep: (pod) => pod.metadata?.name?.startsWith(POPULATOR_POD_PREFIX) ?? false,
    }),
    storageClasses: manager.informer<V1StorageClass>({
      kind: "StorageClass",
      path: "/apis/storage.k8s.io/v1/storageclasses",
      list: (page) => storage.listStorageClass({ ...page }),
    }),
    sources: manager.informer<SourceObject>({
      kind,
      path: `/apis/${group}/${version}/${plural}`,
      list: (page) =>
        custom.listClusterCustomObject({ group, version, plural, ...page }) as Promise<
          KubernetesListObject<SourceObject>
        >,
    }),
    // ClaimMisbound is the PV controller noticing our hand-over of the PV, not a problem; Normal
    // events are the provisioner's routine and would only bury the user's own.
    primeEvents: manager.informer<CoreV1Event>({
      kind: "Event",
      path: `/api/v1/namespaces/${namespace}/events`,
      fieldSelector: eventSelector,
      list: (page) => core.listNamespacedEvent({ namespace, fieldSelector: eventSelector, ...page }),
      keep: (event) =>
        event.reason !== CLAIM_MISBOUND && (event.involvedObject?.name?.startsWith("prime-") ?? false),
    }),
  };
}

/** Whether a PVC is a PVC' of this controller: they all live in its namespace, named `prime-<uid>`. */
function primePvcTest(namespace: string) {
  return (pvc: V1PersistentVolumeClaim): boolean =>
    pvc.metadata?.namespace === namespace && (pvc.metadata.name?.startsWith("prime-") ?? false);
}
