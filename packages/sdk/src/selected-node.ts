import type { V1PersistentVolumeClaim, V1StorageClass } from "@kubernetes/client-node";
import { SELECTED_NODE_ANNOTATION } from "./names.ts";

/**
 * The node a WaitForFirstConsumer PVC's volume must be made on: the scheduler's choice for the pod
 * that uses it, in the `volume.kubernetes.io/selected-node` annotation. Read for WaitForFirstConsumer
 * only, as upstream does: with immediate binding the annotation says nothing about consumers —
 * external-provisioner in node-deployment mode (node-local storage) writes it on every claim it races
 * to own, the user's PVC included, and a populator pod sent there would find its volume elsewhere.
 */
export function consumerNode(
  pvc: V1PersistentVolumeClaim,
  storageClass: V1StorageClass | undefined,
): string | undefined {
  if (storageClass?.volumeBindingMode !== "WaitForFirstConsumer") return undefined;
  return pvc.metadata?.annotations?.[SELECTED_NODE_ANNOTATION] || undefined;
}
