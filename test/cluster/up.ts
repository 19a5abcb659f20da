import { setTimeout as sleep } from "node:timers/promises";
import { buildGoComponents } from "./build.ts";
import * as components from "./components.ts";
import { cgroupV1 } from "./components-list.ts";
import { csi, layout, network } from "./config.ts";
import { down } from "./down.ts";
import { buildClusterImages, pushClusterImages } from "./images.ts";
import { writeKubeconfigs } from "./kubeconfig.ts";
import { kubectl } from "./kubectl.ts";
import { step } from "./log.ts";
import { storageManifests } from "./manifests.ts";
import { setUpNodeNetwork } from "./network.ts";
import { ensurePki } from "./pki.ts";
import { checkPortsFree } from "./ports-check.ts";
import { startProcess } from "./processes.ts";
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

/** Brings the single-node cluster up; does nothing when it is up and healthy already. */
export async function up(): Promise<void> {
  requireRoot("up");
  const started = Date.now();
  if (await clusterIsUp()) {
    step("cluster is already up");
    return;
  }
  await buildGoComponents();
  await buildClusterImages();
  await down({ quiet: true });
  await checkPortsFree();
  step("setting up the node network, certificates and kubeconfigs");
  await setUpNodeNetwork();
  await ensurePki();
  writeKubeconfigs();

  const start = async (spec: ReturnType<typeof components.etcd>) => {
    const t = Date.now();
    await startProcess(spec);
    step(`${spec.name} is ready (${((Date.now() - t) / 1000).toFixed(1)}s)`);
  };
  await start(components.etcd());
  await start(components.apiserver());
  await start(components.controllerManager());
  await start(components.scheduler());
  await start(components.imageRegistry());
  await pushClusterImages();
  await start(components.containerd());
  await start(components.csiDriver());
  await start(components.kubelet(cgroupV1()));
  await start(components.kubeProxy());
  await kubectl(["wait", "--for=condition=Ready", `node/${network.nodeName}`, "--timeout=120s"]);
  await kubectl(["apply", "-f", "-"], { input: storageManifests() });
  await start(components.csiProvisioner());
  await waitFor("the CSI driver to register with the kubelet", async () => {
    const { stdout } = await kubectl(
      ["get", "csinode", network.nodeName, "-o", "jsonpath={.spec.drivers[*].name}"],
      {
        allowFailure: true,
      },
    );
    return stdout.split(" ").includes(csi.driverName);
  });
  await waitFor(
    "the default ServiceAccount",
    async () => (await kubectl(["get", "serviceaccount", "default"], { allowFailure: true })).ok,
  );
  step(`cluster is up in ${Math.round((Date.now() - started) / 1000)}s`);
  printUsage();
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
