/**
 * Extended attributes carried in PAX records: `SCHILY.xattr.<name>` (GNU tar, Docker, BuildKit)
 * and `LIBARCHIVE.xattr.<url-encoded name>` (base64 value, bsdtar).
 *
 * Node has no xattr system calls, so writing them goes through an injected {@link XattrWriter};
 * without one, every xattr is counted as skipped. The tar reader hands PAX values over as UTF-8, so a
 * binary `SCHILY.xattr` value (a capability set, an ACL) arrives mangled: such values are
 * recognised by the replacement character they gained and skipped rather than written wrong.
 */
import type { EntryHeader } from "./metadata.ts";

/**
 * Sets one extended attribute on `path` without following a symlink at its last component
 * (lsetxattr semantics); the parent directories are already verified to be real directories
 * inside the volume. Rejects with an `ENOTSUP`, `EOPNOTSUPP` or `EPERM` error when the
 * filesystem or the process's privileges do not allow it: those are counted, not fatal.
 */
export type XattrWriter = (path: string, name: string, value: Buffer) => Promise<void>;

export interface EntryXattr {
  readonly name: string;
  /** Undefined when the value could not be recovered from the PAX record. */
  readonly value: Buffer | undefined;
}

const SCHILY = "SCHILY.xattr.";
const LIBARCHIVE = "LIBARCHIVE.xattr.";

export function xattrsOf(header: EntryHeader): EntryXattr[] {
  const xattrs: EntryXattr[] = [];
  for (const [key, value] of Object.entries<string>(header.pax ?? {})) {
    if (key.startsWith(SCHILY)) {
      xattrs.push({
        name: key.slice(SCHILY.length),
        value: value.includes("\uFFFD") ? undefined : Buffer.from(value, "utf8"),
      });
    } else if (key.startsWith(LIBARCHIVE)) {
      const name = decodedName(key.slice(LIBARCHIVE.length));
      if (name !== undefined) xattrs.push({ name, value: Buffer.from(value, "base64") });
    }
  }
  return xattrs;
}

function decodedName(encoded: string): string | undefined {
  try {
    return decodeURIComponent(encoded);
  } catch {
    return undefined;
  }
}

/**
 * Which xattrs are written: `user.*` always; `security.capability` only with `keepPrivileges`,
 * because file capabilities grant privileges as setuid does. Other namespaces (SELinux labels,
 * `trusted.*`, ACLs) belong to the node and cluster that mount the volume, not to the image.
 */
export function xattrAllowed(name: string, keepPrivileges: boolean): boolean {
  return name.startsWith("user.") || (keepPrivileges && name === "security.capability");
}

const QUIETLY_SKIPPED = new Set(["ENOTSUP", "EOPNOTSUPP", "EPERM"]);

/** Writes the entry's allowed xattrs to `path`; returns how many were written and skipped. */
export async function writeXattrs(
  path: string,
  header: EntryHeader,
  writer: XattrWriter | undefined,
  keepPrivileges: boolean,
): Promise<{ written: number; skipped: number }> {
  let written = 0;
  let skipped = 0;
  for (const { name, value } of xattrsOf(header)) {
    if (writer === undefined || value === undefined || !xattrAllowed(name, keepPrivileges)) {
      skipped++;
      continue;
    }
    try {
      await writer(path, name, value);
      written++;
    } catch (error) {
      if (!QUIETLY_SKIPPED.has((error as NodeJS.ErrnoException).code ?? "")) throw error;
      skipped++;
    }
  }
  return { written, skipped };
}
