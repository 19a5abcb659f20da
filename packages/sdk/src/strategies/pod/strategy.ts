import type {
  V1ContainerStatus,
  V1Pod,
  V1PodSecurityContext,
  V1SecurityContext,
  V1Volume,
  V1VolumeMount,
} from "@kubernetes/client-node";
import { EventReason } from "../../events.ts";
import { applyMutator, type Mutated, podHardeningProblems, podIdentityProblems } from "../../mutators.ts";
import {
  copiedObjectName,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  POPULATE_FOR_LABEL,
  POPULATOR_CONTAINER_NAME,
  POPULATOR_VOLUME_NAME,
  populateAttemptsAnnotation,
  populateForAnnotation,
  populatorPodName,
  primePvcName,
} from "../../names.ts";
import type { Observed } from "../../observed.ts";
import type { Step } from "../../plan.ts";
import { TARGET_ENV } from "../../populate.ts";
import {
  DEFAULT_DEVICE_PATH,
  DEFAULT_MOUNT_PATH,
  DEFAULT_POD_DEADLINE_SECONDS,
  type PopulatorPodSpec,
} from "../../populator.ts";
import { describeProgress } from "../../progress.ts";
import { consumerNode } from "../../selected-node.ts";
import { ENV_STRING_LIMIT_BYTES, oversizedEnv, SPEC_ENV, specEnvVar } from "../../spec-env.ts";
import type { FillInput, FillOutcome, Strategy } from "../../strategy.ts";
import { failAttempt, failuresSoFar, waitForRetry } from "../attempts.ts";

/** The non-root identity populator pods run as by default (the conventional "nonroot" uid). */
export const POPULATOR_UID = 65532;

/**
 * Upstream's strategy: a pod mounts PVC' and writes the data. Beyond upstream, failures are retried
 * with growing delays and given up after `maxAttempts`, with the count kept on PVC' so a restarted
 * controller carries on where the last one stopped.
 */
export const podStrategy: Strategy = {
  name: "pod",
  fill: fillWithPod,
  cleanup: (observed: Observed): readonly Step[] => (observed.pod ? [{ kind: "deletePod" }] : []),
};

