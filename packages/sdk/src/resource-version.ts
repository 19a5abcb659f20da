/**
 * Whether a cached object at `seen` includes a write that returned `written`. The first event a watch
 * brings for a new object may already be a later version (a pod bound by the scheduler at once), so
 * equality is not enough. resourceVersions are opaque by contract, but every API server in use hands
 * out etcd's increasing revision numbers: compared as such, and by equality for anything else.
 */
export function showsWrite(seen: string | undefined, written: string): boolean {
  if (seen === undefined) return false;
  if (/^\d+$/.test(seen) && /^\d+$/.test(written)) return BigInt(seen) >= BigInt(written);
  return seen === written;
}
