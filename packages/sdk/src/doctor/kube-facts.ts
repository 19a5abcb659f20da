/**
 * Small pure readings of Kubernetes objects that several doctor rules share: when an event
 * happened, what ails a pod, whether a Lease is held, which quota is used up.
 */
import type {
  CoreV1Event,
  V1Lease,
  V1PersistentVolumeClaim,
  V1Pod,
  V1ResourceQuota,
  V1TypedObjectReference,
} from "@kubernetes/client-node";
import { leaseRecord } from "../leader-election.ts";
import { quantityToBytes } from "../quantity.ts";
import { startProblem } from "../strategies/pod/strategy.ts";

/** When an event last happened: core/v1's `lastTimestamp`, else events.k8s.io's times; NaN if none. */
export function eventTimeMs(event: CoreV1Event): number {
  const candidates = [
    event.lastTimestamp,
    event.series?.lastObservedTime,
    event.eventTime,
    event.firstTimestamp,
    event.metadata?.creationTimestamp,
  ];
  for (const value of candidates) {
    // client-node types these as Date but may hand over the API's strings.
    const ms = value instanceof Date ? value.getTime() : Date.parse(String(value ?? ""));
    if (!Number.isNaN(ms)) return ms;
  }
  return Number.NaN;
}

/** Events oldest first. */
export function byTime(events: readonly CoreV1Event[]): CoreV1Event[] {
  return [...events].sort((a, b) => (eventTimeMs(a) || 0) - (eventTimeMs(b) || 0));
}

/** How often an event was seen (`count`, or events.k8s.io's series). */
export function eventCount(event: CoreV1Event): number {
  return event.series?.count ?? event.count ?? 1;
}

/** The component that recorded an event. */
export function eventComponent(event: CoreV1Event): string {
  return event.reportingComponent || event.source?.component || "";
}

/** `12s`, `3m`, `5h`, `2d`: a duration the way kubectl shows ages. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 120) return `${minutes}m`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours}h`;
  return `${Math.round(hours / 24)}d`;
}

/** One line for an event: `Warning ProvisioningFailed (3×, 20s ago): message`. */
export function describeEvent(event: CoreV1Event, now: number): string {
  const at = eventTimeMs(event);
  const count = eventCount(event);
  const when = Number.isNaN(at) ? "" : `${formatDuration(now - at)} ago`;
  const meta = [count > 1 ? `${count}×` : "", when].filter(Boolean).join(", ");
  return `${event.type ?? "Normal"} ${event.reason ?? ""}${meta ? ` (${meta})` : ""}: ${event.message?.trim() ?? ""}`;
}

/** What keeps a pod from running or made it fail, in the kubelet's and the scheduler's words. */
export type PodTrouble =
  | { readonly kind: "unschedulable"; readonly message: string }
  | { readonly kind: "image-pull" | "cannot-start"; readonly reason: string; readonly message: string }
  | { readonly kind: "crash-loop"; readonly restarts: number; readonly lastTermination: string }
  | { readonly kind: "failed"; readonly message: string };

const IMAGE_PULL_REASONS = new Set([
  "ErrImagePull",
  "ImagePullBackOff",
  "InvalidImageName",
  "ErrImageNeverPull",
]);

