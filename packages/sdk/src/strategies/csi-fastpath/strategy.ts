import type { V1PersistentVolume } from "@kubernetes/client-node";
import { EventReason } from "../../events.ts";
import { populateStateAnnotation, populateStrategyAnnotation } from "../../names.ts";
import type { Observed } from "../../observed.ts";
import type { Step } from "../../plan.ts";
import { quantityToBytes } from "../../quantity.ts";
import type { FillInput, FillOutcome, Strategy } from "../../strategy.ts";
import { failAttempt, failuresSoFar, waitForRetry } from "../attempts.ts";
import { podStrategy } from "../pod/strategy.ts";
import { type BackendEndpoint, describeEndpoint, type MutualTls, parseEndpoint } from "./endpoint.ts";
import { FAST_PATH } from "./names.ts";
import type { BackendView, FastPathObservation, OperationView } from "./observation.ts";
import { FastPathOperations } from "./operations.ts";
import { PopulateRequest, VolumeMode } from "./protocol.ts";
import { type FastPathAction, FastPathEventReason, fastPathBackendAnnotation } from "./vocabulary.ts";

/** A fast-path backend to use: an endpoint, with mutual TLS for TCP. */
export interface FastPathBackendConfig {
  /** `unix:///run/volpop-fastpath/backend.sock` or `host:port`. */
  readonly endpoint: string | BackendEndpoint;
  readonly tls?: MutualTls | undefined;
}

export interface CsiFastPathOptions {
  /** Backends, asked in this order; the first that serves the PV's driver, the source kind and the volume mode wins. */
  readonly backends: readonly FastPathBackendConfig[];
  /**
   * When no backend can take a population: `pod` (default) fills it with the Pod strategy and says why
   * in an event; `fail` reports the population failed instead.
   */
  readonly fallback?: "pod" | "fail";
  /** Passed to the backend with every Populate (`parameters`). */
  readonly parameters?: Readonly<Record<string, string>>;
  /** How often a running operation is polled. Default 1 s. */
  readonly pollIntervalMs?: number;
  /** How often backends are asked who they are. Default 30 s. */
  readonly infoRefreshMs?: number;
  /** Deadline of each backend call. Default 10 s. */
  readonly callTimeoutMs?: number;
}

export { FAST_PATH };

/**
 * The CSI fast path: PVC' is provisioned as usual, then a vendor's backend fills its volume directly,
 * with no populator pod. Falls back to the Pod strategy when no backend serves the volume (see
 * docs/fastpath.md). The decision is recorded on PVC', so a restarted controller keeps to it.
 */
export function csiFastPathStrategy(options: CsiFastPathOptions): Strategy {
  const backends = options.backends.map((b) => ({
    endpoint: typeof b.endpoint === "string" ? parseEndpoint(b.endpoint) : b.endpoint,
    tls: b.tls,
  }));
  const runtime = new FastPathOperations({
    backends,
    ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {}),
    ...(options.infoRefreshMs !== undefined ? { infoRefreshMs: options.infoRefreshMs } : {}),
    ...(options.callTimeoutMs !== undefined ? { callTimeoutMs: options.callTimeoutMs } : {}),
  });
  const order = backends.map((b) => describeEndpoint(b.endpoint));
  return {
    name: FAST_PATH,
    runtime,
    fill: (input) => fillFast(input, { ...options, order }),
    cleanup: cleanupFast,
  };
}

/** What the fast path's runtime knows of this population (see FastPathOperations.observe). */
function stateOf(observed: Observed): FastPathObservation | undefined {
  return observed.strategyState as FastPathObservation | undefined;
}

/** A step for the fast path's runtime. */
function act(action: FastPathAction): Step {
  return { kind: "runtime", action };
}

/**
 * Records on PVC' which strategy fills it (once, so a restarted controller keeps to it), counts the
 * decision and tells the user's PVC; recorded before anything is started, so a restart can never
 * run both strategies.
 */
