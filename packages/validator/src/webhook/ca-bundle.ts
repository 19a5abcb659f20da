/**
 * Tells the API server which CA to trust for the webhook: the `caBundle` of every webhook in the
 * validator's ValidatingWebhookConfiguration, patched in place (the manifests leave it out, so that
 * re-applying them does not wipe it).
 */
import {
  type AdmissionregistrationV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1ValidatingWebhookConfiguration,
} from "@kubernetes/client-node";
import { isNotFound } from "@volpop/sdk/runtime";

/** One RFC 6902 JSON Patch operation of {@link caBundlePatch}. */
export type JsonPatchOperation =
  | { readonly op: "test"; readonly path: string; readonly value: unknown }
  | { readonly op: "add"; readonly path: string; readonly value: unknown };

/**
 * The JSON Patch that sets `caBundle` (base64 of the CA's PEM) on each webhook of `configuration`
 * that lacks it; empty when all have it. Each change is guarded by a `test` of the webhook's name
 * at that index, so that a patch computed from an outdated read fails instead of landing elsewhere.
 */
export function caBundlePatch(
  configuration: V1ValidatingWebhookConfiguration,
  caBundle: string,
): JsonPatchOperation[] {
  const operations: JsonPatchOperation[] = [];
  (configuration.webhooks ?? []).forEach((webhook, index) => {
    if (webhook.clientConfig?.caBundle === caBundle) return;
    operations.push(
      { op: "test", path: `/webhooks/${index}/name`, value: webhook.name },
      { op: "add", path: `/webhooks/${index}/clientConfig/caBundle`, value: caBundle },
    );
  });
  return operations;
}

/** What {@link ensureCaBundle} found. */
export type CaBundleState = "patched" | "current" | "missing";

const jsonPatch = setHeaderOptions("Content-Type", PatchStrategy.JsonPatch);

/**
 * Makes every webhook of the ValidatingWebhookConfiguration `name` trust `caPem`: `patched` when
 * it had to, `current` when it did already, `missing` when there is no such configuration (the
 * webhook is not installed, or not yet). Needs get and patch on that one object.
 */
export async function ensureCaBundle(
  api: Pick<
    AdmissionregistrationV1Api,
    "readValidatingWebhookConfiguration" | "patchValidatingWebhookConfiguration"
  >,
  name: string,
  caPem: string,
): Promise<CaBundleState> {
  let configuration: V1ValidatingWebhookConfiguration;
  try {
    configuration = await api.readValidatingWebhookConfiguration({ name });
  } catch (error) {
    if (isNotFound(error)) return "missing";
    throw error;
  }
  const operations = caBundlePatch(configuration, Buffer.from(caPem, "utf8").toString("base64"));
  if (operations.length === 0) return "current";
  await api.patchValidatingWebhookConfiguration({ name, body: operations }, jsonPatch);
  return "patched";
}
