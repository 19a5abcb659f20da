import type { V1Lease, V1LeaseSpec } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { ConfigError } from "./errors.ts";
import {
  type AcquireDecision,
  decideAcquire,
  heldLeaseSpec,
  LEADERSHIP_LOST,
  LeadershipLostError,
  type LeaseObservation,
  type LeaseRecord,
  leaderElectionTimingProblems,
  leaseDurationSeconds,
  leaseExpiresAt,
  leaseRecord,
  observeLease,
  releasedLeaseSpec,
  runWithLeaderElection,
} from "./leader-election.ts";
import type { Logger } from "./logger.ts";

const T0 = Date.parse("2026-01-01T00:00:00.000Z");

/** A Lease as client-node hands it over: MicroTimes as the API's strings. */
function lease(spec: Record<string, unknown> = {}): V1Lease {
  return { metadata: { name: "volpop", namespace: "ns", resourceVersion: "7" }, spec: spec as V1LeaseSpec };
}

function record(overrides: Partial<LeaseRecord> = {}): LeaseRecord {
  return {
    holder: "a",
    leaseDurationSeconds: 15,
    acquireTimeMs: T0,
    renewTimeMs: T0,
    leaseTransitions: 0,
    ...overrides,
  };
}

function observed(overrides: Partial<LeaseRecord> = {}, observedAtMs = T0): LeaseObservation {
  return { record: record(overrides), observedAtMs };
}

// The wire form of a spec: what client-node sends, MicroTimes with six fractional digits.
function wire(spec: V1LeaseSpec): unknown {
  return JSON.parse(JSON.stringify(spec));
}

describe("leaderElectionTimingProblems", () => {
  const valid = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 5_000 };

  it.each([
    { name: "client-go's defaults", timings: valid, problems: [] },
    {
      name: "the e2e tier's short ones",
      timings: { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 500 },
      problems: [],
    },
    {
      name: "a renew deadline as long as the lease",
      timings: { ...valid, renewDeadlineMs: 15_000 },
      problems: ["leaseDurationMs (15000) must be greater than renewDeadlineMs (15000)"],
    },
    {
      name: "a renew deadline that leaves no room for a second attempt",
      timings: { ...valid, retryPeriodMs: 9000 },
      problems: ["renewDeadlineMs (10000) must be greater than 1.2 × retryPeriodMs (9000)"],
    },
    {
      name: "a lease shorter than the Lease's one-second unit",
      timings: { leaseDurationMs: 900, renewDeadlineMs: 600, retryPeriodMs: 100 },
      problems: ["leaseDurationMs must be at least 1000 (a Lease counts whole seconds), not 900"],
    },
    {
      name: "non-positive or missing numbers",
      timings: { leaseDurationMs: 0, renewDeadlineMs: Number.NaN, retryPeriodMs: -1 },
      problems: [
        "leaseDurationMs must be a positive number, not 0",
        "renewDeadlineMs must be a positive number, not NaN",
        "retryPeriodMs must be a positive number, not -1",
      ],
    },
  ])("accepts or rejects $name", ({ timings, problems }) => {
    expect(leaderElectionTimingProblems(timings)).toEqual(problems);
  });
});

describe("leaseDurationSeconds", () => {
  it.each([
    [15_000, 15],
    [3000, 3],
    [2500, 3],
    [1000, 1],
  ])("writes %i ms as %i s, rounding up so nobody takes over early", (ms, seconds) => {
    expect(leaseDurationSeconds(ms)).toBe(seconds);
  });
});

