import type { V1NodeSelectorTerm, V1PersistentVolume } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../errors.ts";
import { EventReason } from "../../events.ts";
import {
  backendView,
  CSI_DRIVER,
  downBackend,
  FASTPATH_ENDPOINT,
  fillInput,
  NOW,
  operationView,
  ourPvc,
  PREFIX,
  PV_NAME,
  PVC_UID,
  pod,
  primePvc,
  pv,
  SOURCE_KIND,
  sourceObject,
} from "../../internal/fixtures.ts";
import {
  populateAttemptsAnnotation,
  populateLastFailureAnnotation,
  populateStateAnnotation,
  populateStrategyAnnotation,
} from "../../names.ts";
import type { Observed } from "../../observed.ts";
import type { Plan, Step } from "../../plan.ts";
import type { PopulationSettings } from "../../settings.ts";
import type { FillOutcome } from "../../strategy.ts";
import type { BackendView, OperationView } from "./observation.ts";
import { FastPathOperations } from "./operations.ts";
import { PopulateRequest, VolumeMode } from "./protocol.ts";
import { type CsiFastPathOptions, choose, csiFastPathStrategy, FAST_PATH } from "./strategy.ts";
import { type FastPathAction, FastPathEventReason, fastPathBackendAnnotation } from "./vocabulary.ts";

const STRATEGY = populateStrategyAnnotation(PREFIX);
const BACKEND = fastPathBackendAnnotation(PREFIX);
const ATTEMPTS = populateAttemptsAnnotation(PREFIX);
const LAST_FAILURE = populateLastFailureAnnotation(PREFIX);
const STATE = populateStateAnnotation(PREFIX);
const NOW_ISO = new Date(NOW).toISOString();
/** A second backend, configured after {@link FASTPATH_ENDPOINT}. */
const OTHER_ENDPOINT = "unix:///run/other-fastpath/backend.sock";

/** What one reconcile shows the strategy; every field defaults to "PVC' bound, nothing decided yet". */
interface Scene {
  /** Annotations of PVC' (the recorded decision and retry state). */
  readonly prime?: Record<string, string>;
  readonly primePhase?: string;
  readonly pv?: V1PersistentVolume | undefined;
  readonly volumeMode?: "Filesystem" | "Block";
  readonly backends?: readonly BackendView[];
  readonly operation?: OperationView | undefined;
  readonly pod?: Observed["pod"];
  readonly settings?: Partial<Omit<PopulationSettings, "namespace">>;
  readonly options?: Partial<CsiFastPathOptions>;
}

function fill(scene: Scene = {}): FillOutcome {
  const strategy = csiFastPathStrategy({ backends: [{ endpoint: FASTPATH_ENDPOINT }], ...scene.options });
  return strategy.fill(
    fillInput({
      observed: {
        pvc: ourPvc({ spec: { volumeMode: scene.volumeMode ?? "Filesystem" } }),
        primePvc: primePvc({
          metadata: { annotations: scene.prime },
          status: { phase: scene.primePhase ?? "Bound" },
        }),
        primePv: "pv" in scene ? scene.pv : pv(),
        pod: scene.pod,
        strategyState: { backends: scene.backends ?? [backendView()], operation: scene.operation },
      },
      ...(scene.settings ? { settings: scene.settings } : {}),
    }),
  );
}

function plan(scene: Scene = {}): Plan {
  const outcome = fill(scene);
  if (outcome.state !== "working") throw new Error(`expected a working outcome, got ${outcome.state}`);
  return outcome.plan;
}

const kinds = (p: Plan) => p.steps.map((s) => s.kind);

/** PVC' once the fast path was chosen at {@link FASTPATH_ENDPOINT}, after `failures` counted failures. */
function chosen(failures = 0, lastFailureAgoMs?: number): Record<string, string> {
  return {
    [STRATEGY]: FAST_PATH,
    [BACKEND]: FASTPATH_ENDPOINT,
    ...(failures > 0 ? { [ATTEMPTS]: String(failures) } : {}),
    ...(lastFailureAgoMs !== undefined
      ? { [LAST_FAILURE]: new Date(NOW - lastFailureAgoMs).toISOString() }
      : {}),
  };
}

