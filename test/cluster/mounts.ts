import fs from "node:fs";
import { parseMountInfo } from "./csi-hostpath/mountinfo.ts";
import { run } from "./exec.ts";

/** Mount points below any of `roots`, deepest first (the order they must be unmounted in). */
export function mountsUnder(roots: readonly string[]): string[] {
  const points = parseMountInfo(fs.readFileSync("/proc/self/mountinfo", "utf8"))
    .map((m) => m.mountPoint)
    .filter((p) => roots.some((root) => p === root || p.startsWith(`${root}/`)));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

export async function unmountAll(roots: readonly string[]): Promise<void> {
  for (const point of mountsUnder(roots)) {
    const plain = await run("umount", [point], { allowFailure: true });
    if (!plain.ok) await run("umount", ["--lazy", point]);
  }
}

/** Loop devices whose backing file lies under `root`. */
export async function loopDevicesUnder(root: string): Promise<string[]> {
  const { stdout } = await run("losetup", ["--list", "--noheadings", "--output", "NAME,BACK-FILE"]);
  return stdout
    .split("\n")
    .map((line) => line.trim().split(/\s+/))
    .filter(([name, file]) => name && file && (file === root || file.startsWith(`${root}/`)))
    .map(([name]) => name as string);
}

export async function detachLoopDevicesUnder(root: string): Promise<void> {
  for (const device of await loopDevicesUnder(root))
    await run("losetup", ["--detach", device], { allowFailure: true });
}