describe("leaseRecord", () => {
  it("reads MicroTimes given as strings, as client-node returns them", () => {
    const read = leaseRecord(
      lease({
        holderIdentity: "a",
        leaseDurationSeconds: 15,
        acquireTime: "2026-01-01T00:00:00.000000Z",
        renewTime: "2026-01-01T00:00:05.250000Z",
        leaseTransitions: 3,
      }),
    );
    expect(read).toEqual({
      holder: "a",
      leaseDurationSeconds: 15,
      acquireTimeMs: T0,
      renewTimeMs: T0 + 5250,
      leaseTransitions: 3,
    });
  });

  it("reads MicroTimes given as Dates", () => {
    const read = leaseRecord(lease({ acquireTime: new Date(T0), renewTime: new Date(T0 + 1) }));
    expect([read.acquireTimeMs, read.renewTimeMs]).toEqual([T0, T0 + 1]);
  });

  it("reads an empty or spec-less Lease as free, expired and never transferred", () => {
    const free = {
      holder: "",
      leaseDurationSeconds: 0,
      acquireTimeMs: undefined,
      renewTimeMs: undefined,
      leaseTransitions: 0,
    };
    expect(leaseRecord(lease())).toEqual(free);
    expect(leaseRecord({ metadata: { name: "volpop" } })).toEqual(free);
    expect(leaseRecord(lease({ renewTime: "not a time" })).renewTimeMs).toBeUndefined();
  });
});

describe("observeLease", () => {
  it("starts the clock on the first observation", () => {
    expect(observeLease(undefined, record(), T0 + 100)).toEqual({ record: record(), observedAtMs: T0 + 100 });
  });

  it("keeps the first observation time while the record stays the same, whatever renewTime says", () => {
    const first = observeLease(undefined, record({ renewTimeMs: T0 - 60_000 }), T0);
    const again = observeLease(first, record({ renewTimeMs: T0 - 60_000 }), T0 + 10_000);
    expect(again.observedAtMs).toBe(T0);
  });

  it.each([
    { field: "renewTime (a renewal)", change: { renewTimeMs: T0 + 5000 } },
    { field: "the holder", change: { holder: "b" } },
    { field: "the duration", change: { leaseDurationSeconds: 30 } },
    { field: "the transitions", change: { leaseTransitions: 1 } },
    { field: "acquireTime", change: { acquireTimeMs: T0 + 1 } },
  ])("restarts the clock when $field changes", ({ change }) => {
    const first = observeLease(undefined, record(), T0);
    const next = observeLease(first, record(change), T0 + 7000);
    expect(next).toEqual({ record: record(change), observedAtMs: T0 + 7000 });
  });
});

describe("decideAcquire", () => {
  const cases: { name: string; observation: LeaseObservation; now: number; decision: AcquireDecision }[] = [
    {
      name: "renews a Lease it holds, even an expired one",
      observation: observed({ holder: "me" }),
      now: T0 + 60_000,
      decision: { action: "renew" },
    },
    {
      name: "waits while another holder's lease runs",
      observation: observed({ holder: "a" }),
      now: T0 + 14_999,
      decision: { action: "wait", holder: "a", expiresAtMs: T0 + 15_000 },
    },
    {
      name: "takes over once the lease duration has passed since it was observed",
      observation: observed({ holder: "a" }),
      now: T0 + 15_000,
      decision: { action: "take-over", previousHolder: "a" },
    },
    {
      name: "measures expiry from observation, not from an old renewTime (clock skew)",
      observation: observed({ holder: "a", renewTimeMs: T0 - 3_600_000 }, T0),
      now: T0 + 1000,
      decision: { action: "wait", holder: "a", expiresAtMs: T0 + 15_000 },
    },
    {
      name: "uses the Lease's own duration, whatever this candidate's is",
      observation: observed({ holder: "a", leaseDurationSeconds: 60 }),
      now: T0 + 30_000,
      decision: { action: "wait", holder: "a", expiresAtMs: T0 + 60_000 },
    },
    {
      name: "takes a released Lease at once",
      observation: observed({ holder: "", leaseDurationSeconds: 1 }),
      now: T0,
      decision: { action: "take-over", previousHolder: "" },
    },
    {
      name: "takes a held Lease without a duration at once",
      observation: observed({ holder: "a", leaseDurationSeconds: 0 }),
      now: T0,
      decision: { action: "take-over", previousHolder: "a" },
    },
  ];

  it.each(cases)("$name", ({ observation, now, decision }) => {
    expect(decideAcquire(observation, "me", now)).toEqual(decision);
  });

  it("agrees with leaseExpiresAt", () => {
    expect(leaseExpiresAt(observed({ leaseDurationSeconds: 3 }, T0 + 500))).toBe(T0 + 3500);
  });
});

