/**
 * Leader election on a `coordination.k8s.io/v1` Lease, as client-go's `tools/leaderelection` does
 * it (`@kubernetes/client-node` has no equivalent), so that only one replica of a populator
 * controller reconciles at a time.
 *
 * The protocol is client-go's, so volpop candidates read and write a Lease exactly like the Go
 * controllers next to them: a candidate reads the Lease every retry period and takes it when nobody
 * holds it or its holder has not renewed it for `leaseDurationSeconds`; every write is a replace
 * guarded by `resourceVersion`, so of two candidates writing at once one gets a 409 and loses. The
 * leader renews every retry period and gives up (stops working, then exits) when it cannot renew
 * for `renewDeadline`, which is shorter than the lease duration, so it stops before anyone else
 * may take over. On a requested stop the leader empties the Lease (client-go's `ReleaseOnCancel`)
 * so that a standby takes over at once instead of after a lease duration.
 *
 * Expiry is measured, as in client-go, from when this candidate *observed* the holder's last
 * renewal on its own clock, never from the `renewTime` written by the holder's clock: that keeps
 * the election correct when the nodes' clocks disagree (it only assumes they run at about the same
 * rate). The decisions are pure functions ({@link decideAcquire}, {@link heldLeaseSpec}…) so they
 * are table-tested; {@link runWithLeaderElection} is the loop around them and the API calls.
 */
import {
  CoordinationV1Api,
  type KubeConfig,
  type V1Lease,
  type V1LeaseSpec,
  V1MicroTime,
} from "@kubernetes/client-node";
import { type Clock, systemClock } from "./clock.ts";
import {
  ConfigError,
  isAlreadyExists,
  isConflict,
  isNotFound,
  toVolpopError,
  VolpopError,
  type VolpopErrorOptions,
} from "./errors.ts";
import {
  DEFAULT_LEASE_DURATION_MS,
  DEFAULT_RENEW_DEADLINE_MS,
  DEFAULT_RETRY_PERIOD_MS,
  JITTER_FACTOR,
  type LeaderElectionTimings,
  leaderElectionTimingProblems,
} from "./leader-election-timings.ts";
import type { Logger } from "./logger.ts";
import { withSignal } from "./request-signal.ts";

// The timing rules live apart so that command lines can check them without loading the Kubernetes
// client; they are part of this module's surface all the same.
export {
  DEFAULT_LEASE_DURATION_MS,
  DEFAULT_RENEW_DEADLINE_MS,
  DEFAULT_RETRY_PERIOD_MS,
  type LeaderElectionTimings,
  leaderElectionTimingProblems,
};

/** The `code` of a {@link LeadershipLostError}. */
export const LEADERSHIP_LOST = "LEADERSHIP_LOST";

/**
 * The leader could not renew its Lease within the renew deadline, or saw another holder in it:
 * another replica may be leading already, so the process should exit (and be restarted), as
 * client-go controllers do, rather than keep working.
 */
export class LeadershipLostError extends VolpopError {
  override name = "LeadershipLostError";

  /** The Lease, as `namespace/name`. */
  readonly lease: string;
  /** The identity that lost it. */
  readonly identity: string;

  /** Creates a LEADERSHIP_LOST error; `cause` is the last renewal failure, if there was one. */
  constructor(lease: string, identity: string, reason: string, options: VolpopErrorOptions = {}) {
    super(LEADERSHIP_LOST, `${identity} lost leadership of Lease ${lease}: ${reason}`, options);
    this.lease = lease;
    this.identity = identity;
  }
}

/** What {@link LeaderElectionConfig.onChange} reports. */
export interface LeaderElectionStatus {
  /** Whether this candidate holds the Lease (from acquiring it until it released or lost it). */
  readonly leading: boolean;
  /** Identity of the holder this candidate last saw in the Lease; `undefined` when nobody holds it. */
  readonly holder: string | undefined;
}

