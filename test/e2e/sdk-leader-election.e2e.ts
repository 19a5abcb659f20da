import { setTimeout as sleep } from "node:timers/promises";
import {
  AdmissionregistrationV1Api,
  CoordinationV1Api,
  type V1Lease,
  V1MicroTime,
} from "@kubernetes/client-node";
import { createLogger, type Logger, toVolpopError } from "@volpop/sdk";
import { type LeaderElectionStatus, LeadershipLostError, runWithLeaderElection } from "@volpop/sdk/runtime";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { createTestNamespace, deleteNamespace, type Kube, kube, waitFor } from "./support/kube.ts";

/** Short durations keep the suite quick; they satisfy the same rules as client-go's 15/10/5 s. */
const TIMINGS = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 500 };
/** Generous: a takeover needs at most a lease duration plus a couple of retry periods. */
const TAKEOVER_TIMEOUT_MS = 30_000;

/** One elector running `runWithLeaderElection` in this process, as one replica of a controller would. */
interface Candidate {
  readonly identity: string;
  /** True while its `lead` runs. */
  readonly leading: boolean;
  /** Every status `onChange` reported, in order. */
  readonly statuses: readonly LeaderElectionStatus[];
  /** Why its `lead` was told to stop, once it was. */
  readonly leadStopReason: unknown;
  /** How `runWithLeaderElection` settled. */
  readonly result: Promise<{ ok: true } | { ok: false; error: unknown }>;
  /** Aborts its signal and waits until `runWithLeaderElection` settled. */
  stop(): Promise<{ ok: true } | { ok: false; error: unknown }>;
}

