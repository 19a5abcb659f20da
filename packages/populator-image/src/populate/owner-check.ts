/**
 * Finds out before any layer is pulled whether `spec.owner` can be applied. The controller asks for
 * the capabilities it takes (see owner-capabilities.ts), but an older controller, an admission
 * policy or the runtime may leave them out; without this check the pull would fail at its first
 * file with a bare EACCES or EPERM, or leave a tree the pod cannot clear. The effective capabilities
 * are checked first, then a real chown in the volume, which its filesystem (NFS squashing root, say)
 * or a user namespace may refuse all the same.
 */
import fs from "node:fs/promises";
import path from "node:path";
import type { ImageSourceSpec } from "../image-source.ts";
import { CAPABILITY_BITS, type OwnerCapability, ownerCapabilities } from "../owner-capabilities.ts";
import { PopulateError, PopulateErrorCode } from "./errors.ts";

const PROBE = ".volpop-owner-probe";

export interface OwnerCheckOptions {
  /** The text of /proc/self/status, undefined where there is none; tests pass their own. */
  readonly processStatus?: () => Promise<string | undefined>;
  /** lchown(2); tests pass one that refuses. */
  readonly lchown?: (path: string, uid: number, gid: number) => Promise<void>;
}

/** Throws a {@link PopulateError} when this process cannot write files in `directory` for `spec.owner`. */
export async function checkOwnerApplicable(
  directory: string,
  spec: Pick<ImageSourceSpec, "owner" | "fileMode" | "dirMode">,
  options: OwnerCheckOptions = {},
): Promise<void> {
  const { owner } = spec;
  if (owner === undefined) return;
  const notApplicable = (reason: string, cause?: unknown) =>
    new PopulateError(
      PopulateErrorCode.OwnerNotApplicable,
      `spec.owner ${owner.uid}:${owner.gid} cannot be applied: ${reason}`,
      cause === undefined ? {} : { cause },
    );
  const status = await (options.processStatus ?? ownStatus)();
  const effective = status === undefined ? undefined : effectiveCapabilities(status);
  if (effective !== undefined) {
    const missing = ownerCapabilities(spec).filter((name) => !has(effective, name));
    if (missing.length > 0) {
      throw notApplicable(
        `the populator pod lacks the ${listed(missing)} ${missing.length === 1 ? "capability" : "capabilities"} (it runs as uid ${process.getuid?.() ?? "?"})`,
      );
    }
  }
  const probe = path.join(directory, PROBE);
  await fs.writeFile(probe, "", { flag: "wx", mode: 0o600 });
  try {
    await (options.lchown ?? fs.lchown)(probe, owner.uid, owner.gid);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EPERM" && code !== "EINVAL") throw error;
    throw notApplicable(`the volume refused to give a file to that owner (${code})`, error);
  } finally {
    await fs.rm(probe, { force: true });
  }
}

/** The `CapEff:` set of a /proc/<pid>/status text; undefined when it has none. */
export function effectiveCapabilities(status: string): bigint | undefined {
  const hex = /^CapEff:\s*([0-9a-f]+)\s*$/m.exec(status)?.[1];
  return hex === undefined ? undefined : BigInt(`0x${hex}`);
}

function has(set: bigint, capability: OwnerCapability): boolean {
  return ((set >> BigInt(CAPABILITY_BITS[capability])) & 1n) === 1n;
}

function listed(names: readonly string[]): string {
  return names.length === 1 ? (names[0] ?? "") : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;
}

// Only Linux has /proc; elsewhere (a developer's machine) the probe alone decides.
async function ownStatus(): Promise<string | undefined> {
  try {
    return await fs.readFile("/proc/self/status", "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}
