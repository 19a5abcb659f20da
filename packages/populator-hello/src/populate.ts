import fs from "node:fs/promises";
import path from "node:path";
import type { PopulateTarget } from "@volpop/sdk";
import { type HelloSpec, helloFileBytes } from "./hello.ts";

/**
 * Populate mode: writes the file (Filesystem) or the bytes at the start of the device (Block), as
 * upstream's hello populator does, from a spec populate mode checked with `helloSpec.validate`.
 */
export async function writeHello(target: PopulateTarget, spec: HelloSpec): Promise<void> {
  const bytes = helloFileBytes(spec);
  if (target.kind === "device") {
    const device = await fs.open(target.path, "r+");
    try {
      await device.write(bytes, 0, bytes.length, 0);
      await device.sync();
    } finally {
      await device.close();
    }
    return;
  }
  const file = path.join(target.path, spec.fileName);
  // Cheap, and the pod must never write outside the volume, whoever calls this with what.
  if (path.dirname(file) !== path.resolve(target.path))
    throw new Error(`refusing to write outside ${target.path}`);
  // Write then rename, so a crash never leaves a half-written file under the final name.
  const temporary = `${file}.volpop-tmp`;
  await fs.writeFile(temporary, bytes, { mode: 0o644 });
  await fs.rename(temporary, file);
}
