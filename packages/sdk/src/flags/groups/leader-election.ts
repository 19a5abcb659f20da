/**
 * The leader election flags of client-go controllers and the CSI sidecars, and the one check of
 * their timings, which is `leaderElectionTimingProblems`, the rules `runWithLeaderElection` applies.
 */
import {
  DEFAULT_LEASE_DURATION_MS,
  DEFAULT_RENEW_DEADLINE_MS,
  DEFAULT_RETRY_PERIOD_MS,
  leaderElectionTimingProblems,
} from "../../leader-election-timings.ts";
import type { FlagCheck } from "../command.ts";
import { defineFlags } from "../declaration.ts";
import { formatGoDuration } from "../duration.ts";

const positive = (ms: number) => (ms > 0 ? undefined : "must be positive");

/**
 * `--leader-election`, `--leader-election-namespace` and the three durations, with client-go's
 * defaults. `namespaceDefault` says in the help what an unset namespace means (`--namespace`, or
 * the namespace the program runs in). Give {@link leaderElectionCheck} to the command's checks.
 */
export function leaderElectionFlags(options: { readonly namespaceDefault: string }) {
  return defineFlags({
    "leader-election": {
      type: "boolean",
      default: false,
      description: "Run only while holding the leader election Lease",
    },
    "leader-election-namespace": {
      type: "string",
      description: `Namespace of the leader election Lease (default: ${options.namespaceDefault})`,
    },
    "leader-election-lease-duration": {
      type: "duration",
      default: DEFAULT_LEASE_DURATION_MS,
      validate: positive,
      description: "How long a non-leader waits before trying to take over",
    },
    "leader-election-renew-deadline": {
      type: "duration",
      default: DEFAULT_RENEW_DEADLINE_MS,
      validate: positive,
      description: "How long the leader retries renewing before giving up leadership",
    },
    "leader-election-retry-period": {
      type: "duration",
      default: DEFAULT_RETRY_PERIOD_MS,
      validate: positive,
      description: "Wait between attempts to acquire or renew the Lease",
    },
  });
}

/** The declarations {@link leaderElectionFlags} returns. */
export type LeaderElectionFlags = ReturnType<typeof leaderElectionFlags>;

/**
 * Refuses timings the election would refuse, in the flags' words, so that a bad combination is a
 * usage error before anything starts rather than a failure once the controller runs. Like
 * client-go, it checks only when `--leader-election` is on: the timings mean nothing otherwise.
 */
export const leaderElectionCheck: FlagCheck<LeaderElectionFlags> = (values) => {
  if (!values["leader-election"]) return undefined;
  const problems = leaderElectionTimingProblems(
    {
      leaseDurationMs: values["leader-election-lease-duration"],
      renewDeadlineMs: values["leader-election-renew-deadline"],
      retryPeriodMs: values["leader-election-retry-period"],
    },
    {
      names: {
        leaseDurationMs: "--leader-election-lease-duration",
        renewDeadlineMs: "--leader-election-renew-deadline",
        retryPeriodMs: "--leader-election-retry-period",
      },
      format: formatGoDuration,
    },
  );
  return problems.length === 0 ? undefined : problems.join("; ");
};