/** The first thing wrong with a pod, or undefined for a pod that runs, succeeded, or is simply starting. */
export function podTrouble(pod: V1Pod): PodTrouble | undefined {
  if (pod.status?.phase === "Failed") {
    return { kind: "failed", message: pod.status.message ?? pod.status.reason ?? "the pod failed" };
  }
  const scheduled = pod.status?.conditions?.find((c) => c.type === "PodScheduled");
  if (scheduled?.status === "False" && scheduled.reason === "Unschedulable") {
    return { kind: "unschedulable", message: scheduled.message ?? "no node can run it" };
  }
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  const looping = statuses.find((s) => s.state?.waiting?.reason === "CrashLoopBackOff");
  if (looping) {
    return {
      kind: "crash-loop",
      restarts: looping.restartCount,
      lastTermination: describeTermination(looping.lastState?.terminated),
    };
  }
  // Between two back-offs a crash-looping container is briefly not in CrashLoopBackOff: just exited,
  // being started again, or running the second before it fails again. Not ready, and failed before
  // more than once: its restarts say what it is.
  const restarting = statuses.find(
    (s) =>
      s.restartCount >= 2 &&
      !s.ready &&
      ((s.state?.terminated ?? s.lastState?.terminated)?.exitCode ?? 0) !== 0,
  );
  if (restarting) {
    return {
      kind: "crash-loop",
      restarts: restarting.restartCount,
      lastTermination: describeTermination(restarting.state?.terminated ?? restarting.lastState?.terminated),
    };
  }
  const stuck = startProblem(pod);
  if (stuck) {
    return {
      kind: IMAGE_PULL_REASONS.has(stuck.reason) ? "image-pull" : "cannot-start",
      reason: stuck.reason,
      message: stuck.message,
    };
  }
  return undefined;
}

/** `exit code 1 (Error): message`, from a container's `terminated` state. */
export function describeTermination(
  terminated: { exitCode?: number; reason?: string; message?: string } | undefined,
): string {
  if (!terminated) return "no termination recorded";
  const message = terminated.message?.trim();
  const head = `exit code ${terminated.exitCode ?? "?"}${terminated.reason ? ` (${terminated.reason})` : ""}`;
  return message ? `${head}: ${message.length > 500 ? `${message.slice(0, 500)}…` : message}` : head;
}

/** Whether a pod is Running and Ready. */
export function podReady(pod: V1Pod): boolean {
  return (
    pod.status?.phase === "Running" &&
    (pod.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false)
  );
}

/** A Lease as leader election left it, judged at `now` by this machine's clock. */
export interface LeaseState {
  readonly namespace: string;
  readonly name: string;
  /** Empty when nobody holds it (released, or never held). */
  readonly holder: string;
  /** Since the holder last renewed it; undefined without a renew time. */
  readonly renewedAgoMs: number | undefined;
  readonly durationMs: number;
  /** Held and renewed within its duration. */
  readonly live: boolean;
}

// Clocks of two machines differ: a Lease counts as lapsed only this much after its duration.
const CLOCK_SKEW_ALLOWANCE_MS = 5_000;

/** See {@link LeaseState}. */
export function leaseState(lease: V1Lease, now: number): LeaseState {
  const record = leaseRecord(lease);
  const renewedAgoMs = record.renewTimeMs === undefined ? undefined : now - record.renewTimeMs;
  const durationMs = record.leaseDurationSeconds * 1000;
  return {
    namespace: lease.metadata?.namespace ?? "",
    name: lease.metadata?.name ?? "",
    holder: record.holder,
    renewedAgoMs,
    durationMs,
    live:
      record.holder !== "" &&
      renewedAgoMs !== undefined &&
      renewedAgoMs <= durationMs + CLOCK_SKEW_ALLOWANCE_MS,
  };
}

/** The live Lease if there is one, else the one renewed last. */
export function bestLease(leases: readonly V1Lease[], now: number): LeaseState | undefined {
  const states = leases.map((lease) => leaseState(lease, now));
  return (
    states.find((s) => s.live) ??
    states.sort((a, b) => (a.renewedAgoMs ?? Infinity) - (b.renewedAgoMs ?? Infinity))[0]
  );
}

/**
 * Pod names an identity may stand for: volpop controllers name themselves `<host name>-<pid>`, and
 * a pod's host name is its name; other controllers often use the pod name alone.
 */
export function podNamesOf(identity: string): string[] {
  const withoutPid = identity.replace(/-\d+$/, "");
  return withoutPid !== identity && withoutPid !== "" ? [identity, withoutPid] : [identity];
}