/** Leader election on the real API server: Lease creation, takeover, release and loss. */
describe("leader election", () => {
  let api: Kube;
  let leases: CoordinationV1Api;
  let namespace: string;
  const running: Candidate[] = [];

  beforeAll(async () => {
    api = kube();
    leases = api.config.makeApiClient(CoordinationV1Api);
    namespace = await createTestNamespace(api, "sdk-le");
  });
  afterAll(async () => {
    await Promise.all(running.map((c) => c.stop()));
    if (namespace) await deleteNamespace(api, namespace);
  });

  // The candidates' log lines, printed only when a test fails.
  function testLogger(): Logger {
    const lines: string[] = [];
    onTestFailed(() => {
      console.error(lines.join(""));
    });
    return createLogger({
      name: "e2e-leader-election",
      level: "debug",
      destination: { write: (l) => lines.push(l) },
    });
  }

  /**
   * Starts a candidate. Its default `lead` works until told to stop, noting in `leaders` who leads, so
   * that a test can check that two never lead at once.
   */
  function startCandidate(
    identity: string,
    leaseName: string,
    logger: Logger,
    options: { leaders?: Set<string>; overlaps?: string[][]; lead?: () => Promise<void> } = {},
  ): Candidate {
    const stop = new AbortController();
    const statuses: LeaderElectionStatus[] = [];
    let leading = false;
    let leadStopReason: unknown;
    const result = runWithLeaderElection(
      {
        kubeConfig: api.config,
        namespace,
        name: leaseName,
        identity,
        ...TIMINGS,
        signal: stop.signal,
        logger: logger.child({ candidate: identity }),
        onChange: (status) => statuses.push(status),
      },
      async (signal) => {
        leading = true;
        if (options.leaders && options.overlaps) {
          if (options.leaders.size > 0) options.overlaps.push([...options.leaders, identity]);
          options.leaders.add(identity);
        }
        try {
          if (options.lead) {
            await options.lead();
          } else {
            await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
          }
        } finally {
          leadStopReason = signal.reason;
          options.leaders?.delete(identity);
          leading = false;
        }
      },
    ).then(
      () => ({ ok: true as const }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    const candidate: Candidate = {
      identity,
      get leading() {
        return leading;
      },
      statuses,
      get leadStopReason() {
        return leadStopReason;
      },
      result,
      stop: () => {
        stop.abort(new Error(`${identity} stopped by the test`));
        return result;
      },
    };
    running.push(candidate);
    return candidate;
  }

  const readLease = (name: string): Promise<V1Lease> => leases.readNamespacedLease({ name, namespace });

  /** Creates a Lease as a candidate that then vanished (crashed, no release) would have left it. */
  async function createHeldLease(name: string, holder: string, durationSeconds: number): Promise<void> {
    const now = new V1MicroTime();
    await leases.createNamespacedLease({
      namespace,
      body: {
        metadata: { name },
        spec: {
          holderIdentity: holder,
          leaseDurationSeconds: durationSeconds,
          acquireTime: now,
          renewTime: now,
          leaseTransitions: 4,
        },
      },
    });
  }

  it("lets exactly one of two candidates lead, hands over when the leader stops, and leaves the Lease released", async () => {
    const logger = testLogger();
    const leaders = new Set<string>();
    const overlaps: string[][] = [];
    const candidates = [
      startCandidate("a", "two-candidates", logger, { leaders, overlaps }),
      startCandidate("b", "two-candidates", logger, { leaders, overlaps }),
    ];

    const firstLeader = await waitFor(
      "one candidate to lead",
      async () => (leaders.size === 1 ? [...leaders][0] : undefined),
      TAKEOVER_TIMEOUT_MS,
    );
    const held = await readLease("two-candidates");
    expect(held.spec?.holderIdentity).toBe(firstLeader);
    expect(held.spec?.leaseDurationSeconds).toBe(3);

    // Well over a lease duration of renewals: the standby must stay standby all along.
    await sleep(2 * TIMINGS.leaseDurationMs);
    expect([...leaders]).toEqual([firstLeader]);
    const leader = candidates.find((c) => c.identity === firstLeader);
    const standby = candidates.find((c) => c.identity !== firstLeader);
    if (!leader || !standby) throw new Error("unreachable: two candidates");
    expect(standby.statuses.at(-1)).toEqual({ leading: false, holder: firstLeader });
    const renewed = await readLease("two-candidates");
    expect(renewed.spec?.holderIdentity).toBe(firstLeader);
    expect(renewed.spec?.renewTime).not.toEqual(held.spec?.renewTime);

    expect(await leader.stop()).toEqual({ ok: true });
    expect(leader.statuses.at(-1)?.leading).toBe(false);
    await waitFor(
      `${standby.identity} to take over`,
      async () => (standby.leading ? true : undefined),
      TAKEOVER_TIMEOUT_MS,
    );
    const takenOver = await readLease("two-candidates");
    expect(takenOver.spec?.holderIdentity).toBe(standby.identity);
    expect(takenOver.spec?.leaseTransitions).toBe((renewed.spec?.leaseTransitions ?? 0) + 1);
    expect(standby.statuses.at(-1)).toEqual({ leading: true, holder: standby.identity });

    expect(await standby.stop()).toEqual({ ok: true });
    const released = await readLease("two-candidates");
    expect(released.spec?.holderIdentity ?? "").toBe("");
    expect(released.spec?.leaseDurationSeconds).toBe(1);
    expect(released.spec?.leaseTransitions).toBe(takenOver.spec?.leaseTransitions);
    expect(overlaps).toEqual([]);
  });

  it("takes over a Lease whose holder vanished without releasing it, once the lease has expired", async () => {
    const logger = testLogger();
    await createHeldLease("vanished-holder", "ghost", 3);
    const a = startCandidate("a", "vanished-holder", logger);

    await waitFor(
      "a to see ghost's Lease",
      async () => (a.statuses.some((s) => s.holder === "ghost") ? true : undefined),
      TAKEOVER_TIMEOUT_MS,
    );
    // ghost's three seconds count from a's first look at the Lease, which was just now.
    expect(a.leading).toBe(false);
    await waitFor("a to take over", async () => (a.leading ? true : undefined), TAKEOVER_TIMEOUT_MS);
    const lease = await readLease("vanished-holder");
    expect(lease.spec?.holderIdentity).toBe("a");
    expect(lease.spec?.leaseTransitions).toBe(5);
    expect(lease.spec?.acquireTime).toEqual(lease.spec?.renewTime);

    expect(await a.stop()).toEqual({ ok: true });
  });

  it("gives up leading when the API server refuses its renewals for the renew deadline", async () => {
    const logger = testLogger();
    const a = startCandidate("a", "frozen", logger);
    await waitFor("a to lead", async () => (a.leading ? true : undefined), TAKEOVER_TIMEOUT_MS);

    // An admission policy that refuses every update of this one Lease: to the leader, the API
    // server answers but never lets it renew.
    const admission = api.config.makeApiClient(AdmissionregistrationV1Api);
    const policy = `volpop-e2e-freeze-lease-${namespace}`;
    try {
      await admission.createValidatingAdmissionPolicy({
        body: {
          metadata: { name: policy },
          spec: {
            failurePolicy: "Fail",
            matchConstraints: {
              resourceRules: [
                {
                  apiGroups: ["coordination.k8s.io"],
                  apiVersions: ["v1"],
                  operations: ["UPDATE"],
                  resources: ["leases"],
                },
              ],
            },
            validations: [
              { expression: "object.metadata.name != 'frozen'", message: "frozen by the e2e test" },
            ],
          },
        },
      });
      await admission.createValidatingAdmissionPolicyBinding({
        body: {
          metadata: { name: policy },
          spec: {
            policyName: policy,
            validationActions: ["Deny"],
            matchResources: {
              namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } },
            },
          },
        },
      });

      const result = await a.result;
      const error = result.ok ? undefined : result.error;
      expect(error).toBeInstanceOf(LeadershipLostError);
      expect(error).toMatchObject({ message: expect.stringContaining("not renewed within 2000 ms") });
      // The last refusal is kept as the cause, for the log line the process exits with.
      expect(toVolpopError((error as Error).cause)).toMatchObject({ status: 422, reason: "Invalid" });
      expect(a.leadStopReason).toBe(error);
      expect(a.statuses.at(-1)).toEqual({ leading: false, holder: "a" });
      // Nobody else wrote to it: the Lease still names the lost leader until it expires.
      expect((await readLease("frozen")).spec?.holderIdentity).toBe("a");
    } finally {
      await admission.deleteValidatingAdmissionPolicyBinding({ name: policy }).catch(() => undefined);
      await admission.deleteValidatingAdmissionPolicy({ name: policy }).catch(() => undefined);
    }
  });

  it("stops a leader whose Lease another holder took, rejecting with LeadershipLostError and leaving the Lease alone", async () => {
    const logger = testLogger();
    const a = startCandidate("a", "taken-away", logger);
    await waitFor("a to lead", async () => (a.leading ? true : undefined), TAKEOVER_TIMEOUT_MS);

    // An intruder writes itself in (a's renewals may conflict with the write: retry until it lands).
    await waitFor("the intruder to take the Lease", async () => {
      const current = await readLease("taken-away");
      const now = new V1MicroTime();
      await leases.replaceNamespacedLease({
        name: "taken-away",
        namespace,
        body: {
          ...current,
          spec: { ...current.spec, holderIdentity: "intruder", leaseDurationSeconds: 3600, renewTime: now },
        },
      });
      return true;
    });

    const result = await a.result;
    expect(result.ok).toBe(false);
    const error = result.ok ? undefined : result.error;
    expect(error).toBeInstanceOf(LeadershipLostError);
    expect(error).toMatchObject({ code: "LEADERSHIP_LOST", lease: `${namespace}/taken-away`, identity: "a" });
    expect(a.leadStopReason).toBe(error);
    expect(a.statuses.at(-1)).toEqual({ leading: false, holder: "intruder" });
    expect((await readLease("taken-away")).spec?.holderIdentity).toBe("intruder");
  });

  it("releases the Lease when lead returns by itself", async () => {
    const logger = testLogger();
    const a = startCandidate("a", "lead-returns", logger, { lead: async () => undefined });
    expect(await a.result).toEqual({ ok: true });
    const lease = await readLease("lead-returns");
    expect(lease.spec?.holderIdentity ?? "").toBe("");
    expect(lease.spec?.leaseDurationSeconds).toBe(1);
    expect(a.statuses.at(-1)).toEqual({ leading: false, holder: undefined });
  });

  it("resolves without leading when stopped while another candidate holds the Lease", async () => {
    const logger = testLogger();
    await createHeldLease("held-elsewhere", "ghost", 3600);
    const a = startCandidate("a", "held-elsewhere", logger);
    await waitFor(
      "a to see ghost's Lease",
      async () => (a.statuses.some((s) => s.holder === "ghost") ? true : undefined),
      TAKEOVER_TIMEOUT_MS,
    );
    expect(await a.stop()).toEqual({ ok: true });
    expect(a.statuses).toEqual([{ leading: false, holder: "ghost" }]);
    expect((await readLease("held-elsewhere")).spec?.holderIdentity).toBe("ghost");
  });
});
