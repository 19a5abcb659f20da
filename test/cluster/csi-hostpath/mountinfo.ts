/**
 * Reading the kernel's mount table (/proc/self/mountinfo, see proc(5)) to answer "is this path a mount
 * point?" and "is this directory or device node bind-mounted somewhere?".
 */

import { readFile } from "node:fs/promises";

export type MountInfo = {
  id: number;
  parentId: number;
  /** "major:minor" of the mounted filesystem. */
  device: string;
  /** The directory (or file) of the filesystem that is mounted, relative to that filesystem's root. */
  root: string;
  mountPoint: string;
  fsType: string;
  source: string;
};

/** Undoes the octal escapes mountinfo uses for space, tab, newline and backslash. */
function unescapeField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

export function parseMountInfo(text: string): MountInfo[] {
  const mounts: MountInfo[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const fields = line.split(" ");
    const separator = fields.indexOf("-", 6);
    const [id, parentId, device, root, mountPoint] = fields;
    const fsType = fields[separator + 1];
    const source = fields[separator + 2];
    if (
      separator < 0 ||
      !id ||
      !parentId ||
      !device ||
      !root ||
      !mountPoint ||
      !fsType ||
      source === undefined
    ) {
      throw new Error(`malformed mountinfo line: ${line}`);
    }
    mounts.push({
      id: Number(id),
      parentId: Number(parentId),
      device,
      root: unescapeField(root),
      mountPoint: unescapeField(mountPoint),
      fsType,
      source: unescapeField(source),
    });
  }
  return mounts;
}

export async function readMountInfo(file = "/proc/self/mountinfo"): Promise<MountInfo[]> {
  return parseMountInfo(await readFile(file, "utf8"));
}

function isWithin(path: string, directory: string): boolean {
  return directory === "/" || path === directory || path.startsWith(`${directory}/`);
}

export function isMountPoint(mounts: readonly MountInfo[], path: string): boolean {
  return mounts.some((mount) => mount.mountPoint === path);
}

/** The mount `path` is reached through: the last-mounted one with the longest mount point containing it. */
export function mountContaining(mounts: readonly MountInfo[], path: string): MountInfo | undefined {
  let best: MountInfo | undefined;
  for (const mount of mounts) {
    if (!isWithin(path, mount.mountPoint)) continue;
    if (!best || mount.mountPoint.length >= best.mountPoint.length) best = mount;
  }
  return best;
}

/**
 * Mounts other than `path`'s own that expose `path` or something inside it: bind mounts of a volume
 * directory, or of a device node such as /dev/loop3. `path` must be canonical (no symlinks).
 */
export function bindMountsOf(mounts: readonly MountInfo[], path: string): MountInfo[] {
  const home = mountContaining(mounts, path);
  if (!home) return [];
  const relative = home.mountPoint === "/" ? path : path.slice(home.mountPoint.length);
  const inFilesystem = home.root === "/" ? relative || "/" : `${home.root}${relative}`;
  return mounts.filter(
    (mount) =>
      mount !== home &&
      mount.device === home.device &&
      (mount.root === inFilesystem || mount.root.startsWith(`${inFilesystem}/`)),
  );
}
