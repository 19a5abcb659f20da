#!/usr/bin/env node
import {
  createPvc,
  createTestNamespace,
  deleteNamespace,
  JOB_MOUNT_PATH,
  kubeFromFile,
  runJob,
} from "../support/kube.ts";
import { layout, storageClasses } from "./config.ts";
import { step } from "./log.ts";
import { printUsage, up } from "./up.ts";

/**
 * The main job for now: a working cluster shown the way a user would see it. The seed walkthrough
 * (validator + hello populator) takes its place once those packages exist.
 */
async function demo(): Promise<void> {
  const userKubeconfig = process.env.KUBECONFIG;
  if (userKubeconfig) step(`using the cluster of KUBECONFIG=${userKubeconfig}`);
  else await up();
  const api = kubeFromFile(userKubeconfig ?? layout.adminKubeconfig);

  const nodes = await api.core.listNode();
  for (const node of nodes.items) {
    const ready = node.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";
    step(
      `node ${node.metadata?.name}: ${ready ? "Ready" : "NotReady"}, kubelet ${node.status?.nodeInfo?.kubeletVersion}, ${node.status?.nodeInfo?.containerRuntimeVersion}`,
    );
  }
  for (const sc of (await api.storage.listStorageClass()).items) {
    step(`StorageClass ${sc.metadata?.name}: provisioner ${sc.provisioner}, binding ${sc.volumeBindingMode}`);
  }

  const namespace = await createTestNamespace(api, "volpop-demo");
  try {
    const storageClassName = userKubeconfig
      ? (process.env.VOLPOP_E2E_STORAGE_CLASS ?? storageClasses.immediate)
      : storageClasses.immediate;
    step(`namespace ${namespace}: creating PVC demo-pvc (10Mi, ${storageClassName})`);
    await createPvc(api, namespace, "demo-pvc", { storageClassName, volumeMode: "Filesystem", size: "10Mi" });
    const pvc = { claimName: "demo-pvc", volumeMode: "Filesystem" } as const;
    step("Job writer: writes hello.txt into the volume");
    await runJob(api, namespace, "writer", {
      script: `echo "Hello from a volume provisioned by CSI" > ${JOB_MOUNT_PATH}/hello.txt`,
      pvc,
    });
    step("Job reader: a second pod reads it back");
    const log = await runJob(api, namespace, "reader", { script: `cat ${JOB_MOUNT_PATH}/hello.txt`, pvc });
    process.stdout.write(log);
  } finally {
    await deleteNamespace(api, namespace);
  }
  if (!userKubeconfig) printUsage();
}

demo().catch((error: unknown) => {
  process.stderr.write(`demo: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
