import { type ChildProcess, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { CustomObjectsApi } from "@kubernetes/client-node";
import { createLogger, type PopulationSettings, type Populator, type Strategy } from "@volpop/sdk";
import { BackendClient, csiFastPathStrategy, parseEndpoint } from "@volpop/sdk/fastpath";
import { createPopulatorController } from "@volpop/sdk/runtime";
import { Registry } from "prom-client";
import { inject } from "vitest";
import { layout } from "../../cluster/config.ts";
import { applyCrdFile } from "../../support/crd.ts";
import { type Kube, waitFor } from "./kube.ts";
import type { RunningController } from "./populator-harness.ts";

const repoRoot = path.resolve(import.meta.dirname, "../../..");

/**
 * Where the hostpath CSI driver keeps its volumes, which the reference backend fills: on the embedded
 * cluster it is ours; on another cluster, say where it is (and run the tests on that node). Empty
 * when unknown: the suites that need it are skipped.
 */
export function hostpathStateDir(): string {
  return process.env.VOLPOP_E2E_HOSTPATH_STATE_DIR ?? (inject("embeddedCluster") ? layout.csiStateDir : "");
}

/** The reference backend daemon as its own process, so that tests can kill it. */
export interface BackendProcess {
  readonly endpoint: string;
  readonly socket: string;
  /** Everything it logged, for failure messages. */
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface BackendProcessOptions {
  readonly socket: string;
  readonly stateDir: string;
  readonly goldenDir: string;
  readonly driverName?: string;
  readonly maxBytesPerSecond?: string;
  /** The node whose volumes it reaches (a node-local backend, one per node as a DaemonSet runs it). */
  readonly nodeName?: string;
}

export async function startBackendProcess(options: BackendProcessOptions): Promise<BackendProcess> {
  const args = [
    "--conditions=volpop-source",
    path.join(repoRoot, "packages/populator-csi-fastpath/src/backend-main.ts"),
    `--endpoint=unix://${options.socket}`,
    `--state-dir=${options.stateDir}`,
    `--golden-dir=${options.goldenDir}`,
    ...(options.driverName ? [`--driver-name=${options.driverName}`] : []),
    ...(options.maxBytesPerSecond ? [`--max-bytes-per-second=${options.maxBytesPerSecond}`] : []),
    ...(options.nodeName ? [`--node-name=${options.nodeName}`] : []),
  ];
  await fs.rm(options.socket, { force: true });
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const exited = once(child, "exit");
  await waitFor(
    `the fast-path backend to listen on ${options.socket}`,
    async () => {
      if (child.exitCode !== null) throw new Error(`backend exited with ${child.exitCode}:\n${output}`);
      return (await fs.stat(options.socket).catch(() => undefined))?.isSocket() ? true : undefined;
    },
    30_000,
  );
  return {
    endpoint: `unix://${options.socket}`,
    socket: options.socket,
    output: () => output,
    async kill(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        await exited;
      }
    },
  };
}

/**
 * How many copies the backend started for the operation `operationId` (the user PVC's uid), from its
 * log: it logs `population started` once per copy it begins, never for a Populate it answers with an
 * operation it already has.
 */
export function populationsStarted(backend: BackendProcess, operationId: string): number {
  return backend
    .output()
    .split("\n")
    .map(logEntry)
    .filter((entry) => entry?.msg === "population started" && entry.operationId === operationId).length;
}

/** A JSON log line's fields; undefined for anything else (a line still being written, plain text). */
function logEntry(line: string): { msg?: unknown; operationId?: unknown } | undefined {
  try {
    const entry: unknown = JSON.parse(line);
    return typeof entry === "object" && entry !== null ? entry : undefined;
  } catch {
    return undefined;
  }
}

/** Hands a tree to `uid`, as an operator lets a populator pod's non-root user read golden content. */
export async function chownTree(root: string, uid: number): Promise<void> {
  await fs.lchown(root, uid, uid);
  for (const entry of await fs.readdir(root, { recursive: true }))
    await fs.lchown(path.join(root, entry), uid, uid);
}

/** Golden content on the node: a small tree, a block image, and a big file for slow populations. */
export interface GoldenStore {
  readonly dir: string;
  /** `sha256  ./path` lines of the tree named `name`, as `sha256sum` prints them, sorted by path. */
  checksums(name: string): Promise<string>;
}

export async function writeGoldenStore(dir: string, bigMiB: number): Promise<GoldenStore> {
  await fs.mkdir(path.join(dir, "tree/data"), { recursive: true });
  await fs.writeFile(path.join(dir, "tree/hello.txt"), "Hello from the fast path\n", { mode: 0o640 });
  await fs.writeFile(path.join(dir, "tree/data/random.bin"), randomBytes(3 * 1024 * 1024));
  await fs.writeFile(path.join(dir, "tree/data/empty"), "");
  await fs.symlink("hello.txt", path.join(dir, "tree/link")).catch(() => undefined);
  await fs.writeFile(path.join(dir, "disk.img"), randomBytes(4 * 1024 * 1024));
  await fs.mkdir(path.join(dir, "big"), { recursive: true });
  const big = await fs.open(path.join(dir, "big/blob.bin"), "w");
  // Random, so that no copy can skip it as holes.
  for (let i = 0; i < bigMiB; i++) await big.write(randomBytes(1024 * 1024));
  await big.close();
  return {
    dir,
    async checksums(name: string) {
      const root = path.join(dir, name);
      const files = (await fs.readdir(root, { recursive: true, withFileTypes: true }))
        .filter((e) => e.isFile())
        .map((e) => `./${path.relative(root, path.join(e.parentPath, e.name))}`)
        .sort();
      const lines = await Promise.all(
        files.map(
          async (f) =>
            `${createHash("sha256")
              .update(await fs.readFile(path.join(root, f)))
              .digest("hex")}  ${f}`,
        ),
      );
      return `${lines.join("\n")}\n`;
    },
  };
}

export function sha256(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Installs the GoldenContent CRD from the package's manifest (idempotent) and waits until it is served. */
export function installGoldenContentCrd(api: Kube): Promise<void> {
  return applyCrdFile(api.config, path.join(repoRoot, "packages/populator-csi-fastpath/deploy/crd.yaml"));
}

export async function createGoldenContent(api: Kube, namespace: string, name: string, content: string) {
  await api.config.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    group: "fastpath.volpop.dev",
    version: "v1alpha1",
    namespace,
    plural: "goldencontents",
    body: {
      apiVersion: "fastpath.volpop.dev/v1alpha1",
      kind: "GoldenContent",
      metadata: { name },
      spec: { content },
    },
  });
}

