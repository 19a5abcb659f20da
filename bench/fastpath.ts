#!/usr/bin/env node
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { publishProductImage } from "@volpop/images";
import { goldenContentPopulator } from "@volpop/populator-csi-fastpath";
import { podStrategy, type Strategy } from "@volpop/sdk";
import { registry as embeddedRegistry, layout } from "../test/cluster/config.ts";
import {
  createGoldenContent,
  fastPath,
  goldenContentRef,
  installGoldenContentCrd,
  startBackendProcess,
  startFastPathController,
} from "../test/e2e/support/fastpath-harness.ts";
import {
  createPvc,
  createTestNamespace,
  deleteNamespace,
  type Kube,
  kubeFromFile,
  waitFor,
} from "../test/support/kube.ts";

/**
 * The same golden content (1 GiB of random bytes by default) into a volume three ways: through the CSI
 * fast path (reference hostpath backend, no pod), through the Pod strategy (a populator pod copies it
 * from a read-only hostPath mount), and with plain `cp` on the host. Reports wall time and the CPU the
 * whole node spent (from /proc/stat, so the kubelet, containerd and the pod count too).
 */
const sizeMiB = Number(process.env.VOLPOP_BENCH_FASTPATH_MIB ?? 1024);
const runs = Number(process.env.VOLPOP_BENCH_RUNS ?? 3);
const kubeconfig = process.env.KUBECONFIG ?? layout.adminKubeconfig;
const stateDir = process.env.VOLPOP_E2E_HOSTPATH_STATE_DIR ?? layout.csiStateDir;
const storageClass = process.env.VOLPOP_E2E_STORAGE_CLASS ?? "volpop-immediate";
const work = process.env.VOLPOP_BENCH_DIR ?? "/var/lib/volpop-bench";
const here = import.meta.dirname;
const run = promisify(execFile);

interface Sample {
  readonly wallSeconds: number;
  readonly nodeCpuSeconds: number;
}

/** CPU seconds the whole node has been busy since boot (user, nice, system, irq, softirq, steal). */
function nodeBusySeconds(): number {
  const fields = (fs.readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "")
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return (user + nice + system + irq + softirq + steal) / 100;
}

/** Empties the page cache when allowed, so that no method reads the source from memory another left. */
async function dropCaches(): Promise<boolean> {
  await run("sync");
  try {
    fs.writeFileSync("/proc/sys/vm/drop_caches", "3");
    return true;
  } catch {
    return false;
  }
}

async function measure(action: () => Promise<void>): Promise<Sample> {
  const cpu = nodeBusySeconds();
  const began = performance.now();
  await action();
  return { wallSeconds: (performance.now() - began) / 1000, nodeCpuSeconds: nodeBusySeconds() - cpu };
}

function median(samples: readonly Sample[]): Sample {
  const pick = (values: number[]) =>
    values.sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
  return {
    wallSeconds: pick(samples.map((s) => s.wallSeconds)),
    nodeCpuSeconds: pick(samples.map((s) => s.nodeCpuSeconds)),
  };
}

async function prepareGolden(goldenDir: string): Promise<void> {
  const blob = path.join(goldenDir, "big", "blob.bin");
  if (fs.existsSync(blob) && fs.statSync(blob).size === sizeMiB * 2 ** 20) return;
  fs.mkdirSync(path.dirname(blob), { recursive: true });
  const fd = fs.openSync(blob, "w");
  for (let i = 0; i < sizeMiB; i++) fs.writeSync(fd, randomBytes(2 ** 20));
  fs.closeSync(fd);
}

async function populateOnce(api: Kube, namespace: string, name: string): Promise<Sample> {
  await createGoldenContent(api, namespace, name, "big");
  const sample = await measure(async () => {
    await createPvc(api, namespace, name, {
      storageClassName: storageClass,
      volumeMode: "Filesystem",
      size: `${Math.ceil((sizeMiB * 1.25) / 1024)}Gi`,
      dataSourceRef: goldenContentRef(name),
    });
    await waitFor(
      `PVC ${name} to bind`,
      async () =>
        (await api.core.readNamespacedPersistentVolumeClaim({ name, namespace })).status?.phase === "Bound"
          ? true
          : undefined,
      30 * 60_000,
    );
  });
  await api.core.deleteNamespacedPersistentVolumeClaim({ name, namespace });
  await waitFor(`PVC ${name} to go`, async () =>
    (await api.core.readNamespacedPersistentVolumeClaim({ name, namespace }).catch(() => undefined))
      ? undefined
      : true,
  );
  return sample;
}

