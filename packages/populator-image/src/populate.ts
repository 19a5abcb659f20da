/**
 * Populate mode, inside the populator pod: pull the image the ImageSource names and write it into
 * the volume, a directory tree for Filesystem volumes, one disk image file for Block ones.
 */

import {
  type CredentialPolicy,
  parseDockerConfig,
  parseImageReference,
  RegistryClient,
  type RegistryClientOptions,
  type RegistryLogFn,
  type RetryPolicy,
} from "@volpop/oci";
import type { PopulateContext } from "@volpop/sdk";
import type { ImageSourceSpec } from "./image-source.ts";
import { CA_BUNDLE_DIR, PULL_SECRETS_DIR } from "./pod-layout.ts";
import { clearDirectory } from "./populate/clear-directory.ts";
import { describeFailure, type FailureContext, shortDigest } from "./populate/describe-failure.ts";
import { PopulateError, PopulateErrorCode, PopulationDeadlineError } from "./populate/errors.ts";
import { fillDevice } from "./populate/fill-device.ts";
import { fillDirectory } from "./populate/fill-directory.ts";
import type { FillHooks } from "./populate/fill-hooks.ts";
import { readCaBundle, readPullSecrets } from "./populate/mounted-secrets.ts";
import { formatBytes, PopulateProgress } from "./populate/progress.ts";

/** What populate mode needs of the SDK's context: the checked spec, where to write, where progress goes. */
export type ImagePopulateContext = Pick<
  PopulateContext<ImageSourceSpec>,
  "target" | "spec" | "reportProgress"
>;

/** How long one population may take by default: an hour (`--population-deadline`). */
export const DEFAULT_POPULATION_DEADLINE_MS = 60 * 60 * 1000;

/** Where populate mode finds its inputs, and what tests replace. Every field has the pod's default. */
export interface PopulateImageOptions {
  /**
   * How long the whole population may take, manifest, tokens, every blob and the extraction
   * included, in milliseconds. The registry client's timeouts bound each exchange's silences, not its
   * length: a server that sends one byte a minute passes them forever. Past the deadline every
   * request and download is aborted and the attempt fails, naming the deadline, with the volume
   * emptied. Default: {@link DEFAULT_POPULATION_DEADLINE_MS}.
   */
  readonly deadlineMs?: number;
  /** Where pull secret `i` is mounted, as `<dir>/<i>`. Default: `/var/run/volpop/pull-secrets`. */
  readonly pullSecretsDir?: string;
  /** Where the CA bundle ConfigMap is mounted. Default: `/var/run/volpop/ca`. */
  readonly caBundleDir?: string;
  /** Overrides of the registry client's retry policy. Default: its own (5 tries, 0.5 s doubling). */
  readonly retry?: Partial<RetryPolicy>;
  /**
   * Where the pull secrets' credentials may go beyond the registry's own host over TLS: the cluster
   * admin's setting (the populator's flags), never the ImageSource's. Default: nowhere.
   */
  readonly credentialPolicy?: CredentialPolicy;
  /** The registry client's timeouts. Default: its own. */
  readonly timeouts?: RegistryClientOptions["timeouts"];
  /** Receives the registry client's log lines (retries, resumed downloads). Default: none. */
  readonly log?: RegistryLogFn;
  /** Least time between two progress reports. Default: 1000 ms. */
  readonly progressIntervalMs?: number;
  /** Milliseconds clock for progress. Default: `Date.now`. */
  readonly now?: () => number;
}

/** What a successful population wrote. */
export interface PopulateImageResult {
  /** `registry/repository@sha256:…` of the image written: what the tag pointed at. */
  readonly pinnedReference: string;
  readonly layers: number;
  /** Bytes written to the volume (regular files' contents, or the block file). */
  readonly bytes: number;
  /** Filesystem: entries written (files, directories, links). */
  readonly entries?: number;
}

/**
 * Pulls the image and writes it into `context.target`. A Filesystem volume is emptied first, so that
 * a retry never builds on a failed attempt, and emptied again if this attempt fails; a `lost+found`
 * is emptied too and left as mkfs.ext4 makes it (see clearDirectory). The whole attempt is bounded by
 * `deadlineMs`. Progress goes to `context.reportProgress`, at most once a second.
 * @throws ImagePopulateError, whose message is one sentence naming the image, for the PVC's event
 */
