import type { HealthResult } from "../http-server.ts";

/**
 * Something the Manager runs: a controller, a webhook, a registration. Like controller-runtime's
 * `Runnable`: it starts with a signal and its promise settles once it has stopped after the signal.
 */
export interface Runnable {
  /** Name in logs and readiness. */
  readonly name: string;
  /**
   * Runs only in the replica holding the Lease, when the Manager elects a leader. Default `true`:
   * two replicas reconciling the same objects would race; a webhook answering from a cache does not.
   */
  readonly needsLeaderElection?: boolean;
  /** Runs until `signal` aborts, then stops; settles once stopped. */
  start(signal: AbortSignal): Promise<void>;
  /** Readiness entries (e.g. a watch not synced yet). */
  readyz?(): HealthResult;
}
