/**
 * The durations of a leader election and the one set of rules they must follow. Kept apart from
 * `leader-election.ts` so that a command line can check them before anything starts without
 * loading the Kubernetes client (a populator pod in populate mode parses the same flags).
 */

/** Default lease duration (`--leader-election-lease-duration`): client-go's and the CSI sidecars' 15 s. */
export const DEFAULT_LEASE_DURATION_MS = 15_000;
/** Default renew deadline (`--leader-election-renew-deadline`): 10 s, as in client-go. */
export const DEFAULT_RENEW_DEADLINE_MS = 10_000;
/** Default retry period (`--leader-election-retry-period`): 5 s, as in client-go. */
export const DEFAULT_RETRY_PERIOD_MS = 5_000;

/**
 * client-go's `JitterFactor`: a waiting candidate sleeps between 1 and 1 + 1.2 retry periods, so
 * that candidates started together do not keep retrying in lockstep. The renew deadline must exceed
 * `JITTER_FACTOR × retryPeriod` so that a leader gets more than one renewal attempt in.
 */
export const JITTER_FACTOR = 1.2;

/** The three durations of an election, in milliseconds. */
export interface LeaderElectionTimings {
  /** How long a Lease stays valid without renewal. */
  readonly leaseDurationMs: number;
  /** How long the leader keeps failing to renew before it gives up; less than the lease duration. */
  readonly renewDeadlineMs: number;
  /** Wait between attempts to acquire or renew. */
  readonly retryPeriodMs: number;
}

// The Lease stores its duration in whole seconds.
const MIN_LEASE_DURATION_MS = 1000;

/**
 * What is wrong with a set of timings, one sentence per problem (empty when they are valid): the
 * same rules as client-go's `NewLeaderElector`, plus a lease of at least one second, the Lease's
 * unit. `naming` words the sentences for their audience: by default they name the fields and give
 * milliseconds; a command line names its flags and writes durations as it reads them.
 */
export function leaderElectionTimingProblems(
  timings: LeaderElectionTimings,
  naming: {
    readonly names: Readonly<Record<keyof LeaderElectionTimings, string>>;
    readonly format: (ms: number) => string;
  } = { names: FIELD_NAMES, format: String },
): string[] {
  const { names, format } = naming;
  const { leaseDurationMs, renewDeadlineMs, retryPeriodMs } = timings;
  const problems: string[] = [];
  for (const field of Object.keys(FIELD_NAMES) as (keyof LeaderElectionTimings)[]) {
    const value = timings[field];
    if (!Number.isFinite(value) || value <= 0) {
      problems.push(`${names[field]} must be a positive number, not ${show(value, format)}`);
    }
  }
  if (problems.length > 0) return problems;
  if (leaseDurationMs < MIN_LEASE_DURATION_MS) {
    problems.push(
      `${names.leaseDurationMs} must be at least ${format(MIN_LEASE_DURATION_MS)} (a Lease counts whole seconds), not ${format(leaseDurationMs)}`,
    );
  }
  // The leader must give up before anyone else may take over, or two would lead at once.
  if (leaseDurationMs <= renewDeadlineMs) {
    problems.push(
      `${names.leaseDurationMs} (${format(leaseDurationMs)}) must be greater than ${names.renewDeadlineMs} (${format(renewDeadlineMs)})`,
    );
  }
  if (renewDeadlineMs <= JITTER_FACTOR * retryPeriodMs) {
    problems.push(
      `${names.renewDeadlineMs} (${format(renewDeadlineMs)}) must be greater than ${JITTER_FACTOR} × ${names.retryPeriodMs} (${format(retryPeriodMs)})`,
    );
  }
  return problems;
}

const FIELD_NAMES: Readonly<Record<keyof LeaderElectionTimings, string>> = {
  leaseDurationMs: "leaseDurationMs",
  renewDeadlineMs: "renewDeadlineMs",
  retryPeriodMs: "retryPeriodMs",
};

// A formatter for durations need not cope with NaN or infinities.
function show(value: number, format: (ms: number) => string): string {
  return Number.isFinite(value) ? format(value) : String(value);
}
