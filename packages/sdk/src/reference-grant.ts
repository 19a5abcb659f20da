import type { CustomObjectsApi, V1PersistentVolumeClaim } from "@kubernetes/client-node";
import { isNotFound } from "./errors.ts";

/** The fields of a gateway-api `ReferenceGrant` (v1beta1) that decide a cross-namespace data source. */
export interface ReferenceGrant {
  readonly spec?: {
    readonly from?: readonly {
      readonly group?: string;
      readonly kind?: string;
      readonly namespace?: string;
    }[];
    readonly to?: readonly { readonly group?: string; readonly kind?: string; readonly name?: string }[];
  };
}

/**
 * True when one grant in the source's namespace lets PVCs of `pvc`'s namespace refer to the source,
 * the rule upstream's CrossNamespaceVolumeDataSource uses.
 */
export function grantAllows(grants: readonly ReferenceGrant[], pvc: V1PersistentVolumeClaim): boolean {
  const ref = pvc.spec?.dataSourceRef;
  const namespace = pvc.metadata?.namespace;
  return grants.some(
    (grant) =>
      (grant.spec?.from ?? []).some(
        (from) =>
          (from.group ?? "") === "" && from.kind === "PersistentVolumeClaim" && from.namespace === namespace,
      ) &&
      (grant.spec?.to ?? []).some(
        (to) =>
          (to.group ?? "") === (ref?.apiGroup ?? "") &&
          to.kind === ref?.kind &&
          (!to.name || to.name === ref?.name),
      ),
  );
}

/** Reads the grants of `namespace`; a cluster without the ReferenceGrant CRD grants nothing. */
export async function listReferenceGrants(
  api: CustomObjectsApi,
  namespace: string,
): Promise<ReferenceGrant[]> {
  try {
    const list = (await api.listNamespacedCustomObject({
      group: "gateway.networking.k8s.io",
      version: "v1beta1",
      plural: "referencegrants",
      namespace,
    })) as { items?: ReferenceGrant[] };
    return list.items ?? [];
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
}