function decide(
  prefix: string,
  decision: { strategy: "pod" | typeof FAST_PATH; reason: string; message: string; endpoint?: string },
): Step[] {
  const fast = decision.strategy === FAST_PATH;
  return [
    {
      kind: "annotatePrimePvc",
      annotations: {
        [populateStrategyAnnotation(prefix)]: decision.strategy,
        ...(decision.endpoint ? { [fastPathBackendAnnotation(prefix)]: decision.endpoint } : {}),
      },
    },
    act({ kind: "decided", decision: fast ? "fastpath" : "fallback", reason: decision.reason }),
    {
      kind: "event",
      type: "Normal",
      reason: fast ? FastPathEventReason.FastPath : FastPathEventReason.FastPathFallback,
      message: decision.message,
    },
  ];
}

interface Resolved extends CsiFastPathOptions {
  readonly order: readonly string[];
}

// Cancel reaches the backend recorded on PVC' even after a restart, when nothing is known in memory.
function cleanupFast(observed: Observed, prefix: string): readonly Step[] {
  const endpoint =
    observed.primePvc?.metadata?.annotations?.[fastPathBackendAnnotation(prefix)] ??
    stateOf(observed)?.operation?.endpoint;
  return [...podStrategy.cleanup(observed, prefix), ...(endpoint ? [act({ kind: "cancel", endpoint })] : [])];
}

function fillFast(input: FillInput, options: Resolved): FillOutcome {
  const { observed, prefix } = input;
  const annotations = observed.primePvc?.metadata?.annotations ?? {};
  const chosen = annotations[populateStrategyAnnotation(prefix)];
  if (chosen === "pod") return podStrategy.fill(input);
  if (chosen === FAST_PATH)
    return follow(input, options, annotations[fastPathBackendAnnotation(prefix)] ?? "");

  const pv = observed.primePv;
  if (!pv || observed.primePvc?.status?.phase !== "Bound") {
    return { state: "working", plan: { steps: [], waitingFor: "PVC' to be provisioned (fast path)" } };
  }
  const choice = choose(pv, input, stateOf(observed)?.backends ?? [], options.order);
  if ("fallback" in choice) return fallBack(input, options, choice.fallback, choice.message);
  return {
    state: "working",
    plan: {
      steps: [
        ...decide(input.prefix, {
          strategy: FAST_PATH,
          reason: "FastPath",
          message: `Populating through fast-path backend ${choice.backend.info?.name || "(unnamed)"}, without a populator pod`,
          endpoint: choice.backend.endpoint,
        }),
        populateStep(input, options, choice.backend.endpoint, pv, 1),
      ],
      waitingFor: "the fast-path backend to accept the operation",
    },
  };
}

type Choice = { readonly backend: BackendView } | { readonly fallback: string; readonly message: string };