describe("heldLeaseSpec", () => {
  const now = T0 + 42_000;
  const at = (ms: number) => new Date(ms).toISOString().replace("Z", "000Z");

  it.each([
    {
      name: "creates a Lease with no transitions",
      previous: undefined,
      spec: { acquireTime: at(now), leaseTransitions: 0 },
    },
    {
      name: "renews keeping acquireTime and transitions",
      previous: record({ holder: "me", acquireTimeMs: T0, leaseTransitions: 4 }),
      spec: { acquireTime: at(T0), leaseTransitions: 4 },
    },
    {
      name: "takes over from another holder, counting a transition",
      previous: record({ holder: "a", leaseTransitions: 4 }),
      spec: { acquireTime: at(now), leaseTransitions: 5 },
    },
    {
      name: "takes a released Lease, counting a transition",
      previous: record({ holder: "", leaseTransitions: 5 }),
      spec: { acquireTime: at(now), leaseTransitions: 6 },
    },
    {
      name: "renews a Lease without acquireTime, stamping it now",
      previous: record({ holder: "me", acquireTimeMs: undefined, leaseTransitions: 1 }),
      spec: { acquireTime: at(now), leaseTransitions: 1 },
    },
  ])("$name", ({ previous, spec }) => {
    expect(wire(heldLeaseSpec(previous, "me", 15, now))).toEqual({
      holderIdentity: "me",
      leaseDurationSeconds: 15,
      renewTime: at(now),
      ...spec,
    });
  });

  it("writes MicroTimes with the six fractional digits the API server requires", () => {
    expect(wire(heldLeaseSpec(undefined, "me", 15, T0 + 1))).toMatchObject({
      renewTime: "2026-01-01T00:00:00.001000Z",
    });
  });
});

describe("releasedLeaseSpec", () => {
  it("empties the holder, shortens the lease to one second and keeps the transitions", () => {
    expect(wire(releasedLeaseSpec(record({ holder: "me", leaseTransitions: 2 }), T0))).toEqual({
      holderIdentity: "",
      leaseDurationSeconds: 1,
      acquireTime: "2026-01-01T00:00:00.000000Z",
      renewTime: "2026-01-01T00:00:00.000000Z",
      leaseTransitions: 2,
    });
  });
});

describe("LeadershipLostError", () => {
  it("carries its code, the Lease, the identity and the cause", () => {
    const cause = new Error("timeout");
    const error = new LeadershipLostError("ns/volpop", "me", "not renewed within 10000 ms", { cause });
    expect(error).toMatchObject({
      code: LEADERSHIP_LOST,
      name: "LeadershipLostError",
      lease: "ns/volpop",
      identity: "me",
    });
    expect(error.message).toBe("me lost leadership of Lease ns/volpop: not renewed within 10000 ms");
    expect(error.cause).toBe(cause);
  });
});

describe("runWithLeaderElection", () => {
  const silent: Logger = {
    error: () => undefined,
    warn: () => undefined,
    info: () => undefined,
    debug: () => undefined,
    child: () => silent,
  };
  // Never used: both cases stop before the first API call.
  const kubeConfig = {} as never;

  it("rejects invalid settings with a ConfigError listing every problem", async () => {
    const run = runWithLeaderElection(
      {
        kubeConfig,
        namespace: "ns",
        name: "volpop",
        identity: "",
        leaseDurationMs: 5000,
        renewDeadlineMs: 5000,
        signal: new AbortController().signal,
        logger: silent,
      },
      async () => undefined,
    );
    await expect(run).rejects.toThrow(ConfigError);
    await expect(run).rejects.toThrow(
      "invalid leader election settings: leaseDurationMs (5000) must be greater than renewDeadlineMs (5000); " +
        "renewDeadlineMs (5000) must be greater than 1.2 × retryPeriodMs (5000); identity must not be empty",
    );
  });

  it("resolves without leading when stopped before it starts", async () => {
    let led = false;
    await runWithLeaderElection(
      {
        kubeConfig,
        namespace: "ns",
        name: "volpop",
        identity: "me",
        signal: AbortSignal.abort(),
        logger: silent,
      },
      async () => {
        led = true;
      },
    );
    expect(led).toBe(false);
  });
});
