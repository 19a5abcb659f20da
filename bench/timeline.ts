import { type KubeConfig, type KubernetesObject, Watch } from "@kubernetes/client-node";

/**
 * When each step of a population was first seen, watched from outside the controller (so it reads
 * the same for any implementation): the user's PVC, PVC' and the populator pod in the populator
 * namespace, and the PV. Named by the user PVC's uid, as PVC' (`prime-<uid>`) and the pod
 * (`populate-<uid>`) are, upstream's and ours alike.
 */
export const MILESTONES = [
  "created",
  "finalizer",
  "primeCreated",
  "primeBound",
  "podCreated",
  "podScheduled",
  "podRunning",
  "podSucceeded",
  "pvClaimedByPvc",
  "bound",
  "primeDeleted",
  "podDeleted",
] as const;
export type Milestone = (typeof MILESTONES)[number];

/** One population's milestones, in ms since the epoch. */
export type PopulationTimeline = Partial<Record<Milestone, number>>;

interface Watched extends KubernetesObject {
  spec?: { claimRef?: { uid?: string }; nodeName?: string };
  status?: { phase?: string; containerStatuses?: { state?: { running?: unknown; terminated?: unknown } }[] };
}

export interface TimelineRecorder {
  /** Marks `created` for a PVC (the benchmark creates it, so it knows best). */
  created(uid: string, at: number): void;
  readonly timelines: ReadonlyMap<string, PopulationTimeline>;
  stop(): void;
}

/**
 * Starts the watches and resolves once each has opened. `userNamespace` holds the user's PVCs,
 * `populatorNamespace` PVC' and the pods.
 */
export async function recordTimelines(
  kubeConfig: KubeConfig,
  userNamespace: string,
  populatorNamespace: string,
): Promise<TimelineRecorder> {
  const timelines = new Map<string, PopulationTimeline>();
  const mark = (uid: string | undefined, milestone: Milestone) => {
    if (!uid) return;
    let timeline = timelines.get(uid);
    if (!timeline) {
      timeline = {};
      timelines.set(uid, timeline);
    }
    timeline[milestone] ??= Date.now();
  };
  const uidAfter = (name: string | undefined, prefix: string) =>
    name?.startsWith(prefix) ? name.slice(prefix.length) : undefined;

  const watch = new Watch(kubeConfig);
  const controllers: AbortController[] = [];
  const open = async (path: string, onEvent: (type: string, object: Watched) => void) => {
    controllers.push(
      await watch.watch(path, {}, onEvent, () => {
        // A watch that ends early only loses milestones; the report shows them as missing.
      }),
    );
  };
  await open(`/api/v1/namespaces/${userNamespace}/persistentvolumeclaims`, (_type, pvc) => {
    const uid = pvc.metadata?.uid;
    if (pvc.metadata?.finalizers?.some((f) => f.endsWith("/populate-target-protection")))
      mark(uid, "finalizer");
    if (pvc.status?.phase === "Bound") mark(uid, "bound");
  });
  await open(`/api/v1/namespaces/${populatorNamespace}/persistentvolumeclaims`, (type, pvc) => {
    const uid = uidAfter(pvc.metadata?.name, "prime-");
    mark(uid, "primeCreated");
    if (pvc.status?.phase === "Bound") mark(uid, "primeBound");
    if (type === "DELETED") mark(uid, "primeDeleted");
  });
  await open(`/api/v1/namespaces/${populatorNamespace}/pods`, (type, pod) => {
    const uid = uidAfter(pod.metadata?.name, "populate-");
    mark(uid, "podCreated");
    if (pod.spec?.nodeName) mark(uid, "podScheduled");
    if (pod.status?.containerStatuses?.some((c) => c.state?.running || c.state?.terminated))
      mark(uid, "podRunning");
    if (pod.status?.phase === "Succeeded") mark(uid, "podSucceeded");
    if (type === "DELETED") mark(uid, "podDeleted");
  });
  await open("/api/v1/persistentvolumes", (_type, pv) => {
    const uid = pv.spec?.claimRef?.uid;
    if (uid && timelines.has(uid)) mark(uid, "pvClaimedByPvc");
  });
  return {
    created: (uid, at) => {
      const timeline = timelines.get(uid) ?? {};
      timeline.created = at;
      timelines.set(uid, timeline);
    },
    timelines,
    stop: () => {
      for (const controller of controllers) controller.abort();
    },
  };
}

/** The steps between consecutive milestones that every population of an implementation reached. */
export const PHASES: readonly (readonly [Milestone, Milestone])[] = [
  ["created", "finalizer"],
  ["finalizer", "primeCreated"],
  ["primeCreated", "primeBound"],
  ["primeBound", "podCreated"],
  ["podCreated", "podScheduled"],
  ["podScheduled", "podRunning"],
  ["podRunning", "podSucceeded"],
  ["podSucceeded", "pvClaimedByPvc"],
  ["pvClaimedByPvc", "bound"],
  ["bound", "primeDeleted"],
];

/** Seconds spent in each phase, per population; undefined when a milestone was not seen. */
export function phaseSeconds(timeline: PopulationTimeline): Record<string, number | undefined> {
  const result: Record<string, number | undefined> = {};
  for (const [from, to] of PHASES) {
    const start = timeline[from];
    const end = timeline[to];
    result[`${from}→${to}`] = start !== undefined && end !== undefined ? (end - start) / 1000 : undefined;
  }
  return result;
}
