/**
 * Proves the product-image pipeline (packages/images) end to end: bundled with its
 * dependencies into one file, run by the node-base image as user nonroot, in a pod. Prints what it
 * checked, then `ok`; exits non-zero on the first failure.
 */
import dns from "node:dns/promises";
import os from "node:os";
import { KubeConfig, VersionApi } from "@kubernetes/client-node";
import { createLogger } from "@volpop/sdk";
import { pino } from "pino";

const started = performance.now();

// The SDK's logger: pino writing JSON lines to stdout on the main thread.
const log = createLogger({ level: "info", name: "smoke" });
log.info(
  { node: process.version, user: os.userInfo().username, uid: process.getuid?.() },
  "bundled SDK logger",
);

// A pino transport runs in a worker thread, from files the bundle must carry beside main.js.
const viaWorker = pino(
  { base: { logger: "smoke-transport" } },
  pino.transport({ target: "pino/file", options: { destination: 1 } }),
);
viaWorker.info("pino transport in a worker thread");

// glibc's resolver through /etc/nsswitch.conf and /etc/hosts; full ICU; UTF-8 output.
const { address } = await dns.lookup("localhost");
const today = new Intl.DateTimeFormat("zh-CN", { dateStyle: "full" }).format(new Date());
console.log(`localhost is ${address}; ${today}; 你好，世界！`);

// The API server, through the pod's service account (or $KUBECONFIG outside a cluster).
const kubeConfig = new KubeConfig();
if (process.env.KUBERNETES_SERVICE_HOST) kubeConfig.loadFromCluster();
else kubeConfig.loadFromDefault();
const version = await kubeConfig.makeApiClient(VersionApi).getCode();
console.log(`Kubernetes ${version.gitVersion} at ${kubeConfig.getCurrentCluster()?.server}`);

// Let the transport's worker write its line before the last one.
await new Promise<void>((resolve, reject) => viaWorker.flush((error) => (error ? reject(error) : resolve())));
console.log(
  `ok (${Math.round(performance.now() - started)} ms after start, ${Math.round(process.uptime() * 1000)} ms process uptime)`,
);