export function goldenContentRef(name: string) {
  return { apiGroup: "fastpath.volpop.dev", kind: "GoldenContent", name };
}

/** A populator controller in the test process with the fast-path strategy. */
export async function startFastPathController<Spec>(
  api: Kube,
  namespace: string,
  populator: Populator<Spec>,
  strategy: Strategy,
  settings: Partial<Omit<PopulationSettings, "namespace" | "imageName">> = {},
  imageName?: string,
): Promise<RunningController> {
  const registry = new Registry();
  const controller = createPopulatorController({
    populator,
    kubeConfig: api.config,
    namespace,
    ...(imageName ? { imageName } : {}),
    settings: { progressIntervalMs: 1000, retryBaseDelayMs: 1000, ...settings },
    registry,
    strategy,
    identity: "e2e-fastpath",
    logger: createLogger({
      name: "e2e-fastpath",
      level: (process.env.VOLPOP_E2E_LOG_LEVEL as "info") ?? "silent",
    }),
  });
  const abort = new AbortController();
  const running = controller.run(abort.signal);
  // Give the watches time to sync, so tests start against a ready controller.
  await waitFor("the controller to be ready", async () =>
    controller.readyz().every((c) => c.ok) ? true : undefined,
  );
  return {
    controller,
    registry,
    async stop() {
      abort.abort();
      await running;
    },
  };
}

export function fastPath(endpoint: string): Strategy {
  return csiFastPathStrategy({ backends: [{ endpoint }], pollIntervalMs: 200, infoRefreshMs: 1000 });
}

/** A reference backend serving one golden tree, with its client: a storage API for the function strategy. */
export interface GoldenBackend {
  readonly golden: GoldenStore;
  readonly backend: BackendProcess;
  readonly client: BackendClient;
  /** Closes the client, stops the backend and removes its files. */
  stop(): Promise<void>;
}

/**
 * Starts a {@link GoldenBackend} in a temporary directory named after `suite`, and installs the
 * GoldenContent CRD. `maxBytesPerSecond` slows its copies down (see BackendProcessOptions).
 */
export async function startGoldenBackend(
  api: Kube,
  suite: string,
  options: Pick<BackendProcessOptions, "maxBytesPerSecond"> = {},
): Promise<GoldenBackend> {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), `volpop-${suite}-e2e-`));
  const golden = await writeGoldenStore(path.join(work, "golden"), 1);
  const backend = await startBackendProcess({
    socket: path.join(work, "run/backend.sock"),
    stateDir: hostpathStateDir(),
    goldenDir: golden.dir,
    ...options,
  });
  const client = new BackendClient({ endpoint: parseEndpoint(backend.endpoint) });
  await installGoldenContentCrd(api);
  return {
    golden,
    backend,
    client,
    async stop() {
      client.close();
      await backend.kill();
      await fs.rm(work, { recursive: true, force: true });
    },
  };
}