function fillWithPod(input: FillInput): FillOutcome {
  const { observed, settings, prefix } = input;
  const primePvc = observed.primePvc;
  const pod = observed.pod;
  const failures = failuresSoFar(input);
  const attempt = failures + 1;

  if (!pod) {
    // PVC' binds on its own (Immediate, or WaitForFirstConsumer with the node already selected), and a
    // pod is only created once it has: the scheduler refuses a pod with an unbound Immediate claim and
    // backs off, and a kubelet handed a pod while its claim is half bound (volumeName set, phase not
    // yet) fails the volume and retries it ten-odd seconds later. Both were seen, at 10 PVCs at once.
    if (primePvc?.status?.phase !== "Bound") {
      return { state: "working", plan: { steps: [], waitingFor: "PVC' to bind before its populator pod" } };
    }
    const waiting = waitForRetry(input);
    if (waiting) return waiting;
    const mutated = mutatedPod(input, populatorPod(input));
    if (!mutated.ok) {
      const message = `Populator pod not created: ${input.populator.mutatePod ? "mutatePod" : "the pod"} ${mutated.problems.join("; ")}`;
      return {
        state: "working",
        plan: {
          steps: [{ kind: "event", type: "Warning", reason: EventReason.CreationError, message }],
          waitingFor: message,
        },
      };
    }
    const pod = mutated.object;
    const tooLong = envTooLongMessage(input, pod);
    if (tooLong !== undefined) {
      return {
        state: "working",
        plan: {
          steps: [{ kind: "event", type: "Warning", reason: EventReason.CreationError, message: tooLong }],
          waitingFor: tooLong,
        },
      };
    }
    const uid = observed.pvc.metadata?.uid ?? "";
    const copies: Step[] =
      podSpecOf(input).fromSourceNamespace?.map((object, index) => ({
        kind: "copyObject",
        object: {
          kind: object.kind,
          namespace: input.source.namespace,
          name: object.name,
          ...(object.secretTypes ? { secretTypes: object.secretTypes } : {}),
        },
        copyName: copiedObjectName(uid, index),
        ownerUid: primePvc?.metadata?.uid ?? "",
      })) ?? [];
    return {
      state: "working",
      plan: {
        steps: [
          ...copies,
          {
            kind: "createPod",
            pod,
            announce: {
              reason: EventReason.Created,
              message: `Populator pod ${pod.metadata?.namespace}/${pod.metadata?.name} created${attempt > 1 ? ` (attempt ${attempt} of ${settings.maxAttempts})` : ""}`,
            },
          },
        ],
        waitingFor: "the populator pod",
      },
    };
  }

  const phase = pod.status?.phase;
  if (phase === "Succeeded") return { state: "done" };
  if (phase === "Running") {
    // Pod changes wake the reconcile, but progress lines do not: look again now and then.
    const progress = observed.podProgress;
    const stalled = notReadySince(pod);
    if (stalled !== undefined) {
      // Most likely its node stopped reporting (the node controller marks its pods not ready). The
      // volume is where that node is, so there is nothing to do elsewhere: wait for the node, say so.
      const nodeName = pod.spec?.nodeName;
      const node = nodeName ? `node ${nodeName}` : "its node";
      const look = nodeName ? ` (kubectl get node ${nodeName})` : "";
      return {
        state: "working",
        plan: {
          steps: [
            {
              kind: "event",
              type: "Warning",
              reason: EventReason.PodNotReady,
              message: `Populator pod ${pod.metadata?.namespace}/${pod.metadata?.name} on ${node} has not been ready since ${stalled}: the node may be down${look}; the population goes on when the node reports again`,
            },
            { kind: "setProgress", progress: `waiting: ${node} of the populator pod is not ready` },
          ],
          waitingFor: `${node} of the populator pod`,
          requeueAfterMs: settings.progressIntervalMs,
        },
      };
    }
    return {
      state: "working",
      plan: {
        steps: progress ? [{ kind: "setProgress", progress: describeProgress(progress) }] : [],
        waitingFor: "the populator pod (Running)",
        requeueAfterMs: settings.progressIntervalMs,
      },
    };
  }
  // PVC' and pods come from separate watches: right after a failure was counted on PVC' and the pod
  // deleted, the cache may still show the failed pod. Each pod carries the attempt it is, so that its
  // failure is not counted again (which would give up after fewer failures than maxAttempts).
  const podAttempt = Number.parseInt(
    pod.metadata?.annotations?.[populateAttemptsAnnotation(prefix)] ?? "",
    10,
  );
  const counted = podAttempt <= failures;
  const failAndRetry = (why: string) =>
    failAttempt(input, {
      subject: "Populator pod",
      why,
      onGiveUp: settings.retainOnFailure ? [] : [{ kind: "deletePod" }],
      onRetry: [{ kind: "deletePod" }],
      retryWaitingFor: "the failed pod to go away",
    });

  if (phase !== "Failed") {
    const stuck = startProblem(pod);
    if (!stuck) {
      return {
        state: "working",
        plan: { steps: [], waitingFor: `the populator pod (${phase ?? "Pending"})` },
      };
    }
    if (counted) {
      return {
        state: "working",
        plan: { steps: [{ kind: "deletePod" }], waitingFor: "the failed pod to go away" },
      };
    }
    const why =
      stuck.reason === UNSCHEDULABLE
        ? `no node can run it: ${stuck.message}`
        : `it cannot start: ${stuck.reason}${stuck.message ? `: ${stuck.message}` : ""}`;
    const createdAt = Date.parse(String(pod.metadata?.creationTimestamp ?? ""));
    const waitedMs = Number.isNaN(createdAt) ? 0 : observed.now - createdAt;
    if (NEVER_STARTS.has(stuck.reason) || waitedMs >= settings.podStartTimeoutMs) return failAndRetry(why);
    // Stable for the whole attempt, so that the event recorder counts repeats instead of writing
    // a new event each time.
    const deadline = Number.isNaN(createdAt)
      ? ""
      : ` (attempt ${attempt} fails at ${new Date(createdAt + settings.podStartTimeoutMs).toISOString()} unless it starts)`;
    return {
      state: "working",
      plan: {
        steps: [
          {
            kind: "event",
            type: "Warning",
            reason: EventReason.PodNotStarting,
            message: `Populator pod ${pod.metadata?.namespace}/${pod.metadata?.name}: ${why}${deadline}`,
          },
          {
            kind: "setProgress",
            progress: `waiting: the populator pod ${waitingProgress(stuck.reason)}`,
          },
        ],
        waitingFor: `the populator pod to start (${stuck.reason})`,
        requeueAfterMs: settings.podStartTimeoutMs - waitedMs,
      },
    };
  }

  if (counted) {
    return {
      state: "working",
      plan: { steps: [{ kind: "deletePod" }], waitingFor: "the failed pod to go away" },
    };
  }
  return failAndRetry(failureMessage(pod));
}

