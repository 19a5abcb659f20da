import { describe, expect, it, vi } from "vitest";
import { EventReason } from "../../events.ts";
import { fillInput, NOW, PREFIX, PVC_UID, primePvc, pv } from "../../internal/fixtures.ts";
import { createLogger } from "../../logger.ts";
import { createPopulatorMetrics } from "../../metrics.ts";
import {
  populateAttemptsAnnotation,
  populateLastFailureAnnotation,
  populateStateAnnotation,
} from "../../names.ts";
import type { Observed } from "../../observed.ts";
import type { Step } from "../../plan.ts";
import type { FillOutcome } from "../../strategy.ts";
import { type FunctionAction, FunctionRuntime, type FunctionState } from "./runtime.ts";
import { FUNCTION_STRATEGY, functionStrategy } from "./strategy.ts";

const ATTEMPTS = populateAttemptsAnnotation(PREFIX);
const LAST_FAILURE = populateLastFailureAnnotation(PREFIX);

const boundPrime = (annotations: Record<string, string> = {}) =>
  primePvc({ metadata: { annotations }, status: { phase: "Bound" } });

function fill(seen: Partial<Observed>): FillOutcome {
  const strategy = functionStrategy({ populate: async () => {} });
  return strategy.fill(fillInput({ observed: { primePvc: boundPrime(), primePv: pv(), ...seen } }));
}

function steps(outcome: FillOutcome): readonly Step[] {
  if (outcome.state !== "working") throw new Error(`expected work, got ${outcome.state}`);
  return outcome.plan.steps;
}

const state = (overrides: Partial<FunctionState> = {}): FunctionState => ({
  attempt: 1,
  phase: "populating",
  ...overrides,
});

describe("functionStrategy.fill", () => {
  it("waits for PVC' to bind: the functions get its PV", () => {
    expect(fill({ primePvc: primePvc({ status: { phase: "Pending" } }), primePv: undefined })).toEqual({
      state: "working",
      plan: { steps: [], waitingFor: "PVC' to bind before populating it" },
    });
  });

  it("starts attempt 1 with the population's objects and says so on the PVC", () => {
    const planned = steps(fill({}));
    expect(planned).toMatchObject([
      {
        kind: "runtime",
        action: { kind: "populate", attempt: 1, primePv: pv(), source: { name: "hello" } },
      },
      { kind: "event", type: "Normal", reason: EventReason.OperationStartSuccess },
    ]);
  });

  it("shows the phase as progress while populate or isComplete run, and looks again", () => {
    const outcome = fill({ strategyState: state({ phase: "checking" }) });
    expect(outcome).toMatchObject({
      state: "working",
      plan: { steps: [{ kind: "setProgress", progress: "checking" }], requeueAfterMs: expect.any(Number) },
    });
  });

  it("shows the progress the functions report", () => {
    const outcome = fill({ strategyState: state({ progress: { bytesDone: 512, bytesTotal: 1024 } }) });
    expect(steps(outcome)).toEqual([{ kind: "setProgress", progress: expect.stringContaining("50%") }]);
  });

  it("is done once the functions say so: the controller hands the PV over", () => {
    expect(fill({ strategyState: state({ phase: "succeeded" }) })).toEqual({ state: "done" });
  });

  it("counts a failed attempt on PVC' and retries later, saying why", () => {
    const planned = steps(fill({ strategyState: state({ phase: "failed", message: "snapshot not found" }) }));
    expect(planned[0]).toMatchObject({ kind: "annotatePrimePvc", annotations: { [ATTEMPTS]: "1" } });
    expect(planned[1]).toMatchObject({
      kind: "event",
      type: "Warning",
      reason: EventReason.Failed,
      message: expect.stringContaining("Population failed (attempt 1 of 5): snapshot not found"),
    });
  });

  it("starts the next attempt once the retry delay has passed, not before", () => {
    const failedOnce = (agoMs: number) =>
      boundPrime({ [ATTEMPTS]: "1", [LAST_FAILURE]: new Date(NOW - agoMs).toISOString() });
    const stale = state({ phase: "failed", message: "x" });
    expect(fill({ primePvc: failedOnce(0), strategyState: stale })).toMatchObject({
      state: "working",
      plan: { steps: [], waitingFor: "retry 2 of 5" },
    });
    expect(steps(fill({ primePvc: failedOnce(3_600_000), strategyState: stale }))[0]).toMatchObject({
      kind: "runtime",
      action: { kind: "populate", attempt: 2 },
    });
  });

  it("gives up at maxAttempts with a Warning that says what to do, and counts it for its own name", () => {
    const planned = steps(
      fill({
        primePvc: boundPrime({ [ATTEMPTS]: "4" }),
        strategyState: state({ attempt: 5, phase: "failed", message: "storage API said no" }),
      }),
    );
    expect(planned).toContainEqual({
      kind: "annotatePrimePvc",
      annotations: expect.objectContaining({ [populateStateAnnotation(PREFIX)]: "failed" }),
    });
    expect(planned).toContainEqual({
      kind: "finishOperation",
      result: "failed",
      strategy: FUNCTION_STRATEGY,
    });
  });

  it("starts again after a controller restart (no state), the same attempt: populate is idempotent", () => {
    const planned = steps(fill({ primePvc: boundPrime({ [ATTEMPTS]: "1" }), strategyState: undefined }));
    expect(planned[0]).toMatchObject({ kind: "runtime", action: { kind: "populate", attempt: 2 } });
  });

  it("cleans up through the populator's function while PVC' exists, and not once it is gone", () => {
    const strategy = functionStrategy({ populate: async () => {} });
    const input = fillInput();
    expect(strategy.cleanup(input.observed, PREFIX)).toMatchObject([
      { kind: "runtime", action: { kind: "cleanup" } },
    ]);
    expect(strategy.cleanup({ ...input.observed, primePvc: undefined }, PREFIX)).toEqual([]);
  });
});

