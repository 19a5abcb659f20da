/**
 * The rules for a population under way: PVC', the populator pod, retries and progress, read from
 * what the controller leaves on them (see names.ts and strategies/attempts.ts). Pure.
 */
import type { CoreV1Event, V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import { EventReason, REFUSED_BY_API_SERVER } from "../events.ts";
import {
  populateAttemptsAnnotation,
  populateLastFailureAnnotation,
  populateProgressAnnotation,
  populateStateAnnotation,
  populateStrategyAnnotation,
} from "../names.ts";
import { retryDelayMs, withDefaults } from "../settings.ts";
import {
  FAST_PATH,
  FastPathEventReason,
  fastPathBackendAnnotation,
} from "../strategies/csi-fastpath/names.ts";
import { failureMessage } from "../strategies/pod/strategy.ts";
import { describePodTrouble } from "./controller-rules.ts";
import { type Finding, FindingCode, finding } from "./findings.ts";
import {
  byTime,
  describeEvent,
  describeShortfall,
  formatDuration,
  podTrouble,
  type QuotaNeed,
  quotaShortfalls,
} from "./kube-facts.ts";
import type { PopulationFacts, Read } from "./snapshot.ts";

/** What the population rules look at. */
export interface PopulationContext {
  readonly now: number;
  /** The user's PVC. */
  readonly pvc: V1PersistentVolumeClaim;
  readonly prefix: string;
  readonly facts: PopulationFacts;
  /** Events the populator's controller recorded on the user's PVC, oldest first. */
  readonly populatorEvents: readonly CoreV1Event[];
  /**
   * Whether the controller took the PVC in hand: its finalizer, added with the creation of PVC'
   * (a controller that reports a missing source has acted, but creates nothing yet).
   */
  readonly tookInHand: boolean;
}

/** How long after the controller took a PVC in hand PVC' may still be missing without a word. */
export const PRIME_PVC_GRACE_MS = 30_000;

// The controller's PopulatorFailed messages (strategies/attempts.ts).
const RETRY_MESSAGE = /failed \(attempt (\d+) of (\d+)\): ([\s\S]*); retrying in (\d+)s$/;
const GIVE_UP_MESSAGE =
  /failed (\d+) times, giving up: ([\s\S]*)\. Delete and re-create the PVC to try again\.$/;
// Its PopulatorPodNotStarting message (strategies/pod/strategy.ts).
const NOT_STARTING_DEADLINE = /\(attempt (\d+) fails at (\S+) unless it starts\)$/;

/** Findings about PVC', the populator pod, retries and progress; empty before the controller takes the PVC. */
export function populationFindings(ctx: PopulationContext): Finding[] {
  const { facts, prefix, pvc } = ctx;
  const prime = found(facts.primePvc);
  const progress = pvc.metadata?.annotations?.[populateProgressAnnotation(prefix)];
  const progressLine =
    progress === undefined ? undefined : `PVC annotation ${populateProgressAnnotation(prefix)}: ${progress}`;
  if (prime?.metadata?.annotations?.[populateStateAnnotation(prefix)] === "failed") {
    return [givenUp(ctx, prime, progress, progressLine), ...podFindings(ctx, found(facts.pod))];
  }
  if (!prime) return facts.primePvc.state === "absent" && ctx.tookInHand ? missingPrimePvc(ctx) : [];

  const findings: Finding[] = [];
  const primeName = `${prime.metadata?.namespace}/${prime.metadata?.name}`;
  const strategy = prime.metadata?.annotations?.[populateStrategyAnnotation(prefix)];
  if (strategy === FAST_PATH) findings.push(fastPath(ctx, prime, progressLine));
  if (prime.status?.phase !== "Bound") {
    findings.push(primePending(ctx, prime));
    return findings;
  }
  const primePv = found(facts.primePv ?? { state: "absent" });
  if (primePv && primePv.spec?.claimRef?.uid === pvc.metadata?.uid) {
    findings.push(
      finding("info", FindingCode.HandingOver, {
        what: `The volume is filled and handed over; Kubernetes binds it to the PVC next`,
        why: `PV ${primePv.metadata?.name} (PVC''s) now names the user's PVC in its claimRef; the PV controller binds the two within seconds.`,
        evidence: [`PV ${primePv.metadata?.name}: claimRef ${pvc.metadata?.namespace}/${pvc.metadata?.name}`],
      }),
    );
    return findings;
  }
  const pod = found(facts.pod);
  if (pod) return [...findings, ...podFindings(ctx, pod)];
  const failures = attemptsOn(prime, prefix);
  if (failures > 0) return [...findings, retrying(ctx, prime, failures, progressLine)];
  if (strategy !== undefined && strategy !== "pod") {
    if (strategy !== FAST_PATH) {
      findings.push(
        finding("info", FindingCode.Populating, {
          what: `Populating with the populator's own functions (strategy ${strategy})${progress ? `: ${progress}` : ""}`,
          why: "This populator fills PVC' itself, without a pod; only its events and progress show how far it is.",
          evidence: [`PVC' ${primeName}: ${populateStrategyAnnotation(prefix)}=${strategy}`, progressLine],
        }),
      );
    }
    return findings;
  }
  findings.push(missingPod(ctx, prime));
  return findings;
}

function found<T>(read: Read<T>): T | undefined {
  return read.state === "found" ? read.value : undefined;
}

function attemptsOn(object: { metadata?: { annotations?: Record<string, string> } }, prefix: string): number {
  return Number.parseInt(object.metadata?.annotations?.[populateAttemptsAnnotation(prefix)] ?? "0", 10) || 0;
}

function latestEvent(
  events: readonly CoreV1Event[],
  test: (e: CoreV1Event) => boolean,
): CoreV1Event | undefined {
  return byTime(events.filter(test)).at(-1);
}

/** The controller's latest PopulatorFailed event whose message matches `pattern`, and the match. */
function failedEvent(
  ctx: PopulationContext,
  pattern: RegExp,
): { event: CoreV1Event | undefined; match: RegExpExecArray | null } {
  const message = (e: CoreV1Event | undefined) => e?.message?.trim() ?? "";
  const event = latestEvent(
    ctx.populatorEvents,
    (e) => e.reason === EventReason.Failed && pattern.test(message(e)),
  );
  return { event, match: pattern.exec(message(event)) };
}

function givenUp(
  ctx: PopulationContext,
  prime: V1PersistentVolumeClaim,
  progress: string | undefined,
  progressLine: string | undefined,
): Finding {
  const { event, match } = failedEvent(ctx, GIVE_UP_MESSAGE);
  const failures = match?.[1] ?? String(attemptsOn(prime, ctx.prefix));
  const why = match?.[2] ?? progress?.replace(/^failed: /, "") ?? "see the PVC's events";
  const { namespace, name } = ctx.pvc.metadata ?? {};
  return finding("error", FindingCode.GaveUp, {
    what: `The population failed ${failures} times and was given up`,
    why: `The last failure: ${why}. The controller does not try again by itself.`,
    fix: `Fix the cause, then delete and re-create the PVC (kubectl -n ${namespace} delete pvc ${name}, then apply it again).`,
    evidence: [
      `PVC' ${prime.metadata?.namespace}/${prime.metadata?.name}: ${populateStateAnnotation(ctx.prefix)}=failed, ${populateAttemptsAnnotation(ctx.prefix)}=${attemptsOn(prime, ctx.prefix)}`,
      event && describeEvent(event, ctx.now),
      progressLine,
    ],
  });
}

function missingPrimePvc(ctx: PopulationContext): Finding[] {
  const { facts, pvc } = ctx;
  const namespace = facts.populatorNamespace?.name;
  const need: QuotaNeed = {
    pvc: { storageClassName: pvc.spec?.storageClassName, storage: pvc.spec?.resources?.requests?.storage },
  };
  const quotas = facts.populatorQuotas?.state === "found" ? facts.populatorQuotas.value : [];
  const shortfalls = quotaShortfalls(quotas, need);
  const refused = latestEvent(ctx.populatorEvents, (e) => e.reason === EventReason.PvcPrimeCreationError);
  if (shortfalls.length > 0) {
    return [
      finding("error", FindingCode.QuotaExceeded, {
        what: `A ResourceQuota in the populator's namespace ${namespace} leaves no room for PVC'`,
        why: "The controller creates PVC' there, the same size and class as this PVC, to receive the data; the API server refuses it while the quota is used up, and the controller tries again with back-off.",
        fix: `Raise or remove the quota (kubectl -n ${namespace} describe resourcequota), or free what it counts.`,
        evidence: [...shortfalls.map(describeShortfall), refused && describeEvent(refused, ctx.now)],
      }),
    ];
  }
  if (refused && byApiServer(refused)) {
    return [
      finding("error", FindingCode.PrimePvcNotCreated, {
        what: `The API server refuses PVC'${namespace ? ` in ${namespace}` : ""}`,
        why: `${refused.message?.trim() ?? ""}. The controller tries again with back-off.`,
        fix: `Lift what the message names: a ResourceQuota or LimitRange of the populator's namespace (kubectl -n ${namespace ?? "<populator namespace>"} describe resourcequota,limitrange), an admission policy or webhook, or the controller's RBAC.`,
        evidence: [describeEvent(refused, ctx.now)],
      }),
    ];
  }
  if (refused) {
    return [
      finding("error", FindingCode.PrimePvcNotCreated, {
        what: "The controller cannot create PVC'",
        why: refused.message?.trim() ?? "",
        fix: "The populator's mutatePrimePvc returns a PVC' the SDK refuses: a bug for the populator's authors.",
        evidence: [describeEvent(refused, ctx.now)],
      }),
    ];
  }
  const created = Date.parse(String(pvc.metadata?.creationTimestamp ?? ""));
  if (Number.isNaN(created) || ctx.now - created < PRIME_PVC_GRACE_MS) {
    return [
      finding("info", FindingCode.CreatingPrimePvc, {
        what: "The controller took the PVC in hand; PVC' comes next",
        why: `It creates PVC' (prime-${pvc.metadata?.uid}) ${namespace ? `in ${namespace}` : "in its namespace"} to receive the data, then fills it.`,
      }),
    ];
  }
  return [
    finding("warning", FindingCode.PrimePvcNotCreated, {
      what: `The controller took the PVC in hand ${formatDuration(ctx.now - created)} ago but PVC' does not exist`,
      why: `It creates PVC' (prime-${pvc.metadata?.uid}) ${namespace ? `in ${namespace}` : "in its namespace"} right after, and says on this PVC when the API server refuses it; it said nothing. Most likely it stopped in between (it crashed, was scaled down or lost its Lease), or it cannot record events.`,
      fix: `See whether the populator's controller runs (kubectl get deploy -A | grep -i populator, then its pod's log); once it runs again it carries on by itself.${namespace ? "" : " Give doctor --populator-namespace to let it check the quotas there."}`,
      evidence: [
        namespace
          ? `no PVC prime-${pvc.metadata?.uid} in ${namespace}`
          : `no PVC prime-${pvc.metadata?.uid} in any namespace`,
        "no PopulatorPVCPrimeCreationError event on the PVC",
      ],
    }),
  ];
}

/** Whether a creation error event says the API server refused the object (executor.ts), not the SDK. */
function byApiServer(event: CoreV1Event): boolean {
  return event.message?.includes(`not created: ${REFUSED_BY_API_SERVER}: `) ?? false;
}

function fastPath(
  ctx: PopulationContext,
  prime: V1PersistentVolumeClaim,
  progressLine: string | undefined,
): Finding {
  const backend = prime.metadata?.annotations?.[fastPathBackendAnnotation(ctx.prefix)];
  const fallback = latestEvent(ctx.populatorEvents, (e) => e.reason === FastPathEventReason.FastPathFallback);
  return finding("info", FindingCode.FastPath, {
    what: `A CSI fast-path backend fills the volume${backend ? ` (${backend})` : ""}`,
    why: "The storage vendor's backend copies the data itself, without a populator pod. Its operation's state lives in the backend: doctor can show only the PVC's progress and events.",
    evidence: [
      `PVC' ${prime.metadata?.namespace}/${prime.metadata?.name}: ${populateStrategyAnnotation(ctx.prefix)}=${FAST_PATH}`,
      progressLine,
      fallback && describeEvent(fallback, ctx.now),
    ],
  });
}

function primePending(ctx: PopulationContext, prime: V1PersistentVolumeClaim): Finding {
  const events = ctx.facts.primePvcEvents.state === "found" ? ctx.facts.primePvcEvents.value : [];
  const last = byTime(events).at(-1);
  const created = Date.parse(String(prime.metadata?.creationTimestamp ?? ""));
  const age = Number.isNaN(created) ? 0 : ctx.now - created;
  const severity = last?.type === "Warning" ? "error" : age > 60_000 ? "warning" : "info";
  const primeName = `${prime.metadata?.namespace}/${prime.metadata?.name}`;
  return finding(severity, FindingCode.PrimePvcPending, {
    what: `PVC' ${primeName} has no volume yet${age > 0 ? ` (${formatDuration(age)})` : ""}`,
    why: last
      ? `The storage says: ${last.reason}: ${last.message?.trim()}`
      : `The provisioner of StorageClass ${prime.spec?.storageClassName} has not created a volume for it yet.`,
    fix:
      severity === "info"
        ? ""
        : `Check the StorageClass's provisioner (kubectl get storageclass ${prime.spec?.storageClassName}; its CSI driver's controller logs) and PVC''s events: kubectl -n ${prime.metadata?.namespace} describe pvc ${prime.metadata?.name}.`,
    evidence: [
      `PVC' ${primeName}: ${prime.status?.phase ?? "Pending"}`,
      ...events.slice(-3).map((e) => describeEvent(e, ctx.now)),
    ],
  });
}

/** What the populator pod shows: running, finished, failed, or why it does not start. */
function podFindings(ctx: PopulationContext, pod: V1Pod | undefined): Finding[] {
  if (!pod) return [];
  const podName = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
  const attempt = attemptsOn(pod, ctx.prefix);
  const attemptNote = attempt > 1 ? ` (attempt ${attempt})` : "";
  const podEvents = ctx.facts.podEvents.state === "found" ? ctx.facts.podEvents.value : [];
  const lastPodWarning = latestEvent(podEvents, (e) => e.type === "Warning");
  const podLine = `Pod ${podName}: ${pod.status?.phase ?? "Pending"}${attemptNote}`;
  const progress = ctx.pvc.metadata?.annotations?.[populateProgressAnnotation(ctx.prefix)];
  const phase = pod.status?.phase;
  if (phase === "Succeeded") {
    return [
      finding("info", FindingCode.HandingOver, {
        what: "The populator pod finished; the controller hands the volume over next",
        why: "It moves PVC''s volume to the PVC, then removes the pod and PVC'.",
        evidence: [podLine],
      }),
    ];
  }
  if (phase === "Failed") {
    return [
      finding("error", FindingCode.PodFailed, {
        what: `The populator pod failed${attemptNote}`,
        why: failureMessage(pod),
        fix: `kubectl -n ${pod.metadata?.namespace} logs ${pod.metadata?.name}; fix what it says (often the source's spec, or the volume's size).`,
        evidence: [podLine],
      }),
    ];
  }
  const trouble = podTrouble(pod);
  if (!trouble && phase === "Running") {
    return [
      finding("info", FindingCode.Populating, {
        what: `Populating${attemptNote}: ${progress?.replace(/^populating:?\s*/, "") || "no progress reported yet"}`,
        why: "The populator pod runs and writes the data; the controller copies its progress onto the PVC every few seconds.",
        evidence: [
          podLine,
          progress && `PVC annotation ${populateProgressAnnotation(ctx.prefix)}: ${progress}`,
        ],
      }),
    ];
  }
  if (!trouble) {
    return [
      finding(lastPodWarning ? "warning" : "info", FindingCode.PodPending, {
        what: `The populator pod is starting${attemptNote}`,
        why: lastPodWarning
          ? `${lastPodWarning.reason}: ${lastPodWarning.message?.trim()}`
          : "Kubernetes is scheduling it, pulling its image or mounting PVC'.",
        evidence: [podLine, lastPodWarning && describeEvent(lastPodWarning, ctx.now)],
      }),
    ];
  }
  const deadline = latestEvent(ctx.populatorEvents, (e) => e.reason === EventReason.PodNotStarting);
  const until = NOT_STARTING_DEADLINE.exec(deadline?.message?.trim() ?? "");
  const giveUpNote = until?.[2]
    ? ` The controller fails attempt ${until[1]} at ${until[2]} (in ${formatDuration(Date.parse(until[2]) - ctx.now)}) unless it starts, then retries or gives up.`
    : "";
  const describe = kubectlDescribe(pod);
  switch (trouble.kind) {
    case "unschedulable":
      return [
        finding("error", FindingCode.PodUnschedulable, {
          what: `The populator pod cannot be scheduled${attemptNote}`,
          why: `${trouble.message} It must run where PVC''s volume is reachable and its node selector, affinity and tolerations allow; the controller waits for it without a deadline.`,
          fix: `Make room or a matching node, or correct the populator's pod settings (nodeSelector, tolerations). ${describe}`,
          evidence: [podLine, lastPodWarning && describeEvent(lastPodWarning, ctx.now)],
        }),
      ];
    case "image-pull":
      return [
        finding("error", FindingCode.PodImagePull, {
          what: `The populator pod cannot pull its image ${pod.spec?.containers[0]?.image ?? ""}${attemptNote}`.trim(),
          why: `${trouble.reason}${trouble.message ? `: ${trouble.message}` : ""}.${giveUpNote}`,
          fix: `Check the image name and that the node can reach its registry (imagePullSecrets for a private one; the populator's --image-name). ${describe}`,
          evidence: [podLine, deadline && describeEvent(deadline, ctx.now)],
        }),
      ];
    case "cannot-start":
      return [
        finding("error", FindingCode.PodCannotStart, {
          what: `The populator pod cannot start${attemptNote}`,
          why: `${describePodTrouble(trouble)}.${giveUpNote}`,
          fix: describe,
          evidence: [podLine, deadline && describeEvent(deadline, ctx.now)],
        }),
      ];
    case "crash-loop":
      return [
        finding("error", FindingCode.PodCrashLoop, {
          what: `The populator pod keeps crashing${attemptNote}`,
          why: describePodTrouble(trouble),
          fix: `kubectl -n ${pod.metadata?.namespace} logs ${pod.metadata?.name} --previous`,
          evidence: [podLine],
        }),
      ];
    case "failed":
      return [];
  }
}

function kubectlDescribe(pod: V1Pod): string {
  return `kubectl -n ${pod.metadata?.namespace} describe pod ${pod.metadata?.name} shows the details.`;
}

function retrying(
  ctx: PopulationContext,
  prime: V1PersistentVolumeClaim,
  failures: number,
  progressLine: string | undefined,
): Finding {
  const { event, match } = failedEvent(ctx, RETRY_MESSAGE);
  const sameAttempt = match !== null && Number(match[1]) === failures;
  const lastFailure = Date.parse(
    prime.metadata?.annotations?.[populateLastFailureAnnotation(ctx.prefix)] ?? "",
  );
  // The event says the delay this controller chose; without it, the default settings' delay is a guess.
  const delayMs = sameAttempt
    ? Number(match[4]) * 1000
    : retryDelayMs(withDefaults({ namespace: "" }), failures);
  const next = Number.isNaN(lastFailure) ? undefined : lastFailure + delayMs;
  const why = (sameAttempt ? match[3] : undefined) ?? progressText(ctx) ?? "see the PVC's events";
  const max = sameAttempt ? ` of ${match[2]}` : "";
  const when =
    next === undefined
      ? "soon"
      : next > ctx.now
        ? `in ${formatDuration(next - ctx.now)} (${new Date(next).toISOString()})`
        : "now";
  return finding("warning", FindingCode.Retrying, {
    what: `Attempt ${failures}${max} failed; the next starts ${when}`,
    why: `The last failure: ${why}`,
    fix: "Nothing, if the cause has passed. Otherwise fix it before the attempts run out: after the last one the population is given up.",
    evidence: [
      `PVC' ${prime.metadata?.namespace}/${prime.metadata?.name}: ${populateAttemptsAnnotation(ctx.prefix)}=${failures}, ${populateLastFailureAnnotation(ctx.prefix)}=${prime.metadata?.annotations?.[populateLastFailureAnnotation(ctx.prefix)] ?? "(none)"}`,
      event && describeEvent(event, ctx.now),
      sameAttempt
        ? undefined
        : "next attempt estimated with the default retry delays (10s, doubling, at most 5m)",
      progressLine,
    ],
  });
}

function progressText(ctx: PopulationContext): string | undefined {
  return ctx.pvc.metadata?.annotations?.[populateProgressAnnotation(ctx.prefix)]?.replace(
    /^retrying after failure: /,
    "",
  );
}

/** Label of the Pod Security level a namespace enforces. */
const POD_SECURITY_ENFORCE = "pod-security.kubernetes.io/enforce";

/** How long after PVC' was created a missing pod means the API server refuses it. */
export const POD_GRACE_MS = 60_000;

function missingPod(ctx: PopulationContext, prime: V1PersistentVolumeClaim): Finding {
  const primeName = `${prime.metadata?.namespace}/${prime.metadata?.name}`;
  const namespace = ctx.facts.populatorNamespace?.name;
  const quotas = ctx.facts.populatorQuotas?.state === "found" ? ctx.facts.populatorQuotas.value : [];
  const shortfalls = quotaShortfalls(quotas, { pod: true });
  const refused = latestEvent(ctx.populatorEvents, (e) => e.reason === EventReason.CreationError);
  const enforce = ctx.facts.populatorNamespaceLabels?.[POD_SECURITY_ENFORCE];
  const enforceLine = enforce && `Namespace ${namespace}: ${POD_SECURITY_ENFORCE}=${enforce}`;
  if (shortfalls.length > 0) {
    return finding("error", FindingCode.QuotaExceeded, {
      what: `A ResourceQuota in the populator's namespace ${namespace} leaves no room for the populator pod`,
      why: "The API server refuses the pod while the quota is used up, and the controller tries again with back-off.",
      fix: `Raise the quota (kubectl -n ${namespace} describe resourcequota), or free what it counts.`,
      evidence: [...shortfalls.map(describeShortfall), refused && describeEvent(refused, ctx.now)],
    });
  }
  if (refused && byApiServer(refused)) {
    const podSecurity = /PodSecurity/.test(refused.message ?? "");
    return finding("error", FindingCode.PodNotCreated, {
      what: `The API server refuses the populator pod${podSecurity ? ": Pod Security admission" : ""}`,
      why: `${refused.message?.trim() ?? ""}. The controller tries again with back-off.`,
      fix: podSecurity
        ? `Let the populator's namespace admit it: kubectl label namespace ${namespace ?? "<populator namespace>"} --overwrite ${POD_SECURITY_ENFORCE}=baseline (a populator pod runs as root for a Block volume, or when its populator asks, which the restricted level refuses).`
        : "Lift what the message names: a ResourceQuota, an admission policy or webhook, or the controller's RBAC.",
      evidence: [describeEvent(refused, ctx.now), enforceLine],
    });
  }
  if (refused) {
    return finding("error", FindingCode.PodNotCreated, {
      what: "The controller does not create the populator pod",
      why: refused.message?.trim() ?? "",
      fix: "The populator's mutatePod returns a pod the SDK refuses: a bug for the populator's authors.",
      evidence: [describeEvent(refused, ctx.now)],
    });
  }
  const created = Date.parse(String(prime.metadata?.creationTimestamp ?? ""));
  const age = Number.isNaN(created) ? 0 : ctx.now - created;
  if (age < POD_GRACE_MS) {
    return finding("info", FindingCode.WaitingForPod, {
      what: "PVC' is bound; the populator pod comes next",
      why: "The controller creates the pod once PVC' is bound, in its next reconcile.",
      evidence: [`PVC' ${primeName}: Bound`],
    });
  }
  return finding("warning", FindingCode.PodNotCreated, {
    what: `PVC' has been bound for ${formatDuration(age)} but there is no populator pod`,
    why: `The controller creates the pod once PVC' is bound, and says on this PVC when the API server refuses it; it said nothing. Most likely it stopped (it crashed, was scaled down or lost its Lease), or it cannot record events.${enforce ? ` Namespace ${namespace} enforces the ${enforce} Pod Security level, which a pod must meet.` : ""}`,
    fix: "See whether the populator's controller runs (kubectl get deploy -A | grep -i populator, then its pod's log); once it runs again it carries on by itself.",
    evidence: [`PVC' ${primeName}: Bound`, "no PopulatorCreationError event on the PVC", enforceLine],
  });
}