/** The kubelet alternates these while it retries a pull: one situation for the user. */
const IMAGE_PULL = new Set(["ErrImagePull", "ImagePullBackOff"]);

/** Waiting reasons of a container that is not going to start by waiting: failed at once. */
const NEVER_STARTS = new Set(["InvalidImageName", "ErrImageNeverPull"]);

/** Waiting reasons of a container that cannot start (yet): the kubelet keeps trying, within limits. */
const CANNOT_START = new Set([
  ...NEVER_STARTS,
  "ErrImagePull",
  "ImagePullBackOff",
  "CreateContainerConfigError",
  "CreateContainerError",
  "RunContainerError",
]);

/** The scheduler's reason for a pod no node can take (a cordoned node holding a node-local volume). */
const UNSCHEDULABLE = "Unschedulable";

function waitingProgress(reason: string): string {
  if (reason === UNSCHEDULABLE) return "cannot be scheduled";
  return IMAGE_PULL.has(reason) ? "cannot pull its image" : `cannot start (${reason})`;
}

/**
 * When a Running pod was marked not ready by the node controller (RFC 3339), if it was: that is how
 * the pods of a node that stopped reporting are marked. The node controller flips the status of the
 * pod's Ready condition and leaves its reason as it was, empty for a ready pod; the kubelet always
 * gives one (`ContainersNotReady`, `ReadinessGatesNotReady`, …), so probes or sidecars a populator
 * adds with `mutatePod` are not mistaken for a node gone.
 */
export function notReadySince(pod: V1Pod): string | undefined {
  const ready = pod.status?.conditions?.find((c) => c.type === "Ready");
  if (ready?.status !== "False" || ready.reason) return undefined;
  const running = pod.status?.containerStatuses?.some((s) => s.state?.running !== undefined);
  if (!running) return undefined;
  const since = ready.lastTransitionTime;
  return since === undefined ? "a while" : new Date(since).toISOString();
}

/**
 * Why the pod cannot start, if the scheduler or the kubelet says so: no node can take it, or its
 * containers cannot be created or pulled.
 */
export function startProblem(pod: V1Pod): { reason: string; message: string } | undefined {
  const scheduled = pod.status?.conditions?.find((c) => c.type === "PodScheduled");
  if (scheduled?.status === "False" && scheduled.reason === UNSCHEDULABLE) {
    return { reason: UNSCHEDULABLE, message: scheduled.message?.trim() ?? "" };
  }
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  for (const status of statuses) {
    const waiting = status.state?.waiting;
    if (waiting?.reason && CANNOT_START.has(waiting.reason)) {
      return { reason: waiting.reason, message: waiting.message?.trim() ?? "" };
    }
  }
  return undefined;
}

/**
 * The most useful sentence about why a pod failed: that it ran out of time, else that it ran out of
 * memory, else its termination message, else the exit reason.
 */
export function failureMessage(pod: V1Pod): string {
  if (pod.status?.reason === "DeadlineExceeded") {
    const seconds = pod.spec?.activeDeadlineSeconds;
    const limit = seconds === undefined ? "" : ` (activeDeadlineSeconds ${seconds})`;
    return `the populator pod ran longer than its deadline${limit} and was stopped`;
  }
  const status: V1ContainerStatus | undefined = pod.status?.containerStatuses?.find(
    (c) => c.name === POPULATOR_CONTAINER_NAME,
  );
  const terminated = status?.state?.terminated;
  const message = terminated?.message?.trim();
  if (terminated?.reason === OOM_KILLED) return outOfMemoryMessage(pod, terminated.exitCode, message);
  if (message) return message.length > 500 ? `${message.slice(0, 500)}…` : message;
  if (terminated)
    return `container exited with code ${terminated.exitCode}${terminated.reason ? ` (${terminated.reason})` : ""}`;
  return pod.status?.message ?? pod.status?.reason ?? "pod failed";
}

