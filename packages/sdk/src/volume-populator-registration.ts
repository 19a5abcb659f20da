import type { CustomObjectsApi } from "@kubernetes/client-node";
import { isAlreadyExists, isNotFound, toVolpopError } from "./errors.ts";
import type { Logger } from "./logger.ts";
import type { SourceKind } from "./populator.ts";

const GROUP = "populator.storage.k8s.io";
const VERSION = "v1beta1";
const PLURAL = "volumepopulators";

/** Name of the `VolumePopulator` a controller registers for its source kind. */
export function volumePopulatorName(source: SourceKind): string {
  return `${source.plural}.${source.group}`;
}

/**
 * Registers the populator's source kind with the data-source validator by creating its
 * `VolumePopulator` object (cluster-scoped) unless one registers the kind already. Clusters without the validator's CRD, or a controller
 * without the right to create it, lose nothing but the validator's blessing: say so and go on.
 */
export async function registerVolumePopulator(
  api: CustomObjectsApi,
  source: SourceKind,
  logger: Logger,
): Promise<void> {
  const name = volumePopulatorName(source);
  try {
    // A VolumePopulator from the populator's manifests (any name) may register the kind already.
    const existing = (await api.listClusterCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
    })) as {
      items?: { sourceKind?: { group?: string; kind?: string } }[];
    };
    if (
      existing.items?.some(
        (v) => (v.sourceKind?.group ?? "") === source.group && v.sourceKind?.kind === source.kind,
      )
    )
      return;
    await api.createClusterCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: "VolumePopulator",
        metadata: { name, labels: { "app.kubernetes.io/managed-by": "volpop" } },
        sourceKind: { group: source.group, kind: source.kind },
      },
    });
    logger.info({ volumePopulator: name }, "registered the source kind with the data-source validator");
  } catch (error) {
    if (isAlreadyExists(error)) return;
    const reason = isNotFound(error)
      ? "the VolumePopulator CRD is not installed"
      : toVolpopError(error).message;
    logger.info({ volumePopulator: name, reason }, "did not register a VolumePopulator");
  }
}
