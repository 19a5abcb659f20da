import type { CoreV1Api, CoreV1Event } from "@kubernetes/client-node";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { EventRecorder } from "./event-recorder.ts";
import { EventReason } from "./events.ts";
import { type ExecutorContext, execute } from "./executor.ts";
import { FakeClock } from "./internal/fake-clock.ts";
import {
  FASTPATH_ENDPOINT,
  NOW,
  ourPvc,
  POPULATOR_NAMESPACE,
  PREFIX,
  PVC_NAME,
  PVC_UID,
  USER_NAMESPACE,
} from "./internal/fixtures.ts";
import { createLogger } from "./logger.ts";
import { createPopulatorMetrics } from "./metrics.ts";
import { fastPathBackendAnnotation, populateStrategyAnnotation, primePvcName } from "./names.ts";
import type { Step } from "./plan.ts";
import type { RuntimeStep, StrategyRuntime } from "./strategy.ts";

// The fast-path steps of the executor, against a CoreV1Api that records what it is asked.

interface Recorded {
  readonly patches: { name: string; namespace: string; body: unknown }[];
  readonly events: CoreV1Event[];
  readonly performed: [RuntimeStep, string][];
  readonly registry: Registry;
}

function setup(options: { runtime?: boolean; strategyName?: string } = {}): {
  context: ExecutorContext;
  recorded: Recorded;
} {
  const recorded: Recorded = { patches: [], events: [], performed: [], registry: new Registry() };
  const core = {
    patchNamespacedPersistentVolumeClaim: async (request: {
      name: string;
      namespace: string;
      body: unknown;
    }) => {
      recorded.patches.push({ name: request.name, namespace: request.namespace, body: request.body });
      return {};
    },
    createNamespacedEvent: async (request: { body: CoreV1Event }) => {
      recorded.events.push(request.body);
      return request.body;
    },
  } as unknown as CoreV1Api;
  const logger = createLogger({ level: "silent", name: "test" });
  const runtime: StrategyRuntime = {
    start: async () => {},
    stop: async () => {},
    observe: () => ({ backends: [], operation: undefined }),
    perform: async (step, uid) => {
      recorded.performed.push([step, uid]);
    },
    health: () => [],
  };
  return {
    recorded,
    context: {
      core,
      events: new EventRecorder({
        core,
        component: "test",
        instance: "test-1",
        clock: new FakeClock(NOW),
        logger,
      }),
      metrics: createPopulatorMetrics(recorded.registry, { processMetrics: false }),
      prefix: PREFIX,
      namespace: POPULATOR_NAMESPACE,
      strategyName: options.strategyName ?? "csi-fastpath",
      ...(options.runtime === false ? {} : { runtime }),
    },
  };
}

const run = (steps: Step[], context: ExecutorContext) => execute(steps, ourPvc(), context);

describe("execute: chooseStrategy", () => {
  it.each<[string, Step, Record<string, string>, string, string]>([
    [
      "records the fast path and its backend on PVC', counts the decision and tells the user's PVC",
      {
        kind: "chooseStrategy",
        strategy: "csi-fastpath",
        reason: "FastPath",
        message: "Populating through fast-path backend x",
        endpoint: FASTPATH_ENDPOINT,
      },
      {
        [populateStrategyAnnotation(PREFIX)]: "csi-fastpath",
        [fastPathBackendAnnotation(PREFIX)]: FASTPATH_ENDPOINT,
      },
      'volpop_fastpath_decisions_total{decision="fastpath",reason="FastPath"} 1',
      EventReason.FastPath,
    ],
    [
      "records a fallback to pods on PVC', counts it by reason and tells the user's PVC",
      {
        kind: "chooseStrategy",
        strategy: "pod",
        reason: "DriverNotServed",
        message: "Populating with a pod instead of the fast path: no backend",
      },
      { [populateStrategyAnnotation(PREFIX)]: "pod" },
      'volpop_fastpath_decisions_total{decision="fallback",reason="DriverNotServed"} 1',
      EventReason.FastPathFallback,
    ],
  ])("%s", async (_, step, annotations, counted, reason) => {
    const { context, recorded } = setup();
    await run([step], context);
    expect(recorded.patches).toEqual([
      { name: primePvcName(PVC_UID), namespace: POPULATOR_NAMESPACE, body: { metadata: { annotations } } },
    ]);
    expect(await recorded.registry.metrics()).toContain(counted);
    expect(recorded.events).toMatchObject([
      {
        type: "Normal",
        reason,
        message: (step as { message: string }).message,
        involvedObject: {
          kind: "PersistentVolumeClaim",
          namespace: USER_NAMESPACE,
          name: PVC_NAME,
          uid: PVC_UID,
        },
      },
    ]);
  });
});

describe("execute: fast-path calls", () => {
  const populate: Step = {
    kind: "fastPathPopulate",
    endpoint: FASTPATH_ENDPOINT,
    request: {
      operationId: PVC_UID,
      attempt: 1,
      csiDriver: "hostpath.csi.k8s.io",
      volumeHandle: "vol-1",
      volumeAttributes: {},
      capacityBytes: 1,
      volumeMode: 1,
      sourceKind: undefined,
      sourceJson: "{}",
      parameters: {},
    },
  };
  const cancel: Step = { kind: "fastPathCancel", endpoint: FASTPATH_ENDPOINT };

  it("hands Populate and Cancel to the strategy runtime with the user's PVC uid, in order", async () => {
    const { context, recorded } = setup();
    await run([populate, cancel], context);
    expect(recorded.performed).toEqual([
      [populate, PVC_UID],
      [cancel, PVC_UID],
    ]);
    expect(recorded.patches).toEqual([]);
  });

  it.each([populate, cancel])("fails a $kind step when the strategy has no runtime", async (step) => {
    const { context } = setup({ runtime: false });
    await expect(run([step], context)).rejects.toThrow(`step ${step.kind} needs a strategy runtime`);
  });
});

describe("execute: finishOperation", () => {
  it.each<[string, Step, string]>([
    [
      "counts the population for the strategy that filled it",
      { kind: "finishOperation", result: "success", strategy: "pod" },
      'volpop_population_strategy_total{strategy="pod",outcome="success"} 1',
    ],
    [
      "counts it for the configured strategy when the step names none",
      { kind: "finishOperation", result: "failed" },
      'volpop_population_strategy_total{strategy="csi-fastpath",outcome="failed"} 1',
    ],
  ])("%s", async (_, step, counted) => {
    const { context, recorded } = setup();
    await run([{ kind: "startOperation" }, step], context);
    expect(await recorded.registry.metrics()).toContain(counted);
  });

  it("counts nothing for an operation that was not in flight (a second finish)", async () => {
    const { context, recorded } = setup();
    await run([{ kind: "finishOperation", result: "success", strategy: "pod" }], context);
    expect(await recorded.registry.metrics()).not.toContain(
      'volpop_population_strategy_total{strategy="pod"',
    );
  });
});