/** Everything {@link runWithLeaderElection} needs; the durations default to client-go's. */
export interface LeaderElectionConfig {
  /** Cluster access; the identity needs get, create and update on `leases` in `namespace`. */
  readonly kubeConfig: KubeConfig;
  /** Namespace of the Lease (`--leader-election-namespace`). */
  readonly namespace: string;
  /** Name of the Lease; every replica of one controller uses the same name. */
  readonly name: string;
  /** Unique per candidate (e.g. pod name, or host name and pid); written as the Lease's `holderIdentity`. */
  readonly identity: string;
  /** How long a Lease stays valid without renewal (`--leader-election-lease-duration`). Default 15 s; written rounded up to whole seconds. */
  readonly leaseDurationMs?: number;
  /** How long the leader keeps failing to renew before it gives up (`--leader-election-renew-deadline`). Default 10 s; must be less than the lease duration. */
  readonly renewDeadlineMs?: number;
  /** Wait between attempts to acquire or renew (`--leader-election-retry-period`). Default 5 s. */
  readonly retryPeriodMs?: number;
  /** Stops the election: the leader's `lead` is asked to stop, and the Lease is released once it returned. */
  readonly signal: AbortSignal;
  /** Receives a line when leadership or the observed holder changes, and on failures. */
  readonly logger: Logger;
  /** Time source (tests). Default: the system clock. */
  readonly clock?: Clock;
  /**
   * Called whenever {@link LeaderElectionStatus} changes, e.g. to report leadership in a health
   * check or a metric. It must not throw (an exception is logged and ignored).
   */
  readonly onChange?: (status: LeaderElectionStatus) => void;
}

/** `leaseDurationSeconds` to write for a lease duration: rounded up, so that others never wait less than we assume. */
export function leaseDurationSeconds(leaseDurationMs: number): number {
  return Math.ceil(leaseDurationMs / 1000);
}

/** The part of a Lease the election reads, normalised: times in epoch milliseconds, absent fields as client-go reads them. */
export interface LeaseRecord {
  /** `holderIdentity`; empty when nobody holds the Lease (never created for an election, or released). */
  readonly holder: string;
  /** `leaseDurationSeconds`; 0 when absent, which makes a held Lease expire at once, as in client-go. */
  readonly leaseDurationSeconds: number;
  /** `acquireTime`, if set and readable. */
  readonly acquireTimeMs: number | undefined;
  /** `renewTime`, if set and readable. */
  readonly renewTimeMs: number | undefined;
  /** `leaseTransitions`; 0 when absent. */
  readonly leaseTransitions: number;
}

/** Reads the election record of a Lease. */
export function leaseRecord(lease: V1Lease): LeaseRecord {
  const spec = lease.spec;
  return {
    holder: spec?.holderIdentity ?? "",
    leaseDurationSeconds: spec?.leaseDurationSeconds ?? 0,
    acquireTimeMs: timeMs(spec?.acquireTime),
    renewTimeMs: timeMs(spec?.renewTime),
    leaseTransitions: spec?.leaseTransitions ?? 0,
  };
}

// client-node types MicroTime fields as Date, but hands them over as the API's strings: its
// deserialiser does not know the `V1MicroTime` type. Accept both.
function timeMs(value: unknown): number | undefined {
  const ms =
    value instanceof Date ? value.getTime() : typeof value === "string" ? Date.parse(value) : Number.NaN;
  return Number.isNaN(ms) ? undefined : ms;
}

function sameRecord(a: LeaseRecord, b: LeaseRecord): boolean {
  return (
    a.holder === b.holder &&
    a.leaseDurationSeconds === b.leaseDurationSeconds &&
    a.acquireTimeMs === b.acquireTimeMs &&
    a.renewTimeMs === b.renewTimeMs &&
    a.leaseTransitions === b.leaseTransitions
  );
}

/** A Lease's record as this candidate last saw it, and when (on its own clock) it first saw that record. */
export interface LeaseObservation {
  /** The record read or written last. */
  readonly record: LeaseRecord;
  /** When this candidate first saw `record`, in epoch milliseconds of its clock. */
  readonly observedAtMs: number;
}