/** A started runtime and what it requeued. */
async function runtimeWith(options: ConstructorParameters<typeof FunctionRuntime>[0]) {
  const runtime = new FunctionRuntime({ pollIntervalMs: 5, ...options });
  const requeued: string[] = [];
  await runtime.start({
    signal: new AbortController().signal,
    requeue: (uid) => requeued.push(uid),
    logger: createLogger({ level: "silent", name: "test" }),
    metrics: createPopulatorMetrics(undefined, { processMetrics: false }),
  });
  return { runtime, requeued };
}

const populateAction = (attempt = 1): FunctionAction => {
  const input = fillInput();
  return {
    kind: "populate",
    attempt,
    pvc: input.observed.pvc,
    primePvc: boundPrime(),
    primePv: pv(),
    source: input.source,
  };
};

describe("FunctionRuntime", () => {
  it("runs populate in the background, then polls isComplete until true, requeueing at each phase", async () => {
    let done = false;
    const isComplete = vi.fn(async () => done);
    const { runtime, requeued } = await runtimeWith({ populate: async () => {}, isComplete });
    await runtime.perform(populateAction(), PVC_UID);
    expect(runtime.observe(PVC_UID)?.phase).toMatch(/populating|checking/);
    await vi.waitFor(() => expect(isComplete.mock.calls.length).toBeGreaterThan(2));
    expect(runtime.observe(PVC_UID)?.phase).toBe("checking");
    done = true;
    await vi.waitFor(() => expect(runtime.observe(PVC_UID)?.phase).toBe("succeeded"));
    expect(requeued).toEqual([PVC_UID, PVC_UID]);
  });

  it("is complete when populate resolves and there is no isComplete", async () => {
    const { runtime } = await runtimeWith({ populate: async () => {} });
    await runtime.perform(populateAction(), PVC_UID);
    await vi.waitFor(() => expect(runtime.observe(PVC_UID)?.phase).toBe("succeeded"));
  });

  it("records why populate threw, for the attempt it was", async () => {
    const { runtime } = await runtimeWith({
      populate: async () => {
        throw new Error("volume handle unknown");
      },
    });
    await runtime.perform(populateAction(2), PVC_UID);
    await vi.waitFor(() =>
      expect(runtime.observe(PVC_UID)).toEqual({
        attempt: 2,
        phase: "failed",
        message: "volume handle unknown",
      }),
    );
  });

  it("hands populate the population: PV, source, attempt, a signal and a progress reporter", async () => {
    const seen: unknown[] = [];
    const { runtime } = await runtimeWith({
      populate: async (population) => {
        seen.push(population.primePv?.metadata?.name, population.source.name, population.attempt);
        population.reportProgress({ bytesDone: 1, bytesTotal: 4 });
      },
      isComplete: async () => false,
    });
    await runtime.perform(populateAction(), PVC_UID);
    await vi.waitFor(() =>
      expect(runtime.observe(PVC_UID)?.progress).toEqual({ bytesDone: 1, bytesTotal: 4 }),
    );
    expect(seen).toEqual([pv().metadata?.name, "hello", 1]);
  });

  it("aborts a running populate on cleanup, lets it return first, then calls the populator's cleanup and ignores its end", async () => {
    let signal: AbortSignal | undefined;
    const release = Promise.withResolvers<void>();
    const order: string[] = [];
    const cleanup = vi.fn(async () => {
      order.push("cleanup");
    });
    const { runtime, requeued } = await runtimeWith({
      populate: async (population) => {
        signal = population.signal;
        population.signal.addEventListener("abort", () => setTimeout(release.resolve, 20));
        await release.promise;
        order.push("populate returned");
        throw new Error("aborted late");
      },
      cleanup,
    });
    await runtime.perform(populateAction(), PVC_UID);
    const input = fillInput();
    await runtime.perform(
      {
        kind: "cleanup",
        population: { pvc: input.observed.pvc, primePvc: undefined, primePv: pv(), source: undefined },
      },
      PVC_UID,
    );
    expect(signal?.aborted).toBe(true);
    expect(cleanup).toHaveBeenCalledWith(expect.objectContaining({ primePv: pv() }));
    expect(order).toEqual(["populate returned", "cleanup"]);
    expect(runtime.observe(PVC_UID)).toBeUndefined();
    expect(requeued).toEqual([]);
  });

  it("forgets everything when it stops (a lost leadership): the next term starts the attempt again", async () => {
    const { runtime } = await runtimeWith({ populate: () => new Promise(() => {}) });
    await runtime.perform(populateAction(), PVC_UID);
    await runtime.stop();
    expect(runtime.observe(PVC_UID)).toBeUndefined();
  });
});