/** The Populate the strategy asks of {@link FASTPATH_ENDPOINT} for the fixtures' PV and source. */
function populate(attempt: number, overrides: Partial<PopulateRequest> = {}): Step {
  return runtime({
    kind: "populate",
    endpoint: FASTPATH_ENDPOINT,
    request: PopulateRequest.fromPartial({
      operationId: PVC_UID,
      attempt,
      csiDriver: CSI_DRIVER,
      volumeHandle: "vol-1",
      volumeAttributes: {},
      capacityBytes: 1024 ** 3,
      volumeMode: VolumeMode.VOLUME_MODE_FILESYSTEM,
      sourceKind: { group: SOURCE_KIND.group, kind: SOURCE_KIND.kind },
      sourceJson: JSON.stringify(sourceObject()),
      parameters: {},
      ...overrides,
    }),
  });
}

/** A step for the fast path's runtime. */
function runtime(action: FastPathAction): Step {
  return { kind: "runtime", action };
}

/** The steps recording a decision: on PVC' (with the backend when there is one), counted, told to the user. */
function decision(
  strategy: "pod" | typeof FAST_PATH,
  reason: string,
  message: string,
  endpoint?: string,
): Step[] {
  return [
    {
      kind: "annotatePrimePvc",
      annotations: { [STRATEGY]: strategy, ...(endpoint ? { [BACKEND]: endpoint } : {}) },
    },
    runtime({ kind: "decided", decision: strategy === FAST_PATH ? "fastpath" : "fallback", reason }),
    {
      kind: "event",
      type: "Normal",
      reason: strategy === FAST_PATH ? FastPathEventReason.FastPath : FastPathEventReason.FastPathFallback,
      message,
    },
  ];
}

function fallbackPlan(reason: string, message: string): Plan {
  return {
    steps: decision("pod", reason, `Populating with a pod instead of the fast path: ${message}`),
    waitingFor: "the fallback decision to be recorded",
  };
}

function failedPlan(message: string): Plan {
  return {
    steps: [
      { kind: "annotatePrimePvc", annotations: { [STATE]: "failed" } },
      {
        kind: "event",
        type: "Warning",
        reason: EventReason.Failed,
        message: `Fast path unavailable and fallback disabled: ${message}`,
      },
      { kind: "setProgress", progress: `failed: ${message}` },
      { kind: "finishOperation", result: "failed", strategy: FAST_PATH },
    ],
    waitingFor: "someone to act on the failed population",
  };
}

/** A PV whose node affinity requires `terms` (any one of them). */
function pvOn(...terms: V1NodeSelectorTerm[]): V1PersistentVolume {
  return pv({ spec: { nodeAffinity: { required: { nodeSelectorTerms: terms } } } });
}
const onNode = (key: string, ...nodes: string[]): V1NodeSelectorTerm => ({
  matchExpressions: [{ key, operator: "In", values: nodes }],
});

describe("csiFastPathStrategy", () => {
  it("is called csi-fastpath and brings the runtime that talks to the backends", () => {
    const strategy = csiFastPathStrategy({ backends: [{ endpoint: FASTPATH_ENDPOINT }] });
    expect(strategy.name).toBe("csi-fastpath");
    expect(strategy.runtime).toBeInstanceOf(FastPathOperations);
  });

  it("refuses a backend endpoint it cannot read when it is configured, not at the first population", () => {
    expect(() => csiFastPathStrategy({ backends: [{ endpoint: "backend.sock" }] })).toThrow(ConfigError);
  });
});