/**
 * Folds a freshly read record into the previous observation: the observation time moves only
 * when the record changed (a renewal changes `renewTime`), so a Lease that nobody renews ages on
 * this candidate's clock whatever its `renewTime` says (client-go's `observedTime`).
 */
export function observeLease(
  previous: LeaseObservation | undefined,
  record: LeaseRecord,
  nowMs: number,
): LeaseObservation {
  if (previous !== undefined && sameRecord(previous.record, record)) return previous;
  return { record, observedAtMs: nowMs };
}

/** When an observed Lease expires for other candidates: its observation time plus its own `leaseDurationSeconds`. */
export function leaseExpiresAt(observation: LeaseObservation): number {
  return observation.observedAtMs + observation.record.leaseDurationSeconds * 1000;
}

/** What a candidate should do about a Lease it has just observed; see {@link decideAcquire}. */
export type AcquireDecision =
  /** The candidate holds the Lease: write a renewal. */
  | { readonly action: "renew" }
  /** Nobody holds the Lease, or its holder let it expire: take it over (`previousHolder` empty when free). */
  | { readonly action: "take-over"; readonly previousHolder: string }
  /** Someone else holds a valid Lease: try again later. */
  | { readonly action: "wait"; readonly holder: string; readonly expiresAtMs: number };

/**
 * Whether `identity` may take the observed Lease at `nowMs`: yes when it holds it already (renew),
 * when nobody holds it, or when the holder's lease expired ({@link leaseExpiresAt}); otherwise wait.
 */
export function decideAcquire(
  observation: LeaseObservation,
  identity: string,
  nowMs: number,
): AcquireDecision {
  const holder = observation.record.holder;
  if (holder === identity) return { action: "renew" };
  const expiresAtMs = leaseExpiresAt(observation);
  if (holder !== "" && nowMs < expiresAtMs) return { action: "wait", holder, expiresAtMs };
  return { action: "take-over", previousHolder: holder };
}

/**
 * The Lease spec `identity` writes at `nowMs` to create (`previous` undefined), renew (it is the
 * holder: `acquireTime` and `leaseTransitions` stay) or take over the Lease (`acquireTime` now,
 * `leaseTransitions` + 1).
 */
export function heldLeaseSpec(
  previous: LeaseRecord | undefined,
  identity: string,
  durationSeconds: number,
  nowMs: number,
): V1LeaseSpec {
  const now = new V1MicroTime(nowMs);
  const renewing = previous !== undefined && previous.holder === identity;
  return {
    holderIdentity: identity,
    leaseDurationSeconds: durationSeconds,
    acquireTime:
      renewing && previous.acquireTimeMs !== undefined ? new V1MicroTime(previous.acquireTimeMs) : now,
    renewTime: now,
    leaseTransitions:
      previous === undefined ? 0 : renewing ? previous.leaseTransitions : previous.leaseTransitions + 1,
  };
}

/**
 * The Lease spec a leader writes at `nowMs` to hand the Lease back (client-go's `ReleaseOnCancel`):
 * no holder, so that a waiting candidate takes it at its next attempt, and a one-second duration
 * for candidates that only look at expiry.
 */
export function releasedLeaseSpec(previous: LeaseRecord, nowMs: number): V1LeaseSpec {
  const now = new V1MicroTime(nowMs);
  return {
    holderIdentity: "",
    leaseDurationSeconds: 1,
    acquireTime: now,
    renewTime: now,
    leaseTransitions: previous.leaseTransitions,
  };
}