export async function populateImage(
  context: ImagePopulateContext,
  options: PopulateImageOptions = {},
): Promise<PopulateImageResult> {
  const { spec } = context;
  const failure: { -readonly [K in keyof FailureContext]: FailureContext[K] } = {
    image: spec.image,
    reference: parseImageReference(spec.image),
    hasPullSecrets: spec.pullSecrets.length > 0,
  };
  const progress = new PopulateProgress((p) => context.reportProgress(p), {
    ...(options.progressIntervalMs === undefined ? {} : { intervalMs: options.progressIntervalMs }),
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  const hooks: FillHooks = {
    layer(index, count, descriptor) {
      failure.layer = descriptor;
      progress.layer(index, count);
    },
    written: (bytes) => progress.written(bytes),
  };
  const { target } = context;
  const deadlineMs = options.deadlineMs ?? DEFAULT_POPULATION_DEADLINE_MS;
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new PopulationDeadlineError(deadlineMs)), deadlineMs);
  let client: RegistryClient | undefined;
  // Whether the volume had a lost+found: the clean-up after a failure puts it back if a layer removed it.
  let lostAndFound = false;
  try {
    if (target.kind === "directory") lostAndFound = await emptied(target.path);
    const pullSecrets = await readPullSecrets(spec, options.pullSecretsDir ?? PULL_SECRETS_DIR);
    failure.credentialHosts = new Set(
      pullSecrets.flatMap((payload) => [...parseDockerConfig(payload).keys()]),
    );
    const ca = await readCaBundle(spec, options.caBundleDir ?? CA_BUNDLE_DIR);
    client = new RegistryClient({
      pullSecrets,
      ...(ca === undefined ? {} : { caCertificates: ca }),
      insecureRegistries: spec.insecureRegistries,
      // spec.caBundle is the ImageSource author's: it may vouch for credentials only where the admin says.
      credentialPolicy: {
        ...options.credentialPolicy,
        sourceCaHosts: options.credentialPolicy?.sourceCaHosts ?? [],
      },
      ...(spec.platform === undefined ? {} : { platform: spec.platform }),
      ...(options.retry === undefined ? {} : { retry: options.retry }),
      ...(options.timeouts === undefined ? {} : { timeouts: options.timeouts }),
      ...(options.log === undefined ? {} : { log: options.log }),
      signal: deadline.signal,
    });
    const image = await client.resolve(spec.image, {
      onProgress: ({ completedBytes, totalBytes }) => progress.downloaded(completedBytes, totalBytes),
    });
    const pinned = shortDigest(image.digest);
    if (target.kind === "directory") {
      const totals = await fillDirectory(image, target.path, spec, hooks);
      const entries = totals.files + totals.directories + totals.symlinks + totals.hardLinks;
      progress.finished(`done: ${entries} entries, ${formatBytes(totals.bytes)} from ${pinned}`);
      return {
        pinnedReference: image.pinnedReference,
        layers: totals.layers,
        bytes: totals.bytes,
        entries,
      };
    }
    const written = await fillDevice(image, target.path, spec, hooks);
    progress.finished(`done: ${formatBytes(written.bytes)} of ${spec.blockFile} from ${pinned}`);
    return { pinnedReference: image.pinnedReference, layers: image.layers.length, bytes: written.bytes };
  } catch (error) {
    // Past the deadline, whatever broke first (an aborted request, a destroyed stream) is its doing.
    const cause: unknown = deadline.signal.aborted ? deadline.signal.reason : error;
    // Best effort: the error being reported matters more than one about cleaning up after it.
    if (target.kind === "directory") await clearDirectory(target.path, { lostAndFound }).catch(() => false);
    throw describeFailure(cause, failure);
  } finally {
    clearTimeout(timer);
    client?.close();
  }
}

/** Empties the volume before writing; resolves to whether it has a `lost+found`. */
async function emptied(directory: string): Promise<boolean> {
  try {
    return await clearDirectory(directory);
  } catch (error) {
    throw new PopulateError(
      PopulateErrorCode.ClearFailed,
      `cannot empty the volume before writing to it: ${(error as Error).message}`,
      { cause: error },
    );
  }
}