async function withController(
  api: Kube,
  label: string,
  strategy: Strategy,
  imageName: string | undefined,
  goldenDir: string,
): Promise<Sample[]> {
  const populatorNs = await createTestNamespace(api, `bench-${label}-populator`);
  // The Pod strategy's pod mounts the golden directory from the node (hostPath).
  await api.core.patchNamespace(
    {
      name: populatorNs,
      body: { metadata: { labels: { "pod-security.kubernetes.io/enforce": "privileged" } } },
    },
    setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
  );
  const userNs = await createTestNamespace(api, `bench-${label}`);
  const controller = await startFastPathController(
    api,
    populatorNs,
    goldenContentPopulator({ goldenHostDir: goldenDir }),
    strategy,
    { maxAttempts: 1 },
    imageName,
  );
  try {
    const samples: Sample[] = [];
    for (let i = 0; i < runs; i++) {
      await dropCaches();
      samples.push(await populateOnce(api, userNs, `${label}-${i}`));
      process.stderr.write(`${label} run ${i + 1}: ${samples.at(-1)?.wallSeconds.toFixed(2)} s\n`);
    }
    return samples;
  } finally {
    await controller.stop();
    await deleteNamespace(api, userNs);
    await deleteNamespace(api, populatorNs);
  }
}

async function main(): Promise<void> {
  const api = kubeFromFile(kubeconfig);
  const goldenDir = path.join(work, "golden");
  await prepareGolden(goldenDir);
  const cachesDropped = await dropCaches();

  const cp: Sample[] = [];
  for (let i = 0; i < runs; i++) {
    const target = path.join(work, `cp-${i}`);
    fs.rmSync(target, { recursive: true, force: true });
    await dropCaches();
    cp.push(
      await measure(() => run("cp", ["-a", path.join(goldenDir, "big"), target]).then(() => undefined)),
    );
    fs.rmSync(target, { recursive: true, force: true });
  }

  await installGoldenContentCrd(api);
  const backend = await startBackendProcess({
    socket: path.join(work, "run", "backend.sock"),
    stateDir,
    goldenDir,
  });
  let fast: Sample[];
  try {
    fast = await withController(api, "fastpath", fastPath(backend.endpoint), undefined, goldenDir);
  } finally {
    await backend.kill();
  }
  // The backend's own measure of moving the data (its "population succeeded" log line), without
  // Kubernetes' provisioning and binding around it: the figure to hold against cp.
  const copySeconds = [...backend.output().matchAll(/"seconds":([\d.]+)[^\n]*population succeeded/g)].map(
    (m) => Number(m[1]),
  );

  const image = await publishProductImage(
    "populator-csi-fastpath",
    process.env.VOLPOP_IMAGE_REGISTRY ?? embeddedRegistry,
  );
  const pod = await withController(api, "pod", podStrategy, image, goldenDir);

  const rows = [
    { method: "cp -a on the host", ...median(cp) },
    { method: "CSI fast path (no pod), PVC created → Bound", ...median(fast) },
    { method: "Pod strategy, PVC created → Bound", ...median(pod) },
  ];
  const fastRow = rows[1] as (typeof rows)[number];
  const copyMedian = [...copySeconds].sort((a, b) => a - b)[Math.floor(copySeconds.length / 2)] ?? Number.NaN;
  const ratios = {
    podOverFastPathWall: (rows[2]?.wallSeconds ?? 0) / fastRow.wallSeconds,
    fastPathOverCpWall: fastRow.wallSeconds / (rows[0]?.wallSeconds ?? 1),
    fastPathCopyOverCp: copyMedian / (rows[0]?.wallSeconds ?? 1),
  };
  const table = [
    `| method | wall (s, median of ${runs}) | node CPU (s) |`,
    "| --- | --- | --- |",
    ...rows.map((r) => `| ${r.method} | ${r.wallSeconds.toFixed(2)} | ${r.nodeCpuSeconds.toFixed(2)} |`),
  ].join("\n");
  const report = `# fastpath: ${sizeMiB} MiB into one volume\n\n${table}\n| fast-path backend's copy alone (its log) | ${copyMedian.toFixed(2)} | |\n\nPod path / fast path (wall): ${ratios.podOverFastPathWall.toFixed(1)}×; fast path / cp (wall, end to end): ${ratios.fastPathOverCpWall.toFixed(2)}×; the backend's copy / cp: ${ratios.fastPathCopyOverCp.toFixed(2)}×. Page cache ${cachesDropped ? "dropped before each run" : "NOT dropped (not allowed here)"}. Fast path and Pod wall times are PVC created → Bound.\n`;
  fs.mkdirSync(path.join(here, "results"), { recursive: true });
  fs.writeFileSync(path.join(here, "results", "fastpath.md"), report);
  fs.writeFileSync(
    path.join(here, "results", "fastpath.json"),
    `${JSON.stringify({ sizeMiB, runs, cachesDropped, rows, ratios, copySeconds, samples: { cp, fast, pod } }, null, 2)}\n`,
  );
  process.stdout.write(report);
}

await main();