/**
 * Runs `lead` while this process holds the Lease `namespace/name`, as client-go's
 * `LeaderElector.Run` with `ReleaseOnCancel`:
 * - tries to acquire the Lease every retry period (jittered), creating it if it does not exist;
 * - once it holds it, calls `lead(leadSignal)` and renews the Lease every retry period;
 * - if renewal does not succeed within the renew deadline, or the Lease names another holder,
 *   aborts `leadSignal` and rejects with a {@link LeadershipLostError} at once, without waiting for
 *   `lead`: another replica may be leading already, so the caller should exit;
 * - when `config.signal` aborts: if not leading, resolves; if leading, aborts `leadSignal`, keeps
 *   renewing until `lead` has returned, then releases the Lease and resolves;
 * - if `lead` returns or fails by itself, releases the Lease and resolves, or rejects with its error.
 * Invalid settings reject with a {@link ConfigError} before any API call.
 */
export async function runWithLeaderElection(
  config: LeaderElectionConfig,
  lead: (signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const timings: LeaderElectionTimings = {
    leaseDurationMs: config.leaseDurationMs ?? DEFAULT_LEASE_DURATION_MS,
    renewDeadlineMs: config.renewDeadlineMs ?? DEFAULT_RENEW_DEADLINE_MS,
    retryPeriodMs: config.retryPeriodMs ?? DEFAULT_RETRY_PERIOD_MS,
  };
  const problems = leaderElectionTimingProblems(timings);
  for (const [field, value] of [
    ["identity", config.identity],
    ["namespace", config.namespace],
    ["name", config.name],
  ] as const) {
    if (value === "") problems.push(`${field} must not be empty`);
  }
  if (problems.length > 0) throw new ConfigError(`invalid leader election settings: ${problems.join("; ")}`);
  if (config.signal.aborted) return;

  const { identity, signal: stop } = config;
  const clock = config.clock ?? systemClock;
  const leaseName = `${config.namespace}/${config.name}`;
  const logger = config.logger.child({ lease: leaseName, identity });
  const api = config.kubeConfig.makeApiClient(CoordinationV1Api);
  const durationSeconds = leaseDurationSeconds(timings.leaseDurationMs);

  // The Lease as last read or written: its resourceVersion guards our next write.
  let latest: V1Lease | undefined;
  let observation: LeaseObservation | undefined;
  let leading = false;
  let reported: LeaderElectionStatus | undefined;
  // Start of the last attempt that left us holding the Lease: the renew deadline counts from it.
  let heldSince = 0;
  let lastFailure: unknown;

  const holdsLease = (): boolean => observation?.record.holder === identity;

  function report(): void {
    const status: LeaderElectionStatus = { leading, holder: observation?.record.holder || undefined };
    if (reported?.leading === status.leading && reported.holder === status.holder) return;
    if (status.holder !== reported?.holder && status.holder !== undefined && status.holder !== identity) {
      logger.info({ holder: status.holder }, "the Lease is held by another candidate");
    }
    reported = status;
    try {
      config.onChange?.(status);
    } catch (error) {
      logger.warn({ err: error }, "onChange threw; ignored");
    }
  }

  function remember(written: V1Lease): void {
    latest = written;
    observation = { record: leaseRecord(written), observedAtMs: clock.now() };
  }

  const read = (signal: AbortSignal) =>
    api.readNamespacedLease({ namespace: config.namespace, name: config.name }, withSignal(signal));
  const write = (base: V1Lease, spec: V1LeaseSpec, signal: AbortSignal) =>
    api.replaceNamespacedLease(
      { namespace: config.namespace, name: config.name, body: { ...base, spec } },
      withSignal(signal),
    );

  // One round of client-go's tryAcquireOrRenew; true when this candidate holds the Lease after it.
  async function tryAcquireOrRenew(timeoutMs: number): Promise<boolean> {
    const now = clock.now();
    const deadline = deadlineSignal(clock, timeoutMs);
    try {
      const held = await attempt(now, deadline.signal);
      if (held) heldSince = now;
      return held;
    } finally {
      deadline.cancel();
    }
  }

  // An attempt our own deadline cut short says nothing new when an earlier one got an answer: that
  // answer (a refusal, say) stays the cause a lost leadership is reported with.
  function noteFailure(error: unknown, signal: AbortSignal): void {
    if (signal.aborted && lastFailure !== undefined) return;
    lastFailure = error;
  }

  async function attempt(now: number, signal: AbortSignal): Promise<boolean> {
    // Fast path for a leader: assume nothing changed since our last write, skip the read.
    if (
      latest !== undefined &&
      observation !== undefined &&
      holdsLease() &&
      now < leaseExpiresAt(observation)
    ) {
      try {
        remember(
          await write(latest, heldLeaseSpec(observation.record, identity, durationSeconds, now), signal),
        );
        return true;
      } catch (error) {
        noteFailure(error, signal);
        if (signal.aborted) return false;
        logger.debug({ err: toVolpopError(error) }, "renewal without reading failed; reading the Lease");
      }
    }
    let current: V1Lease;
    try {
      current = await read(signal);
    } catch (error) {
      if (!isNotFound(error)) {
        noteFailure(error, signal);
        logger.warn({ err: toVolpopError(error) }, "cannot read the Lease");
        return false;
      }
      return await create(now, signal);
    }
    latest = current;
    observation = observeLease(observation, leaseRecord(current), clock.now());
    const decision = decideAcquire(observation, identity, now);
    if (decision.action === "wait") {
      lastFailure = undefined;
      logger.debug(
        { holder: decision.holder, expiresInMs: decision.expiresAtMs - now },
        "the Lease is held and has not expired",
      );
      return false;
    }
    try {
      remember(
        await write(current, heldLeaseSpec(observation.record, identity, durationSeconds, now), signal),
      );
      if (decision.action === "take-over" && decision.previousHolder !== "") {
        logger.info({ previousHolder: decision.previousHolder }, "took over an expired Lease");
      }
      return true;
    } catch (error) {
      noteFailure(error, signal);
      // A 409 is the election working: another candidate wrote first and won.
      if (isConflict(error)) logger.debug("another candidate updated the Lease first");
      else logger.warn({ err: toVolpopError(error) }, "cannot update the Lease");
      return false;
    }
  }

  async function create(now: number, signal: AbortSignal): Promise<boolean> {
    try {
      const body: V1Lease = {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name: config.name, namespace: config.namespace },
        spec: heldLeaseSpec(undefined, identity, durationSeconds, now),
      };
      remember(await api.createNamespacedLease({ namespace: config.namespace, body }, withSignal(signal)));
      return true;
    } catch (error) {
      noteFailure(error, signal);
      if (isAlreadyExists(error)) logger.debug("another candidate created the Lease first");
      else logger.warn({ err: toVolpopError(error) }, "cannot create the Lease");
      return false;
    }
  }

  async function acquire(): Promise<boolean> {
    logger.info("trying to acquire the Lease");
    while (!stop.aborted) {
      if (await tryAcquireOrRenew(timings.renewDeadlineMs)) return true;
      report();
      await delay(clock, timings.retryPeriodMs * (1 + Math.random() * JITTER_FACTOR), stop);
    }
    return false;
  }

  // Renews every retry period until `until` aborts (resolves undefined) or leadership is lost.
  async function renew(until: AbortSignal): Promise<LeadershipLostError | undefined> {
    for (;;) {
      await delay(clock, timings.retryPeriodMs, until);
      // Counted from the start of the last successful write, so the leader gives up before the
      // Lease can expire for anyone who saw that write.
      const deadline = heldSince + timings.renewDeadlineMs;
      for (;;) {
        if (until.aborted) return undefined;
        const attemptAt = clock.now();
        if (attemptAt >= deadline) {
          return new LeadershipLostError(
            leaseName,
            identity,
            `not renewed within ${timings.renewDeadlineMs} ms`,
            {
              cause: lastFailure,
            },
          );
        }
        const renewed = await tryAcquireOrRenew(deadline - attemptAt);
        report();
        if (renewed) break;
        if (until.aborted) return undefined;
        // Someone else's name in the Lease is final: no retry can make this candidate leader again in time.
        if (observation !== undefined && !holdsLease()) {
          return new LeadershipLostError(
            leaseName,
            identity,
            observation.record.holder === ""
              ? "the Lease was released"
              : `the Lease is held by ${observation.record.holder}`,
          );
        }
        await delay(clock, Math.min(timings.retryPeriodMs, deadline - clock.now()), until);
      }
    }
  }

  async function release(): Promise<void> {
    const deadline = deadlineSignal(clock, timings.renewDeadlineMs);
    try {
      await releaseOnce(deadline.signal).catch(async (error: unknown) => {
        // A conflict may only mean our copy is stale (say, someone edited a label): read the
        // Lease once more and release it if it still names us.
        if (!isConflict(error)) throw error;
        latest = await read(deadline.signal);
        observation = observeLease(observation, leaseRecord(latest), clock.now());
        await releaseOnce(deadline.signal);
      });
    } catch (error) {
      logger.warn(
        { err: toVolpopError(error) },
        "cannot release the Lease; other candidates take it over when it expires",
      );
    } finally {
      deadline.cancel();
    }
  }

  async function releaseOnce(signal: AbortSignal): Promise<void> {
    if (latest === undefined || observation === undefined || !holdsLease()) return;
    remember(await write(latest, releasedLeaseSpec(observation.record, clock.now()), signal));
    logger.info("released the Lease");
  }

  if (!(await acquire())) return;
  if (stop.aborted) {
    // Stopped while the winning write was in flight: hand the Lease straight back.
    await release();
    report();
    return;
  }

  logger.info("became leader");
  leading = true;
  report();
  const leadController = new AbortController();
  const stopLeading = () => leadController.abort(stop.reason);
  stop.addEventListener("abort", stopLeading, { once: true });
  const leadDone = new AbortController();
  const outcome = Promise.resolve()
    .then(() => lead(leadController.signal))
    .then(
      () => ({ failed: false as const }),
      (error: unknown) => ({ failed: true as const, error }),
    )
    .finally(() => leadDone.abort());

  try {
    const lost = await renew(leadDone.signal);
    if (lost !== undefined) {
      leading = false;
      leadController.abort(lost);
      report();
      logger.error({ err: lost }, "lost leadership; stopping");
      // Not awaited (another replica may lead already), only kept from going unnoticed.
      void outcome.then((result) => {
        if (result.failed && !isAbort(result.error, leadController.signal)) {
          logger.warn({ err: result.error }, "lead failed after leadership was lost");
        }
      });
      throw lost;
    }
    const result = await outcome;
    logger.info(stop.aborted ? "stopped leading; releasing the Lease" : "lead returned; releasing the Lease");
    await release();
    leading = false;
    report();
    if (result.failed && !(stop.aborted && isAbort(result.error, leadController.signal))) throw result.error;
  } finally {
    stop.removeEventListener("abort", stopLeading);
  }
}

// Whether `lead` failed only because it was asked to stop: it rethrew the signal's reason or an
// AbortError from an API that took the signal.
function isAbort(error: unknown, signal: AbortSignal): boolean {
  return (
    signal.aborted && (error === signal.reason || (error instanceof Error && error.name === "AbortError"))
  );
}

// An AbortSignal that aborts `ms` from now on `clock` (AbortSignal.timeout only knows real time).
function deadlineSignal(clock: Clock, ms: number): { signal: AbortSignal; cancel: () => void } {
  const controller = new AbortController();
  const timer = clock.setTimeout(
    () => controller.abort(new DOMException(`no answer within ${ms} ms`, "TimeoutError")),
    ms,
  );
  return { signal: controller.signal, cancel: () => clock.clearTimeout(timer) };
}

// Waits `ms` on `clock`, or less if `signal` aborts; never rejects.
function delay(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const done = () => {
      clock.clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = clock.setTimeout(done, Math.max(0, ms));
    signal.addEventListener("abort", done, { once: true });
  });
}
