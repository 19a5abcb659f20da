/** Populate mode: how big the target of a Block volume is (shared by every populator writing raw bytes). */
import type { FileHandle } from "node:fs/promises";
import { readFile } from "node:fs/promises";

/**
 * The size of a block volume: a regular file's length (the hostpath driver's `.img`), or a block
 * device's (the populator pod's /dev/block), which stat reports as 0, read from sysfs instead.
 * Undefined when it cannot be known; the copy then relies on the device refusing writes past its end.
 */
export async function blockTargetSize(
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
