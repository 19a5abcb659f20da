/**
 * The size of the Block volume the pod writes to. The idea is the CSI fast-path populator's
 * (packages/populator-csi-fastpath/src/copy/device-size.ts), repeated rather than imported: one
 * populator never depends on another.
 */
import type { FileHandle } from "node:fs/promises";
import { readFile } from "node:fs/promises";

/**
 * A regular file's length (tests stand one in for the device), or a block device's, which stat
 * reports as 0, read from sysfs instead (read-only in containers, but readable). Undefined when it
 * cannot be known: the write then relies on the device refusing bytes past its end (ENOSPC).
 */
export async function deviceSize(
  handle: FileHandle,
  readSysfs: (file: string) => Promise<string> = (file) => readFile(file, "utf8"),
): Promise<number | undefined> {
  const stats = await handle.stat({ bigint: true });
  if (stats.isFile()) return Number(stats.size);
  if (!stats.isBlockDevice()) return undefined;
  const { major, minor } = deviceNumbers(stats.rdev);
  try {
    const sectors = Number.parseInt(await readSysfs(`/sys/dev/block/${major}:${minor}/size`), 10);
    // sysfs counts 512-byte sectors whatever the device's own sector size.
    return Number.isSafeInteger(sectors) ? sectors * 512 : undefined;
  } catch {
    return undefined;
  }
}

/** glibc's major()/minor() of a dev_t. */
export function deviceNumbers(rdev: bigint): { major: bigint; minor: bigint } {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return { major, minor };
}
