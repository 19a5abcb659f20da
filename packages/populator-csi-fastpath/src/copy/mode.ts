import type { Stats } from "node:fs";

/**
 * The permission bits a copy gets. setuid and setgid are dropped from files: the volume goes to an
 * unprivileged user, and a setuid-root binary in it would be a way up. Directories keep setgid (group
 * inheritance, harmless) and every entry keeps the sticky bit.
 */
export function copiedMode(stats: Stats): number {
  return stats.isDirectory() ? stats.mode & 0o3777 : stats.mode & 0o1777;
}