/** The first backend that can fill this PV from this source, or why none can. */
export function choose(
  pv: V1PersistentVolume,
  input: Pick<FillInput, "populator" | "observed">,
  backends: readonly BackendView[],
  order: readonly string[],
): Choice {
  const driver = pv.spec?.csi?.driver;
  if (!driver) return { fallback: "NotCsi", message: `PV ${pv.metadata?.name} is not a CSI volume` };
  const sorted = [...backends].sort((a, b) => order.indexOf(a.endpoint) - order.indexOf(b.endpoint));
  const serving = sorted.filter((b) => b.info?.csiDrivers.includes(driver));
  if (serving.length === 0) {
    // A backend that never answered may serve the driver: not knowing is not the same as "not served".
    const unknown = sorted.filter((b) => !b.info);
    const why = unknown.map((b) => `${b.endpoint}: ${b.error}`).join("; ");
    if (unknown.length > 0) {
      return {
        fallback: "BackendUnavailable",
        message:
          unknown.length === sorted.length
            ? `no fast-path backend answers (${why})`
            : `no fast-path backend that answers serves CSI driver ${driver}, and some do not answer (${why})`,
      };
    }
    return { fallback: "DriverNotServed", message: `no fast-path backend serves CSI driver ${driver}` };
  }
  const ready = serving.filter((b) => b.state === "ready");
  if (ready.length === 0) {
    return {
      fallback: "BackendUnavailable",
      message: `the fast-path backend for ${driver} is unavailable (${serving.map((b) => `${b.endpoint}: ${b.error}`).join("; ")})`,
    };
  }
  const { group, kind } = input.populator.source;
  const forKind = ready.filter((b) => b.info?.sourceKinds.some((k) => k.group === group && k.kind === kind));
  if (forKind.length === 0) {
    return {
      fallback: "SourceKindNotServed",
      message: `no fast-path backend for ${driver} populates ${kind}.${group}`,
    };
  }
  const mode = modeOf(input.observed);
  const forMode = forKind.filter((b) => b.info?.volumeModes.includes(mode));
  if (forMode.length === 0) {
    return {
      fallback: "VolumeModeNotServed",
      message: `no fast-path backend for ${driver} fills ${mode === VolumeMode.VOLUME_MODE_BLOCK ? "Block" : "Filesystem"} volumes`,
    };
  }
  const forNode = forMode.filter((b) => !b.info?.nodeName || pvAllowsNode(pv, b.info.nodeName));
  const first = forNode[0];
  if (!first) {
    return {
      fallback: "NodeNotServed",
      message: `no fast-path backend for ${driver} runs where PV ${pv.metadata?.name} is`,
    };
  }
  return { backend: first };
}

// Node labels are not observed, so a term is read for node names only: it allows the node when one of
// its `In` requirements lists it (kubernetes.io/hostname, a driver's own node key, metadata.name), or
// when it pins no values at all. Requiring every `In` to list the node would refuse any PV whose
// topology also names a zone or region.
function pvAllowsNode(pv: V1PersistentVolume, node: string): boolean {
  const terms = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms;
  if (!terms || terms.length === 0) return true;
  return terms.some((term) => {
    const pinned = [...(term.matchExpressions ?? []), ...(term.matchFields ?? [])].filter(
      (e) => e.operator === "In",
    );
    return pinned.length === 0 || pinned.some((e) => (e.values ?? []).includes(node));
  });
}

function modeOf(observed: Observed): VolumeMode {
  return observed.pvc.spec?.volumeMode === "Block"
    ? VolumeMode.VOLUME_MODE_BLOCK
    : VolumeMode.VOLUME_MODE_FILESYSTEM;
}

function fallBack(input: FillInput, options: Resolved, reason: string, message: string): FillOutcome {
  if (options.fallback === "fail") {
    const why = `Fast path unavailable and fallback disabled: ${message}`;
    return {
      state: "working",
      plan: {
        steps: [
          { kind: "annotatePrimePvc", annotations: { [populateStateAnnotation(input.prefix)]: "failed" } },
          { kind: "event", type: "Warning", reason: EventReason.Failed, message: why },
          { kind: "setProgress", progress: `failed: ${message}` },
          { kind: "finishOperation", result: "failed", strategy: FAST_PATH },
        ],
        waitingFor: "someone to act on the failed population",
      },
    };
  }
  return {
    state: "working",
    plan: {
      steps: decide(input.prefix, {
        strategy: "pod",
        reason,
        message: `Populating with a pod instead of the fast path: ${message}`,
      }),
      waitingFor: "the fallback decision to be recorded",
    },
  };
}

