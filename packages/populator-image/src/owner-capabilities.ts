/**
 * The Linux capabilities populate mode needs to write a Filesystem volume for `spec.owner`, asked for
 * by the controller (populator.ts) and checked by populate mode before it pulls anything
 * (populate/owner-check.ts). Each is needed by what LayerApplier and clearDirectory do once a file
 * or directory belongs to the owner rather than to the process:
 *
 * - `CHOWN`: give every file, directory and symlink to the owner.
 * - `FOWNER`: then set its mode and times (and, to clear the volume after a failure, make its
 *   directories writable again).
 * - `DAC_OVERRIDE`: write into and remove from directories that already belong to the owner (their
 *   own modes only come at the end), and clear them after a failure. FOWNER does not cover this.
 * - `FSETID`, only when a forced `fileMode` or `dirMode` carries setgid: chmod drops setgid when the
 *   file's group (the owner's) is not one of the process's.
 *
 * The pod runs as root to use them: Kubernetes sets no ambient capabilities, so a non-root process
 * loses added ones when it starts. Pod Security `baseline` allows root and all four.
 */
import type { ImageSourceSpec } from "./image-source.ts";

export type OwnerCapability = "CHOWN" | "DAC_OVERRIDE" | "FOWNER" | "FSETID";

/** Each capability's bit in a capability set, as `CapEff:` in /proc/<pid>/status shows it (linux/capability.h). */
export const CAPABILITY_BITS: Readonly<Record<OwnerCapability, number>> = {
  CHOWN: 0,
  DAC_OVERRIDE: 1,
  FOWNER: 3,
  FSETID: 4,
};

const ALWAYS: readonly OwnerCapability[] = ["CHOWN", "FOWNER", "DAC_OVERRIDE"];
const SETGID = 0o2000;

/** What populating a Filesystem volume for `spec` takes beyond an unprivileged pod; none without `owner`. */
export function ownerCapabilities(
  spec: Pick<ImageSourceSpec, "owner" | "fileMode" | "dirMode">,
): readonly OwnerCapability[] {
  if (spec.owner === undefined) return [];
  const setgid = ((spec.fileMode ?? 0) | (spec.dirMode ?? 0)) & SETGID;
  return setgid === 0 ? ALWAYS : [...ALWAYS, "FSETID"];
}
