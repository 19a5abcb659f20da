/**
 * Says why a population failed in one sentence for the PopulatorFailed event on the user's PVC:
 * what went wrong, where (which layer, which entry), and what to check. Pure, so that every
 * message can be read in a table test.
 */

import {
  DigestMismatchError,
  ExtractLimitError,
  type ImageReference,
  LayerError,
  MalformedLayerError,
  ManifestNotFoundError,
  normaliseRegistryHost,
  PlatformNotFoundError,
  RegistryAuthError,
  RegistryTlsError,
  SOURCE_CA,
  UnsafeEntryError,
} from "@volpop/oci";
import { VolpopError } from "@volpop/sdk";
import { ImagePopulateError, PopulateErrorCode, PopulationDeadlineError } from "./errors.ts";

/** Where the population was when it failed. */
export interface FailureContext {
  /** `spec.image` as the user wrote it. */
  readonly image: string;
  readonly reference: ImageReference;
  /** Whether `spec.pullSecrets` names any Secret: changes what to check when a registry refuses us. */
  readonly hasPullSecrets: boolean;
  /** The registries the pull secrets hold credentials for (as `normaliseRegistryHost` writes them), once read. */
  readonly credentialHosts?: ReadonlySet<string>;
  /** The layer being read, if any. */
  readonly layer?: { readonly digest: string };
}

/** `error` as the {@link ImagePopulateError} populate mode throws: `image <spec.image>: <detail>`. */
export function describeFailure(error: unknown, context: FailureContext): ImagePopulateError {
  const detail = oneLine(failureDetail(error, context));
  const code =
    error instanceof VolpopError
      ? error.code
      : systemCode(error) === "ENOSPC"
        ? PopulateErrorCode.VolumeFull
        : systemCode(error);
  return new ImagePopulateError(code, `image ${context.image}: ${detail}`, { cause: error });
}

/** A digest short enough for a sentence: `sha256:0123456789ab…`. */
export function shortDigest(digest: string): string {
  const colon = digest.indexOf(":");
  return digest.length > colon + 13 ? `${digest.slice(0, colon + 13)}…` : digest;
}

function failureDetail(error: unknown, context: FailureContext): string {
  const layer = context.layer === undefined ? undefined : `layer ${shortDigest(context.layer.digest)}`;
  if (error instanceof UnsafeEntryError || error instanceof ExtractLimitError) {
    // "layer entry "x" rejected: …" becomes "layer sha256:…: entry "x" rejected: …".
    return layer === undefined ? error.message : `${layer} ${error.message.replace(/^layer /, "")}`;
  }
  if (error instanceof PopulationDeadlineError) {
    return layer === undefined ? error.message : `${error.message}, while reading ${layer}`;
  }
  if (error instanceof MalformedLayerError) {
    if (layer === undefined) return error.message;
    return error.entry === undefined
      ? `${layer} is malformed: ${error.message.replace(/^malformed layer: /, "")}`
      : `${layer} ${error.message.replace(/^layer /, "")}`;
  }
  if (error instanceof LayerError) return error.message;
  if (error instanceof ManifestNotFoundError) {
    const pinned = context.reference.digest !== undefined;
    return `manifest not found in ${context.reference.registry}/${context.reference.repository} (check the ${pinned ? "digest" : "tag"} and the repository name)`;
  }
  if (error instanceof RegistryAuthError) {
    const covered = context.credentialHosts?.has(normaliseRegistryHost(error.registry)) ?? true;
    const hint =
      error.withheld !== undefined
        ? `the pull secret's credentials were not sent: ${error.withheld.replace(SOURCE_CA, "the ImageSource's own CA (spec.caBundle)")}, which only a cluster admin may allow`
        : !context.hasPullSecrets
          ? "no pull secret given: name one in spec.pullSecrets"
          : covered
            ? "check the pull secret"
            : `none of spec.pullSecrets has credentials for ${error.registry}`;
    return error.status === 403
      ? `registry ${error.registry} denied access (${hint} and that its account may pull ${context.reference.repository})`
      : `authentication failed for registry ${error.registry} (${hint})`;
  }
  if (error instanceof DigestMismatchError) {
    const what = layer ?? "the manifest";
    return `digest mismatch for ${what}: expected ${error.expected}, got ${error.actual} (the registry served corrupt or tampered content)`;
  }
  if (error instanceof PlatformNotFoundError) {
    const available = error.available.length === 0 ? "none" : error.available.join(", ");
    return `no image for platform ${error.wanted} (available: ${available}; set spec.platform)`;
  }
  if (error instanceof RegistryTlsError) {
    return error.message.replace(
      /; if the registry uses a private CA, add it to caCertificates$/,
      "; if the registry uses a private CA, name it in spec.caBundle",
    );
  }
  if (systemCode(error) === "ENOSPC") {
    return "the volume is full: request a larger PVC, or copy less with spec.path";
  }
  if (error instanceof Error) return error.message;
  return String(error);
}

function systemCode(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === "string" && code !== "" ? code : PopulateErrorCode.Failed;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}
