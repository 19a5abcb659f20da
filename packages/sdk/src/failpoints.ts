/**
 * Failpoints, as etcd's gofail: a chaos test arms points by name in `VOLPOP_FAILPOINTS`
 * (comma-separated, e.g. `after:createPod`), and the controller stops dead at the first one it
 * reaches: it says so on stderr and never goes on, so that the test can SIGKILL it at exactly that
 * point of a population instead of somewhere near it. Unarmed (always, outside such tests) a point
 * costs a lookup in an empty set.
 */
const armed: ReadonlySet<string> = new Set(
  (process.env.VOLPOP_FAILPOINTS ?? "")
    .split(",")
    .map((name) => name.trim())
    .filter(Boolean),
);

// A controller with a failpoint armed stops for ever when it gets there, silently to its Lease and
// readiness: never by accident, so say so from the start.
if (armed.size > 0) {
  process.stderr.write(`volpop failpoints armed (chaos tests only): ${[...armed].join(", ")}\n`);
}

/** The line a stopped controller writes to stderr, for the test to wait for. */
export function failpointLine(name: string): string {
  return `volpop failpoint reached: ${name}`;
}

/** Stops here for ever if `name` is armed; see the module comment. */
export async function failpoint(name: string): Promise<void> {
  if (!armed.has(name)) return;
  process.stderr.write(`${failpointLine(name)}\n`);
  // A timer keeps the process alive however little else it has running: stopped, not exited.
  await new Promise<never>(() => setInterval(() => undefined, 60_000));
}
