import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type LocalRegistry, startLocalRegistry } from "@volpop/oci-testing";
import { afterAll, beforeAll } from "vitest";
import type { BuildahStorage } from "../buildah.ts";
import type { Platform } from "../platform.ts";
import { buildRelease, type PushedRelease, pushRelease, type ReleasedImage } from "../release.ts";

/** Hello released twice from the same commit, for the reproducibility tests. */
export interface BuiltTwice {
  /** The two storages, each built into from nothing (nobody else's images touched). */
  readonly storages: readonly BuildahStorage[];
  readonly builds: ReleasedImage[][];
  /** Each build pushed to `registry` under `build-<i>/`. */
  readonly pushes: PushedRelease[][];
  registry(): LocalRegistry;
}

/**
 * Registers the suite's set-up and tear-down: hello built twice from nothing, in two storages of
 * its own under a scratch directory, for `platforms`, each pushed to a throwaway registry.
 */
export function helloBuiltTwice(
  scratchName: string,
  options: { platforms?: Platform[]; source?: string } = {},
): BuiltTwice {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), `volpop-${scratchName}-`));
  const storages: BuildahStorage[] = ["a", "b"].map((name) => ({
    root: path.join(scratch, name, "storage"),
    runroot: path.join(scratch, name, "run"),
  }));
  let registry: LocalRegistry | undefined;
  const builds: ReleasedImage[][] = [];
  const pushes: PushedRelease[][] = [];
  beforeAll(async () => {
    registry = await startLocalRegistry();
    for (const [i, storage] of storages.entries()) {
      const release = await buildRelease({
        images: ["populator-hello"],
        tag: "1.2.3",
        revision: "0123456789abcdef0123456789abcdef01234567",
        storage,
        ...(options.source ? { source: options.source } : {}),
        ...(options.platforms ? { platforms: options.platforms } : {}),
      });
      builds.push(release);
      pushes.push(await pushRelease(release, { registry: `${registry.host}/build-${i}`, storage }));
    }
  });
  afterAll(async () => {
    await registry?.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  });
  return {
    storages,
    builds,
    pushes,
    registry: () => {
      if (!registry) throw new Error("the registry starts in beforeAll");
      return registry;
    },
  };
}
