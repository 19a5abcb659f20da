import { setTimeout as sleep } from "node:timers/promises";
import { buildGoComponents } from "./build.ts";
import { createCgroupRoot } from "./cgroups.ts";
import { controlPlaneProcesses, nodeProcesses, provisionerProcesses } from "./components-list.ts";
import { csi, layout } from "./config.ts";
import { down } from "./down.ts";
import { buildClusterImages, pushClusterImages } from "./images.ts";
import { writeKubeconfigs } from "./kubeconfig.ts";
import { kubectl } from "./kubectl.ts";
import { step } from "./log.ts";
import { storageManifests } from "./manifests.ts";
import { setUpNodeNetwork } from "./network.ts";
import { type ClusterNode, clusterNodes, recordedNodeCount, recordNodeCount } from "./nodes.ts";
import { ensurePki } from "./pki.ts";
import { checkPortsFree } from "./ports-check.ts";
import { type ProcessSpec, startProcess } from "./processes.ts";
import { clusterIsUp } from "./status.ts";

export class NotRootError extends Error {
  readonly code = "NOT_ROOT";
}

export function requireRoot(command: string): void {
  if (process.getuid?.() !== 0) {
    throw new NotRootError(
      `\`cluster ${command}\` runs kubelet, containerd and mounts, so it needs root; run it as root (e.g. sudo -E pnpm cluster ${command})`,
    );
  }
}

export class NodeCountMismatchError extends Error {
  readonly code = "NODE_COUNT_MISMATCH";
}

export interface UpOptions {
  /**
   * Kubelet nodes; see nodes.ts for what each further node gets. Unset: 1, or as many as a cluster
   * that is up already has.
   */
  readonly nodes?: number;
}

/** Brings the cluster up; does nothing when it is up and healthy already (with as many nodes, if given). */
export async function up(options: UpOptions = {}): Promise<void> {
  requireRoot("up");
  const started = Date.now();
  if (await clusterIsUp()) {
    const running = recordedNodeCount();
    if (options.nodes !== undefined && running !== options.nodes) {
      throw new NodeCountMismatchError(
        `the cluster is up with ${running} node${running === 1 ? "" : "s"}, not ${options.nodes}; run \`pnpm cluster down\` first`,
      );
    }
    step(`cluster is already up (${running} node${running === 1 ? "" : "s"})`);
    return;
  }
  const count = options.nodes ?? 1;
  const nodes = clusterNodes(count);
  await buildGoComponents();
  await buildClusterImages();
  await down({ quiet: true });
  await checkPortsFree();
  step(`setting up the network of ${count} node${count === 1 ? "" : "s"}, certificates and kubeconfigs`);
  recordNodeCount(count);
  await setUpNodeNetwork(nodes);
  const further = nodes.filter((node) => node.netns !== undefined).map((node) => node.name);
  await ensurePki(further);
  writeKubeconfigs(further);

  const start = async (spec: ProcessSpec) => {
    const t = Date.now();
    await startProcess(spec);
    step(`${spec.name} is ready (${((Date.now() - t) / 1000).toFixed(1)}s)`);
  };
  for (const spec of controlPlaneProcesses(nodes)) {
    await start(spec);
    if (spec.name === "registry") await pushClusterImages();
  }
  // Nodes start side by side: each one's processes in order, the kubelet's start being the slow part.
  const nodesStarted = await Promise.allSettled(
    nodes.map(async (node) => {
      if (node.cgroupRoot !== undefined) createCgroupRoot(node.cgroupRoot);
      for (const spec of nodeProcesses(node)) await start(spec);
    }),
  );
  // Every node has finished starting (or failed) before `up` reports: none keeps starting behind it.
  const failed = nodesStarted.find((result) => result.status === "rejected");
  if (failed) throw failed.reason;
  await kubectl([
    "wait",
    "--for=condition=Ready",
    ...nodes.map((node) => `node/${node.name}`),
    "--timeout=120s",
  ]);
  await kubectl(["apply", "-f", "-"], { input: storageManifests(nodes.length) });
  for (const spec of provisionerProcesses(nodes)) await start(spec);
  for (const node of nodes) await waitForDriver(node);
  await waitFor(
    "the default ServiceAccount",
    async () => (await kubectl(["get", "serviceaccount", "default"], { allowFailure: true })).ok,
  );
  step(`cluster is up in ${Math.round((Date.now() - started) / 1000)}s`);
  printUsage();
}

function waitForDriver(node: ClusterNode): Promise<void> {
  return waitFor(`the CSI driver to register with the kubelet of ${node.name}`, async () => {
    const { stdout } = await kubectl(
      ["get", "csinode", node.name, "-o", "jsonpath={.spec.drivers[*].name}"],
      { allowFailure: true },
    );
    return stdout.split(" ").includes(csi.driverName);
  });
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(500);
  }
  throw new Error(
    `timed out after ${timeoutMs / 1000}s waiting for ${what}; component logs are in ${layout.logs}`,
  );
}

export function printUsage(): void {
  const kubectlBin = layout.bin("kubernetes", "kubectl");
  process.stderr.write(
    [
      "",
      "Use it with kubectl:",
      `  export KUBECONFIG=${layout.adminKubeconfig}`,
      `  ${kubectlBin} get nodes,storageclasses`,
      `Component logs: ${layout.logs}    Stop and clean up: pnpm cluster down`,
      "",
    ].join("\n"),
  );
}