describe("csiFastPathStrategy.fill before the decision", () => {
  it.each<[string, Scene]>([
    ["PVC' is still Pending", { primePhase: "Pending", pv: undefined }],
    ["PVC' is Bound but its PV is not in the cache yet", { pv: undefined }],
  ])("waits for PVC' to be provisioned when %s", (_, scene) => {
    expect(plan(scene)).toEqual({ steps: [], waitingFor: "PVC' to be provisioned (fast path)" });
  });

  it("records the fast path on PVC' and asks the backend for attempt 1, in one plan", () => {
    expect(plan()).toEqual({
      steps: [
        ...decision(
          FAST_PATH,
          "FastPath",
          "Populating through fast-path backend hostpath-fastpath, without a populator pod",
          FASTPATH_ENDPOINT,
        ),
        populate(1),
      ],
      waitingFor: "the fast-path backend to accept the operation",
    });
  });

  it("hands the backend the PV's handle, attributes, capacity and volume mode, and the configured parameters", () => {
    const steps = plan({
      pv: pv({
        spec: {
          capacity: { storage: "10Gi" },
          csi: { driver: CSI_DRIVER, volumeHandle: "vol-9", volumeAttributes: { pool: "fast" } },
        },
      }),
      volumeMode: "Block",
      options: { parameters: { compression: "zstd" } },
    }).steps;
    expect(steps[3]).toEqual(
      populate(1, {
        volumeHandle: "vol-9",
        volumeAttributes: { pool: "fast" },
        capacityBytes: 10 * 1024 ** 3,
        volumeMode: VolumeMode.VOLUME_MODE_BLOCK,
        parameters: { compression: "zstd" },
      }),
    );
  });

  it.each<[string, Scene, string, string]>([
    [
      "the PV is not a CSI volume",
      { pv: pv({ spec: { csi: undefined, hostPath: { path: "/data" } } }) },
      "NotCsi",
      `PV ${PV_NAME} is not a CSI volume`,
    ],
    [
      "no backend is configured",
      { backends: [] },
      "DriverNotServed",
      `no fast-path backend serves CSI driver ${CSI_DRIVER}`,
    ],
    [
      "no backend serves the PV's driver",
      { backends: [backendView({ info: { csiDrivers: ["ebs.csi.aws.com"] } })] },
      "DriverNotServed",
      `no fast-path backend serves CSI driver ${CSI_DRIVER}`,
    ],
    [
      "the backend that served the driver stopped answering",
      { backends: [backendView({ state: "unavailable", error: "connection refused" })] },
      "BackendUnavailable",
      `the fast-path backend for ${CSI_DRIVER} is unavailable (${FASTPATH_ENDPOINT}: connection refused)`,
    ],
    [
      "no backend ever answered",
      { backends: [downBackend()] },
      "BackendUnavailable",
      `no fast-path backend answers (${FASTPATH_ENDPOINT}: connect ENOENT)`,
    ],
    [
      "the backends that answer serve other drivers and another never answered",
      {
        backends: [backendView({ info: { csiDrivers: ["ebs.csi.aws.com"] } }), downBackend(OTHER_ENDPOINT)],
        options: { backends: [{ endpoint: FASTPATH_ENDPOINT }, { endpoint: OTHER_ENDPOINT }] },
      },
      "BackendUnavailable",
      `no fast-path backend that answers serves CSI driver ${CSI_DRIVER}, and some do not answer (${OTHER_ENDPOINT}: connect ENOENT)`,
    ],
    [
      "the backend does not know the source kind",
      { backends: [backendView({ info: { sourceKinds: [{ group: "other.example.com", kind: "Hello" }] } })] },
      "SourceKindNotServed",
      `no fast-path backend for ${CSI_DRIVER} populates Hello.hello.example.com`,
    ],
    [
      "the backend fills no Block volumes",
      {
        volumeMode: "Block",
        backends: [backendView({ info: { volumeModes: [VolumeMode.VOLUME_MODE_FILESYSTEM] } })],
      },
      "VolumeModeNotServed",
      `no fast-path backend for ${CSI_DRIVER} fills Block volumes`,
    ],
    [
      "the backend fills no Filesystem volumes",
      { backends: [backendView({ info: { volumeModes: [VolumeMode.VOLUME_MODE_BLOCK] } })] },
      "VolumeModeNotServed",
      `no fast-path backend for ${CSI_DRIVER} fills Filesystem volumes`,
    ],
    [
      "the node-local backend runs on another node than the PV",
      {
        pv: pvOn(onNode("kubernetes.io/hostname", "node-a")),
        backends: [backendView({ info: { nodeName: "node-b" } })],
      },
      "NodeNotServed",
      `no fast-path backend for ${CSI_DRIVER} runs where PV ${PV_NAME} is`,
    ],
  ])("falls back to the Pod strategy when %s", (_, scene, reason, message) => {
    expect(plan(scene)).toEqual(fallbackPlan(reason, message));
  });

  it("fails the population instead of falling back when fallback is disabled", () => {
    expect(plan({ backends: [downBackend()], options: { fallback: "fail" } })).toEqual(
      failedPlan(`no fast-path backend answers (${FASTPATH_ENDPOINT}: connect ENOENT)`),
    );
  });
});