/** The container runtime's reason for a container the kernel killed at its memory limit. */
const OOM_KILLED = "OOMKilled";

/**
 * An OOM kill in plain words, with the limit it hit. Said before the termination message: with
 * `FallbackToLogsOnError` that is the last lines the container logged, which would hide why it
 * stopped, and "exit code 137" tells most users nothing. Those lines follow, shortened: they say
 * what it was doing.
 */
function outOfMemoryMessage(pod: V1Pod, exitCode: number, output: string | undefined): string {
  const container = pod.spec?.containers.find((c) => c.name === POPULATOR_CONTAINER_NAME);
  const limit = container?.resources?.limits?.memory;
  const killed = limit
    ? `the populator's container was killed at its memory limit of ${limit}`
    : "the populator's container, which has no memory limit, was killed when the node ran short of memory";
  const lastLine = output?.split("\n").at(-1)?.trim();
  const said = lastLine
    ? `; its last output: ${lastLine.length > 200 ? `${lastLine.slice(0, 200)}…` : lastLine}`
    : "";
  return `out of memory: ${killed} (OOMKilled, exit code ${exitCode})${said}`;
}

/** The populator's `mutatePod` applied to the built pod, and checked (see mutators.ts). */
function mutatedPod(input: FillInput, built: V1Pod): Mutated<V1Pod> {
  const { populator, observed, source } = input;
  const mutate = populator.mutatePod;
  return applyMutator(
    built,
    mutate && ((pod: V1Pod) => mutate(pod, { pvc: observed.pvc, source })),
    (before, after) => [
      ...podIdentityProblems(before, after),
      ...(populator.allowWeakerPodSecurity ? [] : podHardeningProblems(before, after)),
    ],
  );
}

/**
 * Why the pod must not be created, when one of its env vars is over Linux's limit: most often the
 * spec itself (a large source, or one of many multi-byte characters), said in the user's words.
 */
function envTooLongMessage(input: FillInput, pod: V1Pod): string | undefined {
  const [first] = oversizedEnv(pod);
  if (first === undefined) return undefined;
  const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
  const limit = kib(ENV_STRING_LIMIT_BYTES);
  const ref = input.observed.pvc.spec?.dataSourceRef;
  if (first.name === SPEC_ENV)
    return `Populator pod not created: the spec of ${ref?.kind} ${input.source.namespace}/${input.source.name} is ${kib(first.bytes)} as JSON, and a populator pod receives it in one environment variable (${SPEC_ENV}), which Linux limits to ${limit}: make the ${ref?.kind} smaller`;
  return `Populator pod not created: its container ${first.container} would get the environment variable ${first.name} of ${kib(first.bytes)}, over Linux's ${limit} for one variable`;
}

/** The populator pod for PVC': upstream's names and paths, hardened by default. */
function podSpecOf(input: FillInput): PopulatorPodSpec {
  const volumeMode = input.observed.pvc.spec?.volumeMode === "Block" ? "Block" : "Filesystem";
  return input.populator.populatorPod(input.source, {
    volumeMode,
    targetPath: volumeMode === "Block" ? DEFAULT_DEVICE_PATH : DEFAULT_MOUNT_PATH,
    imageName: input.settings.imageName,
  });
}

