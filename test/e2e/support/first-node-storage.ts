import { inject } from "vitest";
import { clusterNode, recordedNodeCount } from "../../cluster/nodes.ts";
import { e2eSettings, type Kube } from "./kube.ts";

/** The hostpath driver's node topology key: its volumes are usable on that node only. */
const NODE_KEY = "topology.hostpath.csi/node";

export interface StorageClassPair {
  readonly immediate: string;
  readonly waitForFirstConsumer: string;
  /** The node the classes pin volumes to; undefined when they are the e2e classes themselves. */
  readonly node?: string;
  /** Deletes the classes this made (none when it handed out the e2e ones). */
  remove(): Promise<void>;
}

/**
 * StorageClasses whose volumes are made on the embedded cluster's first node: for suites whose subject
 * is a process of that node (the fast-path backend reading its state folder, a fault in its CSI
 * driver or kubelet), which a volume on another node would never touch. On one node, and on a cluster
 * of the user's, the e2e classes themselves.
 */
export async function storageOnFirstNode(api: Kube, suite: string): Promise<StorageClassPair> {
  if (!inject("embeddedCluster") || recordedNodeCount() === 1) {
    return {
      immediate: e2eSettings.immediateStorageClass,
      waitForFirstConsumer: e2eSettings.waitForFirstConsumerStorageClass,
      remove: async () => undefined,
    };
  }
  const node = clusterNode(1).name;
  const made: string[] = [];
  const pinned = async (base: string) => {
    const template = await api.storage.readStorageClass({ name: base });
    const name = `${suite}-${base}-on-${node}`;
    await api.storage.deleteStorageClass({ name }).catch(() => undefined);
    await api.storage.createStorageClass({
      body: {
        metadata: { name },
        provisioner: template.provisioner,
        ...(template.parameters ? { parameters: template.parameters } : {}),
        reclaimPolicy: "Delete",
        ...(template.volumeBindingMode ? { volumeBindingMode: template.volumeBindingMode } : {}),
        allowedTopologies: [{ matchLabelExpressions: [{ key: NODE_KEY, values: [node] }] }],
      },
    });
    made.push(name);
    return name;
  };
  const remove = async () => {
    for (const name of made) await api.storage.deleteStorageClass({ name }).catch(() => undefined);
  };
  try {
    return {
      immediate: await pinned(e2eSettings.immediateStorageClass),
      waitForFirstConsumer: await pinned(e2eSettings.waitForFirstConsumerStorageClass),
      node,
      remove,
    };
  } catch (error) {
    // The first class made must not outlive a failure to make the second.
    await remove();
    throw error;
  }
}