function populateStep(
  input: FillInput,
  options: Resolved,
  endpoint: string,
  pv: V1PersistentVolume,
  attempt: number,
): Step {
  const { observed, populator } = input;
  const csi = pv.spec?.csi;
  return act({
    kind: "populate",
    endpoint,
    request: PopulateRequest.fromPartial({
      operationId: observed.pvc.metadata?.uid ?? "",
      attempt,
      csiDriver: csi?.driver ?? "",
      volumeHandle: csi?.volumeHandle ?? "",
      volumeAttributes: { ...csi?.volumeAttributes },
      capacityBytes: quantityToBytes(pv.spec?.capacity?.storage) ?? 0,
      volumeMode: modeOf(observed),
      sourceKind: { group: populator.source.group, kind: populator.source.kind },
      sourceJson: JSON.stringify(observed.source ?? {}),
      parameters: { ...options.parameters },
    }),
  });
}

/** After the fast path was chosen: start, follow, retry or give up the backend's operation. */
function follow(input: FillInput, options: Resolved, endpoint: string): FillOutcome {
  const { observed, settings } = input;
  const failures = failuresSoFar(input);
  const attempt = failures + 1;
  const pv = observed.primePv;
  if (!pv) return { state: "working", plan: { steps: [], waitingFor: "PVC''s PV" } };
  const operation: OperationView | undefined = stateOf(observed)?.operation;

  // Ask (again) for this attempt, once its retry delay has passed, when no operation is known (not
  // started, controller or backend restarted) or the known one is an attempt already counted as
  // failed. An older attempt still pending, running or succeeded is the current one: the protocol has
  // the backend answer a newer attempt with the operation it already runs or finished.
  const stale =
    operation !== undefined &&
    operation.attempt < attempt &&
    (operation.phase === "failed" || operation.phase === "cancelled" || operation.phase === "rejected");
  if (!operation || operation.endpoint !== endpoint || stale) {
    const waiting = waitForRetry(input);
    if (waiting) return waiting;
    return {
      state: "working",
      plan: {
        steps: [populateStep(input, options, endpoint, pv, attempt)],
        waitingFor: "the fast-path backend to accept the operation",
      },
    };
  }

  switch (operation.phase) {
    case "succeeded":
      return { state: "done" };
    case "pending":
    case "running": {
      const unreachable =
        operation.unreachableSince !== undefined
          ? ` (backend unreachable for ${Math.round((observed.now - operation.unreachableSince) / 1000)}s)`
          : "";
      return {
        state: "working",
        plan: {
          steps: [{ kind: "setProgress", progress: describeOperation(operation) }],
          waitingFor: `the fast-path operation (${operation.phase})${unreachable}`,
          requeueAfterMs: settings.progressIntervalMs,
        },
      };
    }
    default:
      break;
  }

  // The backend said it will not do this one (nothing was accepted): a pod can. Any other answer,
  // UNAVAILABLE included, may hide an accepted operation (a reply lost with its connection), so it is
  // retried as a failure and never handed to a pod that would write beside the backend.
  if (operation.phase === "rejected" && failures === 0 && operation.grpcCode === "UNIMPLEMENTED") {
    return fallBack(
      input,
      options,
      "BackendUnimplemented",
      `the backend answered UNIMPLEMENTED: ${operation.message}`,
    );
  }

  const why =
    operation.phase === "rejected"
      ? `${operation.grpcCode}${operation.reason ? ` (${operation.reason})` : ""}: ${operation.message}`
      : `${operation.reason || operation.phase}${operation.message ? `: ${operation.message}` : ""}`;
  return failAttempt(input, {
    subject: "Fast-path population",
    why,
    strategy: FAST_PATH,
    retryWaitingFor: "the retry delay",
  });
}

function describeOperation(operation: OperationView): string {
  if (operation.bytesTotal > 0) {
    const percent = Math.floor((100 * operation.bytesDone) / operation.bytesTotal);
    return `${percent}% (${mib(operation.bytesDone)} of ${mib(operation.bytesTotal)}) via fast path`;
  }
  return operation.bytesDone > 0
    ? `${mib(operation.bytesDone)} via fast path`
    : `${operation.phase} via fast path`;
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