export function populatorPod(input: FillInput): V1Pod {
  const { observed, settings, prefix } = input;
  const uid = observed.pvc.metadata?.uid ?? "";
  const volumeMode = observed.pvc.spec?.volumeMode === "Block" ? "Block" : "Filesystem";
  const targetPath = volumeMode === "Block" ? DEFAULT_DEVICE_PATH : DEFAULT_MOUNT_PATH;
  const spec: PopulatorPodSpec = podSpecOf(input);
  const copies = spec.fromSourceNamespace ?? [];
  const copyVolumes: V1Volume[] = copies.map((object, index) => ({
    name: `copy-${index}`,
    ...(object.kind === "Secret"
      ? { secret: { secretName: copiedObjectName(uid, index) } }
      : { configMap: { name: copiedObjectName(uid, index) } }),
  }));
  const copyMounts: V1VolumeMount[] = copies.map((object, index) => ({
    name: `copy-${index}`,
    mountPath: object.mountPath,
    readOnly: true,
  }));
  const extraMounts = [...(spec.volumeMounts ?? []), ...copyMounts];
  const root = spec.runAsRoot ?? volumeMode === "Block";
  const selectedNode = consumerNode(observed.pvc, observed.storageClass);
  // Root explicitly: populator images usually declare a non-root USER, which would otherwise win.
  const podSecurity: V1PodSecurityContext = root
    ? { runAsUser: 0, runAsGroup: 0, seccompProfile: { type: "RuntimeDefault" } }
    : {
        runAsNonRoot: true,
        runAsUser: POPULATOR_UID,
        runAsGroup: POPULATOR_UID,
        fsGroup: POPULATOR_UID,
        seccompProfile: { type: "RuntimeDefault" },
      };
  const containerSecurity: V1SecurityContext = {
    allowPrivilegeEscalation: false,
    capabilities: {
      drop: ["ALL"],
      ...(spec.addCapabilities?.length ? { add: [...spec.addCapabilities] } : {}),
    },
    readOnlyRootFilesystem: true,
  };
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: populatorPodName(uid),
      namespace: settings.namespace,
      labels: { ...spec.labels, [MANAGED_BY_LABEL]: MANAGED_BY, [POPULATE_FOR_LABEL]: uid },
      // Which attempt this pod is, so that its failure is counted once (see fillWithPod).
      annotations: {
        ...spec.annotations,
        [populateAttemptsAnnotation(prefix)]: String(failuresSoFar(input) + 1),
        [populateForAnnotation(prefix)]: `${observed.pvc.metadata?.namespace}/${observed.pvc.metadata?.name}`,
      },
    },
    spec: {
      restartPolicy: "Never",
      // Every attempt ends: a hung pod fails, and is retried or given up like any other failure.
      activeDeadlineSeconds: spec.activeDeadlineSeconds ?? DEFAULT_POD_DEADLINE_SECONDS,
      ...(selectedNode ? { nodeName: selectedNode } : {}),
      // No API access unless the populator asks for an identity of its own.
      ...(spec.serviceAccountName
        ? { serviceAccountName: spec.serviceAccountName }
        : { automountServiceAccountToken: false }),
      securityContext: podSecurity,
      ...(spec.nodeSelector ? { nodeSelector: { ...spec.nodeSelector } } : {}),
      ...(spec.tolerations ? { tolerations: [...spec.tolerations] } : {}),
      ...(spec.affinity ? { affinity: spec.affinity } : {}),
      ...(spec.priorityClassName ? { priorityClassName: spec.priorityClassName } : {}),
      ...(spec.imagePullSecrets?.length
        ? { imagePullSecrets: spec.imagePullSecrets.map((name) => ({ name })) }
        : {}),
      containers: [
        {
          name: POPULATOR_CONTAINER_NAME,
          image: spec.image,
          ...(spec.imagePullPolicy ? { imagePullPolicy: spec.imagePullPolicy } : {}),
          ...(spec.command ? { command: [...spec.command] } : {}),
          ...(spec.args ? { args: [...spec.args] } : {}),
          // The checked spec, where populate mode reads it (see spec-env.ts); last, so that it wins.
          // Last, so that they win: the checked spec, and no VOLPOP_TARGET (an image or populator env
          // left from testing by hand would send the data into the container instead of the volume).
          env: [...(spec.env ?? []), specEnvVar(input.source.spec), { name: TARGET_ENV, value: "" }],
          ...(spec.envFrom ? { envFrom: [...spec.envFrom] } : {}),
          ...(spec.resources ? { resources: spec.resources } : {}),
          securityContext: containerSecurity,
          terminationMessagePolicy: "FallbackToLogsOnError",
          ...(volumeMode === "Block"
            ? { volumeDevices: [{ name: POPULATOR_VOLUME_NAME, devicePath: targetPath }] }
            : {
                volumeMounts: [{ name: POPULATOR_VOLUME_NAME, mountPath: targetPath }, ...extraMounts],
              }),
          ...(volumeMode === "Block" && extraMounts.length > 0 ? { volumeMounts: extraMounts } : {}),
        },
      ],
      volumes: [
        { name: POPULATOR_VOLUME_NAME, persistentVolumeClaim: { claimName: primePvcName(uid) } },
        ...(spec.volumes ?? []),
        ...copyVolumes,
      ],
    },
  };
}