describe("choose", () => {
  const input = fillInput();
  const order = [FASTPATH_ENDPOINT, OTHER_ENDPOINT];
  const chosenEndpoint = (backends: BackendView[], volume: V1PersistentVolume = pv()) => {
    const choice = choose(volume, input, backends, order);
    return "backend" in choice ? choice.backend.endpoint : choice.fallback;
  };

  it.each<[string, BackendView[], V1PersistentVolume, string]>([
    [
      "the first configured backend, whatever order they were observed in",
      [backendView({ endpoint: OTHER_ENDPOINT }), backendView()],
      pv(),
      FASTPATH_ENDPOINT,
    ],
    [
      "a later backend when the first is unavailable",
      [backendView({ state: "unavailable", error: "timeout" }), backendView({ endpoint: OTHER_ENDPOINT })],
      pv(),
      OTHER_ENDPOINT,
    ],
    [
      "a later backend when the first serves another driver",
      [
        backendView({ info: { csiDrivers: ["x.csi.example.com"] } }),
        backendView({ endpoint: OTHER_ENDPOINT }),
      ],
      pv(),
      OTHER_ENDPOINT,
    ],
    [
      "the node-local backend of the PV's node",
      [
        backendView({ info: { nodeName: "node-a" } }),
        backendView({ endpoint: OTHER_ENDPOINT, info: { nodeName: "node-b" } }),
      ],
      pvOn(onNode("kubernetes.io/hostname", "node-b")),
      OTHER_ENDPOINT,
    ],
    [
      "a node-local backend named by a driver's own topology key next to a zone",
      [backendView({ info: { nodeName: "node-a" } })],
      pvOn({
        matchExpressions: [
          { key: "topology.kubernetes.io/zone", operator: "In", values: ["zone-1"] },
          { key: "topology.hostpath.csi/node", operator: "In", values: ["node-a"] },
        ],
      }),
      FASTPATH_ENDPOINT,
    ],
    [
      "a node-local backend allowed by a second node selector term",
      [backendView({ info: { nodeName: "node-a" } })],
      pvOn(onNode("kubernetes.io/hostname", "node-z"), onNode("kubernetes.io/hostname", "node-a")),
      FASTPATH_ENDPOINT,
    ],
    [
      "a node-local backend named through matchFields",
      [backendView({ info: { nodeName: "node-a" } })],
      pvOn({ matchFields: [{ key: "metadata.name", operator: "In", values: ["node-a"] }] }),
      FASTPATH_ENDPOINT,
    ],
    [
      "a node-local backend for a PV without node affinity",
      [backendView({ info: { nodeName: "node-a" } })],
      pv(),
      FASTPATH_ENDPOINT,
    ],
    [
      "a node-local backend when the affinity pins no values",
      [backendView({ info: { nodeName: "node-a" } })],
      pvOn({ matchExpressions: [{ key: "example.com/fast", operator: "Exists" }] }),
      FASTPATH_ENDPOINT,
    ],
    [
      "a backend without a node name wherever the PV is",
      [backendView()],
      pvOn(onNode("kubernetes.io/hostname", "node-a")),
      FASTPATH_ENDPOINT,
    ],
    [
      "no node-local backend when the affinity only names a zone",
      [backendView({ info: { nodeName: "node-a" } })],
      pvOn(onNode("topology.kubernetes.io/zone", "zone-1")),
      "NodeNotServed",
    ],
  ])("picks %s", (_, backends, volume, expected) => {
    expect(chosenEndpoint(backends, volume)).toBe(expected);
  });
});

