/**
 * Test helpers for populate mode: a scratch directory standing in for the pod (the volume, the
 * mounted pull secrets and CA bundle), and one call that runs populate mode against it the way
 * the pod does. Not exported from the package.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type PopulateTarget, type Progress, readSpec, SPEC_ENV } from "@volpop/sdk";
import { imageSourceSpec } from "../image-source.ts";
import { DOCKER_CONFIG_JSON_KEY, pullSecretDir } from "../pod-layout.ts";
import { type PopulateImageOptions, type PopulateImageResult, populateImage } from "../populate.ts";

/** Retries quick enough for tests: 3 tries, 20 ms apart at first. */
export const FAST_RETRY = { attempts: 3, initialDelayMs: 20, maxDelayMs: 100 } as const;

export interface Pod {
  /** Temporary directory holding the rest. */
  readonly root: string;
  /** The Filesystem volume's mount point, empty. */
  readonly volume: string;
  readonly pullSecretsDir: string;
  readonly caBundleDir: string;
  /** Mounts pull secret `index` with these keys as files. */
  mountSecret(index: number, keys: Readonly<Record<string, string>>): void;
  /** Mounts the CA ConfigMap with these keys as files. */
  mountConfigMap(keys: Readonly<Record<string, string>>): void;
  /**
   * Populates with `spec` into `target` (default: the volume), the spec passed as JSON and checked
   * again as the SDK's populate mode does (an unchecked one is refused the same way).
   */
  populate(spec: unknown, options?: PodPopulateOptions): Promise<PopulateRun>;
  remove(): void;
}

export interface PodPopulateOptions extends PopulateImageOptions {
  /** Default: the volume, as a directory. */
  readonly target?: PopulateTarget;
  /** Sees each progress report as it is made. */
  readonly onProgress?: (progress: Progress) => void;
}

export interface PopulateRun {
  readonly result: PopulateImageResult;
  readonly reports: readonly Progress[];
}

/** A new scratch pod; `volume` may name an existing directory to use as the volume instead. */
export function scratchPod(volume?: string): Pod {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "volpop-populate-"));
  const target = volume ?? path.join(root, "volume");
  const pullSecretsDir = path.join(root, "pull-secrets");
  const caBundleDir = path.join(root, "ca");
  fs.mkdirSync(target, { recursive: true });
  const mount = (dir: string, keys: Readonly<Record<string, string>>) => {
    fs.mkdirSync(dir, { recursive: true });
    for (const [key, value] of Object.entries(keys)) fs.writeFileSync(path.join(dir, key), value);
  };
  return {
    root,
    volume: target,
    pullSecretsDir,
    caBundleDir,
    mountSecret: (index, keys) => mount(pullSecretDir(index, pullSecretsDir), keys),
    mountConfigMap: (keys) => mount(caBundleDir, keys),
    async populate(spec, options = {}) {
      const reports: Progress[] = [];
      const { target: given, onProgress, ...rest } = options;
      const result = await populateImage(
        {
          target: given ?? { kind: "directory", path: target },
          spec: readSpec(imageSourceSpec.validate, { [SPEC_ENV]: JSON.stringify(spec) }),
          reportProgress: (progress) => {
            reports.push(progress);
            onProgress?.(progress);
          },
        },
        {
          pullSecretsDir,
          caBundleDir,
          retry: FAST_RETRY,
          ...rest,
        },
      );
      return { result, reports };
    },
    remove: () => fs.rmSync(root, { recursive: true, force: true }),
  };
}

/** A `.dockerconfigjson` Secret's keys granting `user` on `registry`. */
export function dockerConfigSecret(registry: string, user: string, password: string): Record<string, string> {
  const auth = Buffer.from(`${user}:${password}`).toString("base64");
  return { [DOCKER_CONFIG_JSON_KEY]: JSON.stringify({ auths: { [registry]: { auth } } }) };
}

/** The error `promise` rejects with; fails the test if it resolves. */
export async function failureOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected the population to fail, and it succeeded");
}

/** File names in `dir`, sorted. */
export function entriesOf(dir: string): string[] {
  return fs.readdirSync(dir).sort();
}
