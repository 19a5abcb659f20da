import net from "node:net";
import { CustomObjectsApi } from "@kubernetes/client-node";
import { createLogger, type PopulatorProgram, runPopulator } from "@volpop/sdk";
import { createPopulatorController, runWithLeaderElection } from "@volpop/sdk/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  installReferenceGrantCrd,
  TEST_GROUP,
  type TestSourceSpec,
  testPopulator,
} from "../support/test-populator.ts";
import {
  createPvc,
  createTestNamespace,
  deleteNamespace,
  e2eSettings,
  eventsFor,
  JOB_MOUNT_PATH,
  type Kube,
  kube,
  runJob,
  waitFor,
  waitForBound,
} from "./support/kube.ts";
import { kubeconfigPathForTests } from "./support/kubeconfig-path.ts";
import {
  createTestSource,
  preparePopulator,
  startController,
  testSourceRef,
} from "./support/populator-harness.ts";

/** The controller as a process would run it: restarts, progress, metrics endpoint, cross-namespace sources. */
describe("populator controller", () => {
  let api: Kube;
  let populatorNs: string;
  let userNs: string;

  beforeAll(async () => {
    api = kube();
    populatorNs = await preparePopulator(api);
    userNs = await createTestNamespace(api, "sdk-ctl");
  });
  afterAll(async () => {
    if (userNs) await deleteNamespace(api, userNs);
    if (populatorNs) await deleteNamespace(api, populatorNs);
  });

  const filesystemPvc = (
    name: string,
    extra: { dataSourceRef?: ReturnType<typeof testSourceRef> & { namespace?: string } } = {},
  ) =>
    createPvc(api, userNs, name, {
      storageClassName: e2eSettings.immediateStorageClass,
      volumeMode: "Filesystem",
      dataSourceRef: extra.dataSourceRef ?? testSourceRef(name),
    });

  const readFile = (pvc: string, file: string) =>
    runJob(api, userNs, `read-${pvc}`, {
      script: `cat ${JOB_MOUNT_PATH}/${file}`,
      pvc: { claimName: pvc, volumeMode: "Filesystem" },
    });

  it("finishes a population after being restarted mid-way, with one populator pod", async () => {
    const first = await startController(api, populatorNs, {}, "first");
    await createTestSource(api, userNs, "restart", {
      fileName: "r.txt",
      contents: "survived a restart",
      sleepSeconds: 8,
    });
    const pvc = await filesystemPvc("restart");
    const uid = pvc.metadata?.uid ?? "";
    await waitFor("the populator pod to run", async () => {
      const pod = await api.core
        .readNamespacedPod({ name: `populate-${uid}`, namespace: populatorNs })
        .catch(() => undefined);
      return pod?.status?.phase === "Running" ? true : undefined;
    });
    await first.stop();
    const second = await startController(api, populatorNs, {}, "second");
    try {
      await waitForBound(api, userNs, "restart");
      expect(await readFile("restart", "r.txt")).toBe("survived a restart");
      const created = (await eventsFor(api, userNs, "restart")).filter(
        (e) => e.reason === "PopulatorCreated",
      );
      expect(created).toHaveLength(1);
    } finally {
      await second.stop();
    }
  });

  it("shows the populator pod's progress on the PVC", async () => {
    const running = await startController(api, populatorNs, { progressIntervalMs: 1000 });
    try {
      await createTestSource(api, userNs, "progress", {
        fileName: "p",
        contents: "p",
        sleepSeconds: 20,
        reportProgress: true,
      });
      await filesystemPvc("progress");
      const progress = await waitFor("the progress annotation", async () => {
        const pvc = await api.core.readNamespacedPersistentVolumeClaim({
          name: "progress",
          namespace: userNs,
        });
        const value = pvc.metadata?.annotations?.[`${TEST_GROUP}/populate-progress`];
        return value?.includes("%") ? value : undefined;
      });
      expect(progress).toBe("populating: 50% halfway");
      await waitForBound(api, userNs, "progress");
      const done = await api.core.readNamespacedPersistentVolumeClaim({
        name: "progress",
        namespace: userNs,
      });
      expect(done.metadata?.annotations?.[`${TEST_GROUP}/populate-progress`]).toBe("complete");
    } finally {
      await running.stop();
    }
  });

  it("serves metrics, liveness and readiness on --http-endpoint, and stops cleanly", async () => {
    const port = await freePort();
    const program: PopulatorProgram<TestSourceSpec, Record<never, never>> = {
      populator: testPopulator(),
      version: "0.0.0-e2e",
      programName: "test-populator",
      defaults: { namespace: populatorNs },
      populate: async () => undefined,
    };
    const stop = new AbortController();
    const exited = runPopulator(
      program,
      [
        "--mode=controller",
        `--kubeconfig=${kubeconfigPathForTests()}`,
        `--http-endpoint=127.0.0.1:${port}`,
        "--log-level=silent",
      ],
      stop.signal,
    );
    try {
      await createTestSource(api, userNs, "metered", { fileName: "m", contents: "m" });
      await filesystemPvc("metered");
      await waitForBound(api, userNs, "metered");
      const base = `http://127.0.0.1:${port}`;
      const ready = await waitFor("/readyz to answer 200", async () => {
        const response = await fetch(`${base}/readyz`).catch(() => undefined);
        return response?.status === 200 ? response : undefined;
      });
      expect(ready.status).toBe(200);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const metrics = await waitFor("a finished population in the metrics", async () => {
        const text = await (await fetch(`${base}/metrics`)).text();
        return /volume_populator_operation_seconds_count\{result="success",populator="[^"]+"\} [1-9]/.test(
          text,
        )
          ? text
          : undefined;
      });
      expect(metrics).toContain("# HELP volume_populator_operations_in_flight");
      expect(metrics).toContain("process_cpu_seconds_total");
    } finally {
      stop.abort();
    }
    expect(await exited).toBe(0);
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });

  it("uses a source in another namespace only once a ReferenceGrant there allows it", async () => {
    await installReferenceGrantCrd(api.config);
    const sourceNs = await createTestNamespace(api, "sources");
    const running = await startController(api, populatorNs, {
      allowCrossNamespace: true,
      referenceGrantRecheckMs: 1000,
    });
    try {
      await createTestSource(api, sourceNs, "shared", {
        fileName: "shared.txt",
        contents: "shared across namespaces",
      });
      await filesystemPvc("cross", { dataSourceRef: { ...testSourceRef("shared"), namespace: sourceNs } });
      const denied = await waitFor("a PopulatorCrossNamespaceNotGranted event", async () =>
        (await eventsFor(api, userNs, "cross")).find((e) => e.reason === "PopulatorCrossNamespaceNotGranted"),
      );
      expect(denied.message).toContain(`no ReferenceGrant in namespace ${sourceNs}`);
      await api.config.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
        group: "gateway.networking.k8s.io",
        version: "v1beta1",
        namespace: sourceNs,
        plural: "referencegrants",
        body: {
          apiVersion: "gateway.networking.k8s.io/v1beta1",
          kind: "ReferenceGrant",
          metadata: { name: "allow-pvcs" },
          spec: {
            from: [{ group: "", kind: "PersistentVolumeClaim", namespace: userNs }],
            to: [{ group: TEST_GROUP, kind: "TestSource", name: "shared" }],
          },
        },
      });
      await waitForBound(api, userNs, "cross");
      expect(await readFile("cross", "shared.txt")).toBe("shared across namespaces");
    } finally {
      await running.stop();
      await deleteNamespace(api, sourceNs);
    }
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

describe("two populator controllers with leader election", () => {
  it("lets exactly one of them act", async () => {
    const api = kube();
    const populatorNs = await preparePopulator(api);
    const userNs = await createTestNamespace(api, "sdk-le");
    const stop = new AbortController();
    const leaders = new Set<string>();
    const replicas = ["replica-a", "replica-b"].map((identity) => {
      const controller = createPopulatorController({
        populator: testPopulator(),
        kubeConfig: api.config,
        namespace: populatorNs,
        identity,
        logger: createLogger({ name: identity, level: "silent" }),
      });
      return runWithLeaderElection(
        {
          kubeConfig: api.config,
          namespace: populatorNs,
          name: `${TEST_GROUP}-populator`,
          identity,
          leaseDurationMs: 3000,
          renewDeadlineMs: 2000,
          retryPeriodMs: 500,
          signal: stop.signal,
          logger: createLogger({ name: identity, level: "silent" }),
          onChange: (status) => {
            if (status.leading) leaders.add(identity);
          },
        },
        (leading) => controller.run(leading),
      );
    });
    try {
      for (const name of ["one", "two", "three"]) {
        await createTestSource(api, userNs, name, { fileName: "f", contents: name });
        await createPvc(api, userNs, name, {
          storageClassName: e2eSettings.immediateStorageClass,
          volumeMode: "Filesystem",
          dataSourceRef: testSourceRef(name),
        });
      }
      for (const name of ["one", "two", "three"]) await waitForBound(api, userNs, name);
      const actors = new Set<string>();
      for (const name of ["one", "two", "three"]) {
        for (const event of await eventsFor(api, userNs, name)) {
          if (event.reason?.startsWith("Populator")) actors.add(event.reportingInstance ?? "");
        }
      }
      expect(leaders.size).toBe(1);
      expect([...actors]).toEqual([...leaders]);
    } finally {
      stop.abort();
      await Promise.allSettled(replicas);
      await deleteNamespace(api, userNs);
      await deleteNamespace(api, populatorNs);
    }
  });
});
