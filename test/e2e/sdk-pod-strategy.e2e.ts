import { populatedFromAnnotation, targetProtectionFinalizer } from "@volpop/sdk/runtime";
import { badInputCase, contained } from "@volpop/test-catalogue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_GROUP } from "../support/test-populator.ts";
import {
  createPvc,
  createTestNamespace,
  deleteNamespace,
  e2eSettings,
  eventsFor,
  JOB_DEVICE_PATH,
  JOB_MOUNT_PATH,
  type Kube,
  kube,
  runJob,
  stillThere,
  waitFor,
  waitForBound,
  waitForNamespaceGone,
} from "./support/kube.ts";
import {
  createTestSource,
  preparePopulator,
  type RunningController,
  startController,
  testSourceRef,
} from "./support/populator-harness.ts";

/** The SDK's Pod strategy end to end, with a small test populator, on a real cluster. */
describe("Pod strategy", () => {
  let api: Kube;
  let populatorNs: string;
  let userNs: string;
  let running: RunningController;

  beforeAll(async () => {
    api = kube();
    populatorNs = await preparePopulator(api);
    userNs = await createTestNamespace(api, "sdk-pod");
    running = await startController(api, populatorNs, {
      retryBaseDelayMs: 1000,
      maxAttempts: 2,
      podStartTimeoutMs: 8000,
    });
  });
  afterAll(async () => {
    // The user namespace goes first, while the controller still runs: given-up populations keep
    // their finalizer until it cleans them up, and a namespace deleted after it stopped would stay
    // Terminating for ever.
    if (userNs) {
      await deleteNamespace(api, userNs);
      await waitForNamespaceGone(api, userNs).catch(() => undefined);
    }
    await running?.stop();
    if (populatorNs) await deleteNamespace(api, populatorNs);
  });

  async function readBack(
    pvcName: string,
    volumeMode: "Filesystem" | "Block",
    fileName: string,
    length: number,
  ) {
    const script =
      volumeMode === "Filesystem"
        ? `cat ${JOB_MOUNT_PATH}/${fileName}`
        : `dd if=${JOB_DEVICE_PATH} bs=1 count=${length} 2>/dev/null`;
    return runJob(api, userNs, `read-${pvcName}`, {
      script,
      pvc: { claimName: pvcName, volumeMode },
      root: volumeMode === "Block",
    });
  }

  async function expectNothingLeft(pvcName: string) {
    const pvc = await api.core.readNamespacedPersistentVolumeClaim({ name: pvcName, namespace: userNs });
    const uid = pvc.metadata?.uid ?? "";
    await waitFor("PVC' and the populator pod to be removed and the finalizer released", async () => {
      const current = await api.core.readNamespacedPersistentVolumeClaim({
        name: pvcName,
        namespace: userNs,
      });
      const prime = await api.core.listNamespacedPersistentVolumeClaim({ namespace: populatorNs });
      const pods = await api.core.listNamespacedPod({ namespace: populatorNs });
      const clean =
        !current.metadata?.finalizers?.includes(targetProtectionFinalizer(TEST_GROUP)) &&
        !prime.items.some((p) => p.metadata?.name === `prime-${uid}`) &&
        !pods.items.some((p) => p.metadata?.name === `populate-${uid}`);
      return clean ? true : undefined;
    });
  }

  /** Reads of PVC' and the populator pod of a PVC. */
  const temporaryReads = (uid: string) => ({
    "PVC'": api.core.readNamespacedPersistentVolumeClaim({ name: `prime-${uid}`, namespace: populatorNs }),
    pod: api.core.readNamespacedPod({ name: `populate-${uid}`, namespace: populatorNs }),
  });
  /** PVC' and the populator pod of a PVC, those that exist. */
  const temporariesOf = (uid: string) => stillThere(temporaryReads(uid));

  /** Deletes the PVC `name` (uid `uid`) and waits until it, PVC', the pod and PVC''s volume are gone. */
  async function deleteAndExpectAllGone(name: string, uid: string) {
    const primeVolume = (
      await api.core.readNamespacedPersistentVolumeClaim({ name: `prime-${uid}`, namespace: populatorNs })
    ).spec?.volumeName;
    await api.core.deleteNamespacedPersistentVolumeClaim({ name, namespace: userNs });
    await waitFor("the PVC, PVC', the pod and PVC''s volume to be gone", async () => {
      const left = await stillThere({
        PVC: api.core.readNamespacedPersistentVolumeClaim({ name, namespace: userNs }),
        ...temporaryReads(uid),
        ...(primeVolume ? { "PVC''s volume": api.core.readPersistentVolume({ name: primeVolume }) } : {}),
      });
      return left.length === 0 ? true : undefined;
    });
  }

  const matrix = [
    { volumeMode: "Filesystem", storageClass: e2eSettings.immediateStorageClass, binding: "Immediate" },
    { volumeMode: "Block", storageClass: e2eSettings.immediateStorageClass, binding: "Immediate" },
    {
      volumeMode: "Filesystem",
      storageClass: e2eSettings.waitForFirstConsumerStorageClass,
      binding: "WaitForFirstConsumer",
    },
    {
      volumeMode: "Block",
      storageClass: e2eSettings.waitForFirstConsumerStorageClass,
      binding: "WaitForFirstConsumer",
    },
  ] as const;

  it.each(matrix)(
    "populates a $volumeMode volume with $binding binding",
    async ({ volumeMode, storageClass, binding }) => {
      const name = `${volumeMode === "Block" ? "blk" : "fs"}-${binding === "Immediate" ? "imm" : "wffc"}`;
      const contents = `populated ${name} at ${Date.now()}`;
      await createTestSource(api, userNs, name, { fileName: "data.txt", contents });
      await createPvc(api, userNs, name, {
        storageClassName: storageClass,
        volumeMode,
        dataSourceRef: testSourceRef(name),
      });
      // For WaitForFirstConsumer the reading Job is the consumer that triggers the population.
      const log = await readBack(name, volumeMode, "data.txt", contents.length);
      expect(log).toBe(contents);

      const pvc = await waitForBound(api, userNs, name);
      const pv = await api.core.readPersistentVolume({ name: pvc.spec?.volumeName ?? "" });
      expect(pv.metadata?.annotations?.[populatedFromAnnotation(TEST_GROUP)]).toBe(`${userNs}/${name}`);
      await expectNothingLeft(name);
      const events = await eventsFor(api, userNs, name);
      const reasons = events.map((e) => e.reason);
      expect(reasons).toContain("PopulatorCreated");
      expect(reasons).toContain("PopulatorFinished");
      // A clean run reads clean: no Warning (the PV controller's ClaimMisbound about PVC' after the
      // hand-over is not repeated), and PVC''s routine provisioning events stay on PVC'. A data-source
      // validator installed in the cluster (the demo's, an operator's) warns about this suite's kind,
      // which no VolumePopulator registers: that one is not the population's doing.
      const warnings = events.filter(
        (e) => e.type === "Warning" && e.reason !== "UnrecognizedDataSourceKind",
      );
      expect(warnings.map((e) => `${e.reason}: ${e.message}`)).toEqual([]);
      expect(events.filter((e) => e.message?.includes(`(on PVC' ${populatorNs}/`))).toEqual([]);
    },
  );

  badInputCase(
    {
      id: "sdk-e2e-missing-source",
      component: "sdk",
      input: "a PVC whose dataSourceRef names a source that does not exist (yet)",
      expected:
        "Warning PopulatorDataSourceNotFound: TestSource <ns>/late not found; populated once it is created",
      checks: ["pvc-kept"],
    },
    async () => {
      await createPvc(api, userNs, "late", {
        storageClassName: e2eSettings.immediateStorageClass,
        volumeMode: "Filesystem",
        dataSourceRef: testSourceRef("late"),
      });
      const warning = await waitFor("a PopulatorDataSourceNotFound event", async () =>
        (await eventsFor(api, userNs, "late")).find((e) => e.reason === "PopulatorDataSourceNotFound"),
      );
      expect(warning.type).toBe("Warning");
      expect(warning.message).toContain(`TestSource ${userNs}/late not found`);
      await createTestSource(api, userNs, "late", { fileName: "late.txt", contents: "better late" });
      await contained("pvc-kept", async () =>
        expect(await readBack("late", "Filesystem", "late.txt", 0)).toBe("better late"),
      );
    },
  );

  it("removes every temporary object when the PVC is deleted mid-population", async () => {
    await createTestSource(api, userNs, "doomed", {
      fileName: "x",
      contents: "never seen",
      sleepSeconds: 600,
    });
    const created = await createPvc(api, userNs, "doomed", {
      storageClassName: e2eSettings.immediateStorageClass,
      volumeMode: "Filesystem",
      dataSourceRef: testSourceRef("doomed"),
    });
    const uid = created.metadata?.uid ?? "";
    await waitFor("the populator pod to run", async () => {
      const pod = await api.core
        .readNamespacedPod({ name: `populate-${uid}`, namespace: populatorNs })
        .catch(() => undefined);
      return pod?.status?.phase === "Running" ? true : undefined;
    });
    await deleteAndExpectAllGone("doomed", uid);
  });

  it("retries a failing populator pod, then gives up and says so on the PVC", async () => {
    await createTestSource(api, userNs, "broken", { fileName: "x", contents: "y", failWith: 3 });
    await createPvc(api, userNs, "broken", {
      storageClassName: e2eSettings.immediateStorageClass,
      volumeMode: "Filesystem",
      dataSourceRef: testSourceRef("broken"),
    });
    const givingUp = await waitFor("the terminal PopulatorFailed event", async () =>
      (await eventsFor(api, userNs, "broken")).find(
        (e) => e.reason === "PopulatorFailed" && e.message?.includes("giving up"),
      ),
    );
    expect(givingUp.message).toContain("failed 2 times");
    expect(givingUp.message).toContain("populator failing on purpose with 3");
    const failures = (await eventsFor(api, userNs, "broken")).filter((e) => e.reason === "PopulatorFailed");
    expect(failures.some((e) => e.message?.includes("attempt 1 of 2"))).toBe(true);
    const pvc = await api.core.readNamespacedPersistentVolumeClaim({ name: "broken", namespace: userNs });
    expect(pvc.status?.phase).toBe("Pending");
    expect(pvc.metadata?.annotations?.[`${TEST_GROUP}/populate-progress`]).toMatch(
      /^failed: populator failing on purpose/,
    );
  });

  it("retries a populator pod killed for running out of memory, says so plainly, gives up, and leaves nothing once the PVC goes", async () => {
    // 128 MiB held under a 32Mi limit: the kernel kills the pod at every attempt (see holdMemory).
    await createTestSource(api, userNs, "oom", {
      fileName: "x",
      contents: "y",
      memoryLimit: "32Mi",
      allocateMiB: 128,
    });
    const created = await createPvc(api, userNs, "oom", {
      storageClassName: e2eSettings.immediateStorageClass,
      volumeMode: "Filesystem",
      dataSourceRef: testSourceRef("oom"),
    });
    const uid = created.metadata?.uid ?? "";
    const givingUp = await waitFor("the terminal PopulatorFailed event", async () =>
      (await eventsFor(api, userNs, "oom")).find(
        (e) => e.reason === "PopulatorFailed" && e.message?.includes("giving up"),
      ),
    );
    const outOfMemory =
      "out of memory: the populator's container was killed at its memory limit of 32Mi (OOMKilled, exit code 137)";
    expect(givingUp.message).toContain(`Populator pod failed 2 times, giving up: ${outOfMemory}`);
    const events = await eventsFor(api, userNs, "oom");
    const first = events.find((e) => e.reason === "PopulatorFailed" && e.message?.includes("attempt 1 of 2"));
    expect(first?.message).toContain(`(attempt 1 of 2): ${outOfMemory}`);
    // Retried: a second pod, announced on the PVC as the first was (the recorder counts repeats).
    const announced = events
      .filter((e) => e.reason === "PopulatorCreated")
      .reduce((sum, e) => sum + (e.count ?? 1), 0);
    expect(announced, "populator pods announced on the PVC").toBe(2);
    const pvc = await api.core.readNamespacedPersistentVolumeClaim({ name: "oom", namespace: userNs });
    expect(pvc.status?.phase).toBe("Pending");
    expect(pvc.metadata?.annotations?.[`${TEST_GROUP}/populate-progress`]).toMatch(
      /^failed: out of memory: /,
    );
    // Given up: the last pod goes at once (retainOnFailure is off); PVC' stays until the PVC goes.
    await waitFor("the given-up populator pod to be deleted", async () =>
      (await temporariesOf(uid)).includes("pod") ? undefined : true,
    );
    await deleteAndExpectAllGone("oom", uid);
  });

  badInputCase(
    {
      id: "sdk-e2e-unpullable-image",
      component: "sdk",
      input: "a source whose populator image can never be pulled (a .invalid registry)",
      expected:
        "Warning PopulatorPodNotStarting, then PopulatorFailed: failed 2 times, giving up: it cannot start: ErrImagePull",
      checks: ["no-leftovers"],
    },
    async () => {
      // `.invalid` never resolves (RFC 2606): the kubelet reports ErrImagePull, then ImagePullBackOff.
      await createTestSource(api, userNs, "unpullable", {
        fileName: "x",
        contents: "y",
        image: "registry.volpop.invalid/no-such-image:1",
      });
      const created = await createPvc(api, userNs, "unpullable", {
        storageClassName: e2eSettings.immediateStorageClass,
        volumeMode: "Filesystem",
        dataSourceRef: testSourceRef("unpullable"),
      });
      const prime = `prime-${created.metadata?.uid}`;
      const givingUp = await waitFor(
        "the terminal PopulatorFailed event",
        async () =>
          (await eventsFor(api, userNs, "unpullable")).find(
            (e) => e.reason === "PopulatorFailed" && e.message?.includes("giving up"),
          ),
        120_000,
      );
      expect(givingUp.message).toMatch(
        /failed 2 times, giving up: it cannot start: (ErrImagePull|ImagePullBackOff)/,
      );
      const notStarting = (await eventsFor(api, userNs, "unpullable")).filter(
        (e) => e.reason === "PopulatorPodNotStarting",
      );
      expect(notStarting.length).toBeGreaterThan(0);
      expect(notStarting[0]?.message).toContain("registry.volpop.invalid/no-such-image:1");
      // Given up: no pod is left pulling for ever.
      await contained("no-leftovers", () =>
        waitFor("the last populator pod to be deleted", async () => {
          const pods = await api.core.listNamespacedPod({ namespace: populatorNs });
          return pods.items.some((p) => p.spec?.containers[0]?.image?.includes("no-such-image"))
            ? undefined
            : true;
        }),
      );
      await api.core.deleteNamespacedPersistentVolumeClaim({ name: "unpullable", namespace: userNs });
      await contained("no-leftovers", () =>
        waitFor("PVC' of the given-up population to be removed", async () => {
          const primes = await api.core.listNamespacedPersistentVolumeClaim({ namespace: populatorNs });
          const gone = await api.core
            .readNamespacedPersistentVolumeClaim({ name: "unpullable", namespace: userNs })
            .then(
              () => false,
              () => true,
            );
          return gone && !primes.items.some((p) => p.metadata?.name === prime) ? true : undefined;
        }),
      );
    },
  );

  badInputCase(
    {
      id: "sdk-e2e-volume-too-small",
      component: "sdk",
      input: "a 16Mi Block PVC for a source that writes 64 MiB",
      expected: "Warning PopulatorFailed: No space left on device (the pod's own error)",
      checks: ["no-handover"],
    },
    async () => {
      await createTestSource(api, userNs, "too-big", { fileName: "x", contents: "y", extraMiB: 64 });
      await createPvc(api, userNs, "too-big", {
        storageClassName: e2eSettings.immediateStorageClass,
        volumeMode: "Block",
        size: "16Mi",
        dataSourceRef: testSourceRef("too-big"),
      });
      const failed = await waitFor("a PopulatorFailed event", async () =>
        (await eventsFor(api, userNs, "too-big")).find((e) => e.reason === "PopulatorFailed"),
      );
      expect(failed.type).toBe("Warning");
      expect(failed.message).toMatch(/No space left on device/);
      await contained("no-handover", async () => {
        const pvc = await api.core.readNamespacedPersistentVolumeClaim({
          name: "too-big",
          namespace: userNs,
        });
        expect(pvc.status?.phase).toBe("Pending");
      });
    },
  );

  badInputCase(
    {
      id: "sdk-e2e-invalid-source",
      component: "sdk",
      input: "a source whose spec the populator refuses (fileName ../escape)",
      expected: "Warning PopulatorDataSourceInvalid: spec.fileName must be a plain file name",
      checks: ["nothing-created"],
    },
    async () => {
      await createTestSource(api, userNs, "invalid", { fileName: "../escape", contents: "x" });
      await createPvc(api, userNs, "invalid", {
        storageClassName: e2eSettings.immediateStorageClass,
        volumeMode: "Filesystem",
        dataSourceRef: testSourceRef("invalid"),
      });
      const event = await waitFor("a PopulatorDataSourceInvalid event", async () =>
        (await eventsFor(api, userNs, "invalid")).find((e) => e.reason === "PopulatorDataSourceInvalid"),
      );
      expect(event.message).toContain("spec.fileName must be a plain file name");
      const pvc = await api.core.readNamespacedPersistentVolumeClaim({ name: "invalid", namespace: userNs });
      await contained("nothing-created", async () => {
        expect(pvc.metadata?.finalizers ?? []).not.toContain(targetProtectionFinalizer(TEST_GROUP));
        expect(await temporariesOf(pvc.metadata?.uid ?? "")).toEqual([]);
      });
    },
  );

  badInputCase(
    {
      id: "sdk-e2e-other-kinds",
      component: "sdk",
      input: "PVCs naming another kind of the populator's group, and its kind under another group",
      expected: "left alone: no Populator event, no finalizer",
      checks: ["nothing-created"],
    },
    async () => {
      for (const [name, ref] of [
        ["other-kind", { apiGroup: TEST_GROUP, kind: "OtherSource", name: "x" }],
        ["other-group", { apiGroup: "elsewhere.example.com", kind: "TestSource", name: "x" }],
      ] as const) {
        await createPvc(api, userNs, name, {
          storageClassName: e2eSettings.immediateStorageClass,
          volumeMode: "Filesystem",
          dataSourceRef: ref,
        });
      }
      // A PVC of ours created afterwards completes, so the controller has seen the two before it.
      await createTestSource(api, userNs, "marker", { fileName: "m", contents: "m" });
      await createPvc(api, userNs, "marker", {
        storageClassName: e2eSettings.immediateStorageClass,
        volumeMode: "Filesystem",
        dataSourceRef: testSourceRef("marker"),
      });
      await waitForBound(api, userNs, "marker");
      for (const name of ["other-kind", "other-group"]) {
        const pvc = await api.core.readNamespacedPersistentVolumeClaim({ name, namespace: userNs });
        expect(pvc.metadata?.finalizers ?? []).toEqual(["kubernetes.io/pvc-protection"]);
        expect((await eventsFor(api, userNs, name)).filter((e) => e.reason?.startsWith("Populator"))).toEqual(
          [],
        );
        await contained("nothing-created", async () =>
          expect(await temporariesOf(pvc.metadata?.uid ?? "")).toEqual([]),
        );
      }
    },
  );

  badInputCase(
    {
      id: "sdk-e2e-ref-without-name",
      component: "sdk",
      input: "a PVC whose dataSourceRef has an empty name",
      expected: "API rejection: spec.dataSourceRef.name: Required value",
      checks: ["nothing-created"],
    },
    async () => {
      await expect(
        createPvc(api, userNs, "no-name", {
          storageClassName: e2eSettings.immediateStorageClass,
          volumeMode: "Filesystem",
          dataSourceRef: { apiGroup: TEST_GROUP, kind: "TestSource", name: "" },
        }),
      ).rejects.toThrow(/dataSourceRef.name: Required value/);
      const stored = api.core.readNamespacedPersistentVolumeClaim({ name: "no-name", namespace: userNs });
      await contained("nothing-created", async () => expect(await stillThere({ stored })).toEqual([]));
    },
  );

  it("counts finished populations in its metrics", async () => {
    const text = await running.registry.metrics();
    const successes = Number(
      text.match(
        /volume_populator_operation_seconds_count\{result="success",populator="[^"]+"\} (\d+)/,
      )?.[1] ?? 0,
    );
    expect(successes).toBeGreaterThanOrEqual(matrix.length);
    expect(text).toMatch(
      /volume_populator_operation_seconds_count\{result="failed",populator="[^"]+"\} [1-9]/,
    );
    expect(text).toContain("volume_populator_operations_in_flight");
  });
});