/** What a new object would add to a namespace's quotas. */
export interface QuotaNeed {
  /** A PVC of this class and size. */
  readonly pvc?: { readonly storageClassName: string | undefined; readonly storage: string | undefined };
  /** A pod. */
  readonly pod?: boolean;
}

/** A quota the new object would exceed. */
export interface QuotaShortfall {
  readonly quota: string;
  readonly namespace: string;
  readonly resource: string;
  readonly hard: string;
  readonly used: string;
}

/**
 * The quotas `need` would exceed: PVC count and storage (overall and of its class) and pod count.
 * Only what the quota's status says (`hard`, `used`); a quota whose status is not computed yet counts
 * nothing.
 */
export function quotaShortfalls(quotas: readonly V1ResourceQuota[], need: QuotaNeed): QuotaShortfall[] {
  const adds = new Map<string, number>();
  if (need.pvc) {
    const bytes = quantityToBytes(need.pvc.storage) ?? 0;
    adds.set("persistentvolumeclaims", 1);
    adds.set("count/persistentvolumeclaims", 1);
    adds.set("requests.storage", bytes);
    if (need.pvc.storageClassName) {
      const perClass = `${need.pvc.storageClassName}.storageclass.storage.k8s.io`;
      adds.set(`${perClass}/persistentvolumeclaims`, 1);
      adds.set(`${perClass}/requests.storage`, bytes);
    }
  }
  if (need.pod) {
    adds.set("pods", 1);
    adds.set("count/pods", 1);
  }
  const shortfalls: QuotaShortfall[] = [];
  for (const quota of quotas) {
    const hard = quota.status?.hard ?? {};
    const used = quota.status?.used ?? {};
    for (const [resource, add] of adds) {
      const limit = quantityToBytes(hard[resource]);
      if (limit === undefined) continue;
      const inUse = quantityToBytes(used[resource]) ?? 0;
      if (inUse + add > limit) {
        shortfalls.push({
          quota: quota.metadata?.name ?? "",
          namespace: quota.metadata?.namespace ?? "",
          resource,
          hard: hard[resource] ?? "",
          used: used[resource] ?? "0",
        });
      }
    }
  }
  return shortfalls;
}

/** One line for a quota shortfall. */
export function describeShortfall(s: QuotaShortfall): string {
  return `ResourceQuota ${s.namespace}/${s.quota}: ${s.resource} used ${s.used} of ${s.hard}`;
}

/** `dataSourceRef` kinds Kubernetes handles itself: clones and snapshot restores. */
export function isBuiltInDataSource(ref: V1TypedObjectReference): boolean {
  const group = ref.apiGroup ?? "";
  return (
    (group === "" && ref.kind === "PersistentVolumeClaim") ||
    (group === "snapshot.storage.k8s.io" && ref.kind === "VolumeSnapshot")
  );
}

/**
 * The prefix of the populator that acted on the PVC, from its finalizer (`<prefix>/populate-target-protection`)
 * or its progress annotation (`<prefix>/populate-progress`).
 */
export function prefixOnPvc(
  pvc: V1PersistentVolumeClaim,
): { prefix: string; from: "finalizer" | "annotation" } | undefined {
  for (const finalizer of pvc.metadata?.finalizers ?? []) {
    const match = /^(.+)\/populate-target-protection$/.exec(finalizer);
    if (match?.[1]) return { prefix: match[1], from: "finalizer" };
  }
  for (const key of Object.keys(pvc.metadata?.annotations ?? {})) {
    const match = /^(.+)\/populate-progress$/.exec(key);
    if (match?.[1]) return { prefix: match[1], from: "annotation" };
  }
  return undefined;
}

/** `Kind namespace/name`. */
export function objectName(kind: string, namespace: string | undefined, name: string | undefined): string {
  return `${kind} ${namespace ? `${namespace}/` : ""}${name ?? ""}`;
}
