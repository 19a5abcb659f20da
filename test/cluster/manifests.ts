import YAML from "yaml";
import { csi, storageClasses } from "./config.ts";

/**
 * Cluster objects `up` creates once the API server serves: the CSI driver and our two StorageClasses.
 * With several nodes the volumes are node-local and each node's provisioner publishes its capacity,
 * which the scheduler then weighs for WaitForFirstConsumer claims.
 */
export function storageManifests(nodeCount = 1): string {
  const storageClass = (name: string, bindingMode: string, isDefault: boolean) => ({
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: {
      name,
      annotations: { "storageclass.kubernetes.io/is-default-class": String(isDefault) },
    },
    provisioner: csi.driverName,
    reclaimPolicy: "Delete",
    volumeBindingMode: bindingMode,
  });
  const objects = [
    {
      apiVersion: "storage.k8s.io/v1",
      kind: "CSIDriver",
      metadata: { name: csi.driverName },
      spec: {
        attachRequired: false,
        podInfoOnMount: true,
        volumeLifecycleModes: ["Persistent"],
        // Lets the kubelet apply a pod's fsGroup, so non-root populator pods can write.
        fsGroupPolicy: "File",
        storageCapacity: nodeCount > 1,
      },
    },
    storageClass(storageClasses.immediate, "Immediate", true),
    storageClass(storageClasses.waitForFirstConsumer, "WaitForFirstConsumer", false),
  ];
  return objects.map((o) => YAML.stringify(o)).join("---\n");
}