describe("csiFastPathStrategy.fill once the fast path was chosen", () => {
  it("asks the backend again for the same attempt when no operation is known (controller or backend restarted)", () => {
    expect(plan({ prime: chosen() })).toEqual({
      steps: [populate(1)],
      waitingFor: "the fast-path backend to accept the operation",
    });
  });

  it("asks the backend recorded on PVC', not the first configured one", () => {
    const steps = plan({
      prime: { ...chosen(), [BACKEND]: OTHER_ENDPOINT },
      options: { backends: [{ endpoint: FASTPATH_ENDPOINT }, { endpoint: OTHER_ENDPOINT }] },
    }).steps;
    expect(steps).toMatchObject([
      { kind: "runtime", action: { kind: "populate", endpoint: OTHER_ENDPOINT } },
    ]);
  });

  it("asks again when the operation known is one at another backend", () => {
    const steps = plan({ prime: chosen(), operation: operationView({ endpoint: OTHER_ENDPOINT }) }).steps;
    expect(steps).toEqual([populate(1)]);
  });

  it("waits for the PV of PVC' while the cache does not show it", () => {
    expect(plan({ prime: chosen(), pv: undefined })).toEqual({ steps: [], waitingFor: "PVC''s PV" });
  });

  it("keeps to the decision even when the backend is now unavailable", () => {
    expect(kinds(plan({ prime: chosen(), backends: [downBackend()] }))).toEqual(["runtime"]);
  });

  it.each<[string, Partial<OperationView>, string, string]>([
    ["nothing is known of its size", { phase: "pending" }, "pending via fast path", "pending"],
    ["only the bytes copied are known", { bytesDone: 3 * 2 ** 20 }, "3.0 MiB via fast path", "running"],
    [
      "its total size is known",
      { bytesDone: 2 ** 29, bytesTotal: 2 ** 30 },
      "50% (512.0 MiB of 1024.0 MiB) via fast path",
      "running",
    ],
  ])(
    "reports the progress of an operation when %s, and looks again after the progress interval",
    (_, op, progress, phase) => {
      expect(
        plan({ prime: chosen(), operation: operationView(op), settings: { progressIntervalMs: 3_000 } }),
      ).toEqual({
        steps: [{ kind: "setProgress", progress }],
        waitingFor: `the fast-path operation (${phase})`,
        requeueAfterMs: 3_000,
      });
    },
  );

  it("says for how long the backend has not answered while following a running operation", () => {
    const waiting = plan({ prime: chosen(), operation: operationView({ unreachableSince: NOW - 42_000 }) });
    expect(waiting.waitingFor).toBe("the fast-path operation (running) (backend unreachable for 42s)");
  });

  it("is done once the backend reports the operation succeeded", () => {
    expect(fill({ prime: chosen(), operation: operationView({ phase: "succeeded" }) })).toEqual({
      state: "done",
    });
  });

  it("falls back to the Pod strategy when the first Populate is rejected UNIMPLEMENTED", () => {
    const operation = operationView({
      phase: "rejected",
      grpcCode: "UNIMPLEMENTED",
      message: "volume mode not served",
    });
    expect(plan({ prime: chosen(), operation })).toEqual(
      fallbackPlan("BackendUnimplemented", "the backend answered UNIMPLEMENTED: volume mode not served"),
    );
  });

  it("fails instead of falling back after a first Populate rejected UNIMPLEMENTED when fallback is disabled", () => {
    const operation = operationView({ phase: "rejected", grpcCode: "UNIMPLEMENTED", message: "no" });
    expect(plan({ prime: chosen(), operation, options: { fallback: "fail" } })).toEqual(
      failedPlan("the backend answered UNIMPLEMENTED: no"),
    );
  });

  it("follows the operation the backend already runs when it answers a newer attempt with an older one", () => {
    const operation = operationView({ attempt: 1, phase: "running" });
    expect(plan({ prime: chosen(1, 60_000), operation }).waitingFor).toBe(
      "the fast-path operation (running)",
    );
    expect(
      fill({ prime: chosen(1, 60_000), operation: operationView({ attempt: 1, phase: "succeeded" }) }),
    ).toEqual({
      state: "done",
    });
  });

  it.each<[string, Scene]>([
    [
      "an earlier attempt failed",
      {
        prime: chosen(1, 60_000),
        operation: operationView({ attempt: 2, phase: "rejected", grpcCode: "UNAVAILABLE", message: "down" }),
      },
    ],
    [
      "it is the first attempt (the reply may have been lost after the backend accepted)",
      {
        prime: chosen(),
        operation: operationView({ phase: "rejected", grpcCode: "UNAVAILABLE", message: "down" }),
      },
    ],
  ])("counts an UNAVAILABLE Populate as a failure instead of falling back when %s", (_, scene) => {
    expect(plan(scene).steps[0]).toMatchObject({
      kind: "annotatePrimePvc",
      annotations: { [ATTEMPTS]: expect.any(String) },
    });
  });

  it("counts a failed operation on PVC', reports it and retries after the base delay", () => {
    const operation = operationView({ phase: "failed", reason: "SourceNotFound", message: "no such bucket" });
    expect(plan({ prime: chosen(), operation })).toEqual({
      steps: [
        { kind: "annotatePrimePvc", annotations: { [ATTEMPTS]: "1", [LAST_FAILURE]: NOW_ISO } },
        {
          kind: "event",
          type: "Warning",
          reason: EventReason.Failed,
          message:
            "Fast-path population failed (attempt 1 of 5): SourceNotFound: no such bucket; retrying in 10s",
        },
        { kind: "setProgress", progress: "retrying after failure: SourceNotFound: no such bucket" },
      ],
      waitingFor: "the retry delay",
      requeueAfterMs: 10_000,
    });
  });

  it.each<[string, Partial<OperationView>, string]>([
    [
      "a rejection with the backend's reason",
      {
        phase: "rejected",
        grpcCode: "INVALID_ARGUMENT",
        reason: "InvalidVolumeHandle",
        message: "bad handle",
      },
      "INVALID_ARGUMENT (InvalidVolumeHandle): bad handle",
    ],
    [
      "a rejection without a reason",
      { phase: "rejected", grpcCode: "FAILED_PRECONDITION", message: "in use" },
      "FAILED_PRECONDITION: in use",
    ],
    ["a failure without a reason", { phase: "failed", message: "disk full" }, "failed: disk full"],
    ["a cancelled operation", { phase: "cancelled" }, "cancelled"],
  ])("explains %s in the failure event", (_, op, why) => {
    const event = plan({ prime: chosen(), operation: operationView(op) }).steps[1];
    expect(event).toMatchObject({
      message: `Fast-path population failed (attempt 1 of 5): ${why}; retrying in 10s`,
    });
  });

  it("doubles the retry delay with each failure", () => {
    const operation = operationView({ attempt: 3, phase: "failed", reason: "Io" });
    const retry = plan({ prime: chosen(2, 30_000), operation });
    expect(retry.steps[0]).toEqual({
      kind: "annotatePrimePvc",
      annotations: { [ATTEMPTS]: "3", [LAST_FAILURE]: NOW_ISO },
    });
    expect(retry.requeueAfterMs).toBe(40_000);
  });

  it("waits out the retry delay before asking for the next attempt", () => {
    expect(plan({ prime: chosen(2, 5_000) })).toEqual({
      steps: [],
      waitingFor: "retry 3 of 5",
      requeueAfterMs: 15_000,
    });
  });

  it("asks for the next attempt once the retry delay has passed", () => {
    expect(plan({ prime: chosen(2, 20_000) }).steps).toEqual([populate(3)]);
  });

  it("does not count the failed operation of an attempt PVC' already counted", () => {
    // PVC' says attempt 1 failed; the runtime still shows that attempt's operation until attempt 2 starts.
    const operation = operationView({ attempt: 1, phase: "failed", reason: "Io" });
    expect(plan({ prime: chosen(1, 0), operation })).toEqual({
      steps: [],
      waitingFor: "retry 2 of 5",
      requeueAfterMs: 10_000,
    });
    expect(plan({ prime: chosen(1, 10_000), operation }).steps).toEqual([populate(2)]);
  });

  it.each<[string, Record<string, string>]>([
    ["no last-failure time", { [ATTEMPTS]: "1" }],
    ["an unreadable last-failure time", { [ATTEMPTS]: "1", [LAST_FAILURE]: "yesterday" }],
  ])("asks for the next attempt right away when PVC' has %s", (_, annotations) => {
    expect(plan({ prime: { ...chosen(), ...annotations } }).steps).toEqual([populate(2)]);
  });

  it("gives up after the last attempt: marks PVC' failed, says so and fails the operation as the fast path's", () => {
    const operation = operationView({ attempt: 5, phase: "failed", reason: "Io", message: "read error" });
    expect(plan({ prime: chosen(4, 300_000), operation })).toEqual({
      steps: [
        {
          kind: "annotatePrimePvc",
          annotations: { [ATTEMPTS]: "5", [LAST_FAILURE]: NOW_ISO, [STATE]: "failed" },
        },
        {
          kind: "event",
          type: "Warning",
          reason: EventReason.Failed,
          message:
            "Fast-path population failed 5 times, giving up: Io: read error. Delete and re-create the PVC to try again.",
        },
        { kind: "setProgress", progress: "failed: Io: read error" },
        { kind: "finishOperation", result: "failed", strategy: FAST_PATH },
      ],
      waitingFor: "someone to act on the failed population",
    });
  });

  it("gives up at the first failure when only one attempt is allowed", () => {
    const operation = operationView({ phase: "failed", reason: "Io" });
    const steps = plan({ prime: chosen(), operation, settings: { maxAttempts: 1 } }).steps;
    expect(steps[0]).toMatchObject({ annotations: { [ATTEMPTS]: "1", [STATE]: "failed" } });
    expect(steps[1]).toMatchObject({ message: expect.stringContaining("failed 1 times, giving up") });
  });
});

