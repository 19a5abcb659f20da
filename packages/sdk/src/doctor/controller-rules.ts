/**
 * Whether a controller serves a populator's kind, from what it leaves visible: its Lease (with
 * `--leader-election`, named `<prefix>-populator`) and the pod behind its identity. Shared by
 * `doctor pvc` and `doctor cluster`. Pure.
 */
import type { V1Pod } from "@kubernetes/client-node";
import { type Finding, FindingCode, finding } from "./findings.ts";
import {
  bestLease,
  formatDuration,
  type LeaseState,
  type PodTrouble,
  podReady,
  podTrouble,
} from "./kube-facts.ts";
import type { ControllerFacts } from "./snapshot.ts";

/** What the Lease and the controller's pod say. */
export interface ControllerReading {
  /** The Lease that counts (the live one, else the one renewed last); undefined when there is none. */
  readonly lease: LeaseState | undefined;
  /** CONTROLLER_LEADING, NO_LEADER, CONTROLLER_POD_UNHEALTHY, as they apply. */
  readonly findings: readonly Finding[];
  /** One line on the controller's pod, for other findings' evidence. */
  readonly podLine: string | undefined;
}

/** Reads {@link ControllerFacts}; `subject` names the kind in sentences, e.g. `Hello (hello.example.com)`. */
export function readController(facts: ControllerFacts, now: number, subject: string): ControllerReading {
  const findings: Finding[] = [];
  const leases = facts.leases.state === "found" ? facts.leases.value : [];
  const lease = bestLease(leases, now);
  const podLine = describeControllerPod(facts);
  if (lease?.live) {
    findings.push(
      finding("ok", FindingCode.ControllerLeading, {
        what: `A controller leads for ${subject}: ${lease.holder}`,
        why: "It holds its leader election Lease and renews it in time.",
        evidence: [describeLease(lease), podLine],
      }),
    );
  } else if (lease) {
    const how =
      lease.holder === ""
        ? "Its Lease was released (the controller stopped) and no other replica has taken it."
        : `Its Lease names ${lease.holder}, who last renewed it ${ago(lease.renewedAgoMs)}, but a holder must renew it within ${formatDuration(lease.durationMs)}: that controller stopped, or cannot reach the API server.`;
    findings.push(
      finding("error", FindingCode.NoLeader, {
        what: `No controller leads for ${subject}`,
        why: `${how} Without a leader nothing is populated.`,
        fix: `Look at the populator's Deployment in namespace ${lease.namespace}: kubectl -n ${lease.namespace} get deploy,pods, then kubectl -n ${lease.namespace} logs <its pod>.`,
        evidence: [describeLease(lease), podLine],
      }),
    );
  }
  const pod = facts.pod?.pod.state === "found" ? facts.pod.pod.value : undefined;
  const trouble = pod && controllerPodTrouble(pod);
  if (pod && trouble) {
    findings.push(
      finding("error", FindingCode.ControllerPodUnhealthy, {
        what: `The controller's pod ${pod.metadata?.namespace}/${pod.metadata?.name} for ${subject} ${trouble}`,
        why: `The controller for ${subject} runs in that pod (identity ${facts.pod?.identity}); while it is unhealthy it populates nothing.`,
        fix: `kubectl -n ${pod.metadata?.namespace} describe pod ${pod.metadata?.name}; kubectl -n ${pod.metadata?.namespace} logs ${pod.metadata?.name} --previous`,
        evidence: [podLine],
      }),
    );
  }
  return { lease, findings, podLine };
}

/** A Lease in one line. */
export function describeLease(lease: LeaseState): string {
  return `Lease ${lease.namespace}/${lease.name}: holder ${lease.holder || "(none)"}, renewed ${ago(lease.renewedAgoMs)}, duration ${formatDuration(lease.durationMs)}`;
}

function ago(ms: number | undefined): string {
  return ms === undefined ? "never" : `${formatDuration(ms)} ago`;
}

/** What is wrong with a controller's pod, as the rest of a sentence; undefined when it runs and is ready. */
function controllerPodTrouble(pod: V1Pod): string | undefined {
  const trouble = podTrouble(pod);
  if (trouble) return describePodTrouble(trouble);
  if (pod.status?.phase === "Succeeded") return "has exited";
  if (pod.status?.phase === "Running" && !podReady(pod)) {
    return "runs but is not Ready (its /readyz fails: a watch has not synced, or the API server cannot be reached)";
  }
  return undefined;
}

/** A pod's trouble as the rest of a sentence: `cannot pull its image: …`. */
export function describePodTrouble(trouble: PodTrouble): string {
  switch (trouble.kind) {
    case "unschedulable":
      return `cannot be scheduled: ${trouble.message}`;
    case "image-pull":
      return `cannot pull its image (${trouble.reason})${trouble.message ? `: ${trouble.message}` : ""}`;
    case "cannot-start":
      return `cannot start (${trouble.reason})${trouble.message ? `: ${trouble.message}` : ""}`;
    case "crash-loop":
      return `keeps crashing (CrashLoopBackOff, ${trouble.restarts} restarts); last: ${trouble.lastTermination}`;
    case "failed":
      return `failed: ${trouble.message}`;
  }
}

function describeControllerPod(facts: ControllerFacts): string | undefined {
  const lookup = facts.pod;
  if (!lookup) return undefined;
  if (lookup.pod.state === "absent") {
    return `No pod named after the controller's identity ${lookup.identity} (it runs outside the cluster, or names itself otherwise)`;
  }
  if (lookup.pod.state !== "found") return undefined;
  return describePod(lookup.pod.value);
}

/** A pod in one line: `Pod ns/name: Running, not Ready, 3 restarts, keeps crashing (…)`. */
export function describePod(pod: V1Pod): string {
  const restarts = (pod.status?.containerStatuses ?? []).reduce((sum, c) => sum + c.restartCount, 0);
  const trouble = podTrouble(pod);
  return `Pod ${pod.metadata?.namespace}/${pod.metadata?.name}: ${pod.status?.phase ?? "Unknown"}${podReady(pod) ? ", Ready" : ", not Ready"}${restarts > 0 ? `, ${restarts} restarts` : ""}${trouble ? `, ${describePodTrouble(trouble)}` : ""}`;
}
