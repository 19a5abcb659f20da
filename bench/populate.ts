#!/usr/bin/env node
import { spawn } from "node:child_process";
import fs from "node:fs";
import https from "node:https";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { CustomObjectsApi } from "@kubernetes/client-node";
import { layout } from "../test/cluster/config.ts";
import {
  createPvc,
  createTestNamespace,
  deleteNamespace,
  type Kube,
  kubeFromFile,
  waitFor,
} from "../test/support/kube.ts";
import { installTestSourceCrd, TEST_GROUP } from "../test/support/test-populator.ts";
import { percentile, processStats } from "./process-stats.ts";

/**
 * Populates 1, 10 and 50 PVCs at once with the SDK's test populator (controller in its own process)
 * and reports create→Bound latency, API requests per population and the controller's peak RSS and
 * CPU. Designed so a row for upstream's Go hello-populator can sit beside ours later: every figure is
 * measured from outside the controller.
 */
const sizes = (process.env.VOLPOP_BENCH_SIZES ?? "1,10,50").split(",").map(Number);
const kubeconfig = process.env.KUBECONFIG ?? layout.adminKubeconfig;
const storageClass = process.env.VOLPOP_E2E_STORAGE_CLASS ?? "volpop-immediate";
const here = import.meta.dirname;

interface Row {
  implementation: string;
  pvcs: number;
  p50Seconds: number;
  p95Seconds: number;
  apiRequestsPerPopulation: number;
  controllerPeakRssMiB: number;
  controllerCpuSeconds: number;
}

/** Sum of the API server's `apiserver_request_total` counters: requests served since it started. */
async function apiserverRequestTotal(api: Kube): Promise<number> {
  const server = new URL(api.config.getCurrentCluster()?.server ?? "");
  const options: https.RequestOptions = {
    host: server.hostname,
    port: server.port,
    path: "/metrics",
    method: "GET",
  };
  await api.config.applyToHTTPSOptions(options);
  const body = await new Promise<string>((resolve, reject) => {
    const request = https.request(options, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        text += chunk;
      });
      response.on("end", () => resolve(text));
    });
    request.on("error", reject);
    request.end();
  });
  let total = 0;
  for (const line of body.split("\n"))
    if (line.startsWith("apiserver_request_total{")) total += Number(line.split(" ").pop());
  return total;
}

async function runSize(api: Kube, n: number): Promise<Row> {
  const populatorNs = await createTestNamespace(api, "bench-populator");
  const userNs = await createTestNamespace(api, "bench");
  const controller = spawn(
    process.execPath,
    [
      "--conditions=volpop-source",
      path.join(here, "test-populator-controller.ts"),
      "--mode=controller",
      `--kubeconfig=${kubeconfig}`,
      `--namespace=${populatorNs}`,
      "--log-level=warn",
    ],
    { stdio: ["ignore", "inherit", "inherit"] },
  );
  try {
    await sleep(3000);
    const before = await apiserverRequestTotal(api);
    const custom = api.config.makeApiClient(CustomObjectsApi);
    const created = new Map<string, number>();
    await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const name = `p${i}`;
        await custom.createNamespacedCustomObject({
          group: TEST_GROUP,
          version: "v1alpha1",
          namespace: userNs,
          plural: "testsources",
          body: {
            apiVersion: `${TEST_GROUP}/v1alpha1`,
            kind: "TestSource",
            metadata: { name },
            spec: { fileName: "f", contents: `bench ${i}` },
          },
        });
        created.set(name, Date.now());
        await createPvc(api, userNs, name, {
          storageClassName: storageClass,
          volumeMode: "Filesystem",
          dataSourceRef: { apiGroup: TEST_GROUP, kind: "TestSource", name },
        });
      }),
    );
    const bound = new Map<string, number>();
    await waitFor(
      `${n} PVCs to bind`,
      async () => {
        const list = await api.core.listNamespacedPersistentVolumeClaim({ namespace: userNs });
        for (const pvc of list.items) {
          const name = pvc.metadata?.name ?? "";
          if (pvc.status?.phase === "Bound" && !bound.has(name)) bound.set(name, Date.now());
        }
        return bound.size === n ? true : undefined;
      },
      600_000,
    );
    const after = await apiserverRequestTotal(api);
    const latencies = [...bound].map(([name, at]) => (at - (created.get(name) ?? at)) / 1000);
    const stats = processStats(controller.pid ?? 0);
    return {
      implementation: "volpop (TypeScript)",
      pvcs: n,
      p50Seconds: percentile(latencies, 50),
      p95Seconds: percentile(latencies, 95),
      apiRequestsPerPopulation: Math.round((after - before) / n),
      controllerPeakRssMiB: Math.round(stats.peakRssBytes / 1024 / 1024),
      controllerCpuSeconds: stats.cpuSeconds,
    };
  } finally {
    controller.kill("SIGTERM");
    await deleteNamespace(api, userNs);
    await deleteNamespace(api, populatorNs);
  }
}

async function main(): Promise<void> {
  const api = kubeFromFile(kubeconfig);
  await installTestSourceCrd(api.config);
  const rows: Row[] = [];
  for (const n of sizes) {
    process.stderr.write(`[bench] populating ${n} PVC(s)…\n`);
    rows.push(await runSize(api, n));
  }
  const header =
    "| implementation | PVCs | p50 create→Bound (s) | p95 (s) | API requests / population | controller peak RSS (MiB) | controller CPU (s) |";
  const lines = [
    header,
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...rows.map(
      (r) =>
        `| ${r.implementation} | ${r.pvcs} | ${r.p50Seconds.toFixed(1)} | ${r.p95Seconds.toFixed(1)} | ${r.apiRequestsPerPopulation} | ${r.controllerPeakRssMiB} | ${r.controllerCpuSeconds.toFixed(2)} |`,
    ),
  ];
  const report = `# Populate benchmark\n\n${new Date().toISOString()}, ${storageClass}, test populator (busybox pod).\n\n${lines.join("\n")}\n`;
  fs.mkdirSync(path.join(here, "results"), { recursive: true });
  fs.writeFileSync(path.join(here, "results", "populate.md"), report);
  fs.writeFileSync(path.join(here, "results", "populate.json"), `${JSON.stringify(rows, null, 2)}\n`);
  process.stdout.write(report);
}

await main();
