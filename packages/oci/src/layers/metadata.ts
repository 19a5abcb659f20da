/**
 * What a tar header says about an entry's mode, owner and times, filtered through the caller's
 * policy. Pure: the writers in nodes.ts apply the result.
 */
import { MalformedLayerError } from "./errors.ts";

/** An entry's type as tar-entries.ts names it. */
export type EntryType =
  | "file"
  | "contiguous-file"
  | "directory"
  | "symlink"
  | "link"
  | "character-device"
  | "block-device"
  | "fifo"
  /** A global PAX header: Go's reader hands it over as an entry, and it changes nothing. */
  | "pax-global-header";

/** A tar entry's header as tar-entries.ts reads it: PAX records and GNU long names applied. */
export interface EntryHeader {
  readonly name: string;
  /** Null for a typeflag volpop does not know. */
  readonly type: EntryType | null;
  /** The typeflag as written, e.g. `0`, `5` or `Z`. */
  readonly typeflag?: string;
  /** Null when empty. */
  readonly linkname: string | null;
  /** Bytes of data: 0 for the types that have none, whatever the header declared. */
  readonly size?: number;
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly mtime?: Date;
  readonly uname?: string;
  readonly gname?: string;
  readonly devmajor?: number;
  readonly devminor?: number;
  /** The entry's PAX records, values decoded as UTF-8. */
  readonly pax?: Readonly<Record<string, string>> | null;
}

export interface Ownership {
  readonly uid: number;
  readonly gid: number;
}

/** How the caller wants modes and owners set; see `ApplyOptions` for each field's meaning. */
export interface MetadataPolicy {
  readonly owner: Ownership | undefined;
  readonly preserveOwnership: boolean;
  readonly fileMode: number | undefined;
  readonly dirMode: number | undefined;
  readonly keepPrivileges: boolean;
}

const PERMISSIONS = 0o7777;
const SETID = 0o6000;

/** Mode given to directories the tar never names (implicit parents), as tar does. */
export const IMPLICIT_DIRECTORY_MODE = 0o755;

/**
 * The permission bits to set. A forced mode is used as given. Otherwise setuid and setgid are
 * dropped unless `keepPrivileges`: the volume is data mounted into other pods, and a setuid-root
 * binary there is a privilege escalation waiting for a writable mount. The sticky bit stays.
 */
export function permissionBits(
  headerMode: number | undefined,
  forced: number | undefined,
  keepPrivileges: boolean,
): { mode: number; setidDropped: boolean } {
  if (forced !== undefined) return { mode: forced & PERMISSIONS, setidDropped: false };
  const mode = (headerMode ?? 0) & PERMISSIONS;
  if (keepPrivileges || (mode & SETID) === 0) return { mode, setidDropped: false };
  return { mode: mode & ~SETID, setidDropped: true };
}

/**
 * The owner to give an entry: the forced one, else the header's (PAX `uid`/`gid` win over the
 * ustar fields, which cannot hold large ids) when preserving, else none (leave it to the process).
 */
export function ownershipOf(header: EntryHeader, policy: MetadataPolicy): Ownership | undefined {
  if (policy.owner !== undefined) return policy.owner;
  if (!policy.preserveOwnership) return undefined;
  return {
    uid: checkedId(header, "uid", header.pax?.uid ?? header.uid),
    gid: checkedId(header, "gid", header.pax?.gid ?? header.gid),
  };
}

/** The largest uid or gid: 2^32 - 1 is (uid_t)-1, which chown reads as "leave unchanged". */
export const MAX_ID = 0xfffffffe;

function checkedId(header: EntryHeader, field: string, value: string | number | undefined): number {
  const id = typeof value === "string" ? Number(value) : (value ?? 0);
  if (!Number.isSafeInteger(id) || id < 0 || id > MAX_ID) {
    throw new MalformedLayerError(header.name, `${field} ${JSON.stringify(value)} is not a valid id`);
  }
  return id;
}

/** Access and modification times in seconds; PAX times keep sub-second precision. */
export function timesOf(header: EntryHeader): { atime: number; mtime: number } {
  const ustar = header.mtime === undefined ? 0 : header.mtime.getTime() / 1000;
  const mtime = paxSeconds(header.pax?.mtime) ?? (Number.isFinite(ustar) ? ustar : 0);
  return { atime: paxSeconds(header.pax?.atime) ?? mtime, mtime };
}

function paxSeconds(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seconds = Number(value);
  return Number.isFinite(seconds) ? seconds : undefined;
}