describe("csiFastPathStrategy.fill once the Pod strategy was chosen", () => {
  it("lets the Pod strategy fill PVC' and asks no backend anything", () => {
    const filled = plan({ prime: { [STRATEGY]: "pod" }, operation: operationView({ phase: "rejected" }) });
    expect(kinds(filled)).toEqual(["createPod"]);
  });

  it("is done when the populator pod succeeded", () => {
    expect(fill({ prime: { [STRATEGY]: "pod" }, pod: pod({ status: { phase: "Succeeded" } }) })).toEqual({
      state: "done",
    });
  });
});

describe("csiFastPathStrategy.cleanup", () => {
  const strategy = csiFastPathStrategy({ backends: [{ endpoint: FASTPATH_ENDPOINT }] });
  const { observed } = fillInput();
  const withPrime = (annotations: Record<string, string> | undefined): Observed => ({
    ...observed,
    primePvc: primePvc({ metadata: { annotations } }),
  });

  it.each<[string, Observed, Step[]]>([
    [
      "cancels the operation at the backend recorded on PVC', even when none is known (restart)",
      withPrime(chosen()),
      [{ kind: "runtime", action: { kind: "cancel", endpoint: FASTPATH_ENDPOINT } }],
    ],
    [
      "cancels at the backend of the known operation when PVC' is already gone",
      {
        ...observed,
        primePvc: undefined,
        strategyState: { backends: [], operation: operationView({ endpoint: OTHER_ENDPOINT }) },
      },
      [{ kind: "runtime", action: { kind: "cancel", endpoint: OTHER_ENDPOINT } }],
    ],
    [
      "deletes the pod of a fallback and cancels at the backend that had been chosen first",
      { ...withPrime({ ...chosen(), [STRATEGY]: "pod" }), pod: pod() },
      [{ kind: "deletePod" }, { kind: "runtime", action: { kind: "cancel", endpoint: FASTPATH_ENDPOINT } }],
    ],
    [
      "only deletes the pod when the fast path was never chosen",
      { ...withPrime({ [STRATEGY]: "pod" }), pod: pod() },
      [{ kind: "deletePod" }],
    ],
    ["does nothing when nothing was started", withPrime(undefined), []],
  ])("%s", (_, seen, steps) => {
    expect(strategy.cleanup(seen, PREFIX)).toEqual(steps);
  });
});
