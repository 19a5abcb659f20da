import { execFile } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import {
  ApiextensionsV1Api,
  AppsV1Api,
  CoordinationV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  RbacAuthorizationV1Api,
  setHeaderOptions,
  type V1ClusterRole,
  type V1CustomResourceDefinition,
  type V1Deployment,
  V1MicroTime,
} from "@kubernetes/client-node";
import { createLogger } from "@volpop/sdk";
import {
  type DoctorReport,
  doctorCluster,
  doctorPvc,
  type Finding,
  FindingCode,
  type VolumePopulatorObject,
} from "@volpop/sdk/doctor";
import {
  addPopulator,
  createManager,
  DEFAULT_LEASE_DURATION_MS,
  DEFAULT_RENEW_DEADLINE_MS,
  DEFAULT_RETRY_PERIOD_MS,
  targetProtectionFinalizer,
  volumePopulatorName,
} from "@volpop/sdk/runtime";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parse } from "yaml";
import { type ControllerProcess, startControllerProcess } from "../reliability/support/controller-process.ts";
import {
  installReferenceGrantCrd,
  installSchemalessCrd,
  installTestSourceCrd,
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
  type Kube,
  kube,
  waitFor,
  waitForBound,
  waitForNamespaceGone,
} from "./support/kube.ts";
import { kubeconfigPathForTests } from "./support/kubeconfig-path.ts";
import { createTestSource, preparePopulator, testSourceRef } from "./support/populator-harness.ts";

/**
 * `volpop doctor` against real stuck PVCs: the suite makes one PVC stuck in each way doctor claims to
 * recognise (a missing source, no controller, a Lease nobody renews, a quota, a LimitRange and Pod
 * Security refusing what the controller creates, an image that cannot be pulled, a PV gone to another
 * claim…), with the test populator's controller running in this process under leader election, and
 * checks that doctor names each with its finding code and plain words. Two more controllers, of kinds
 * of their own and without leader election, run as processes stopped dead at a failpoint (the SDK's
 * failpoints.ts): one right after it took a PVC in hand, one after a population, before its clean-up.
 * Doctor runs in-process (`doctorPvc`, `doctorCluster`) and through the real `volpop` binary, once as
 * a user holding only the ClusterRole of docs/doctor-rbac.yaml.
 */

const execFileAsync = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, "../..");
const VOLPOP_BIN = path.resolve(import.meta.dirname, "../../packages/sdk/src/bin/volpop.ts");
const DOCTOR_RBAC = path.resolve(import.meta.dirname, "../../docs/doctor-rbac.yaml");
const VOLUME_POPULATOR_CRD = path.resolve(import.meta.dirname, "../../packages/validator/deploy/crd.yaml");

const suffix = randomBytes(3).toString("hex");
/** An API group the API server does not serve (no CRD), which a stale VolumePopulator registers. */
const NOTHING_GROUP = `nothing-${suffix}.doctor.e2e.volpop.dev`;
/** A kind whose CRD is installed but no controller serves, nor any VolumePopulator registers. */
const IDLE = {
  group: `idle-${suffix}.doctor.e2e.volpop.dev`,
  version: "v1alpha1",
  kind: "IdleSource",
  plural: "idlesources",
};
/** A kind registered, whose Lease names a controller that stopped renewing it and now crash-loops. */
const STALE = {
  group: `stale-${suffix}.doctor.e2e.volpop.dev`,
  version: "v1alpha1",
  kind: "StaleSource",
  plural: "stalesources",
};
/** A kind of the test populator's own group that its controller, leading, does not serve. */
const OTHER = { group: TEST_GROUP, version: "v1alpha1", kind: "OtherSource", plural: "othersources" };
/** TestSources of a controller process stopped right after it took a PVC in hand (no Lease). */
const HALTED = testPopulator(undefined, `halted-${suffix}.doctor.e2e.volpop.dev`).source;
/** TestSources of a controller process stopped after a population, before its clean-up (no Lease). */
const FINISHING = testPopulator(undefined, `finishing-${suffix}.doctor.e2e.volpop.dev`).source;
/** A finalizer of this suite's own, which keeps a deleted PVC until the suite removes it. */
const HOLD = `doctor-${suffix}.e2e.volpop.dev/hold`;
/** What PVC' may request at most in the populator's namespace (a LimitRange). */
const PVC_SIZE_LIMIT = "20Mi";
/** A PV made by hand for the PVC `lost`, later pointed at another claim. */
const LOST_PV = `doctor-lost-${suffix}`;
/** The data-source validator's Deployment, ours and upstream's: what `doctor cluster` looks for. */
const VALIDATOR = "volume-data-source-validator";
const VOLUME_POPULATORS = {
  group: "populator.storage.k8s.io",
  version: "v1beta1",
  plural: "volumepopulators",
};
const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
/** A user holding only the doctor's ClusterRole (and `get` on TestSources), impersonated. */
const DOCTOR_USER = `volpop-doctor-e2e-${suffix}`;
/** A provisioner nobody runs: PVCs of its classes never get a volume. */
const ABSENT_PROVISIONER = `absent-${suffix}.doctor.e2e.volpop.dev`;
const classes = {
  noProvisioner: `doctor-noprov-${suffix}`,
  quota: `doctor-quota-${suffix}`,
  inTree: `doctor-intree-${suffix}`,
  missing: `doctor-missing-${suffix}`,
};

describe("volpop doctor", () => {
  let api: Kube;
  let populatorNs: string;
  let userNs: string;
  let sourceNs: string;
  /** Where the two stopped controllers keep PVC' and their pods. */
  let stoppedNs: string;
  let halted: ControllerProcess | undefined;
  let finishing: ControllerProcess | undefined;
  let running: Promise<void> | undefined;
  const stop = new AbortController();
  let createdVolumePopulatorCrd = false;
  /** The name of the doctor's ClusterRole, if this suite created it. */
  let createdDoctorRole = "";
  const volumePopulators: string[] = [];

  const custom = () => api.config.makeApiClient(CustomObjectsApi);
  const rbac = () => api.config.makeApiClient(RbacAuthorizationV1Api);

  /** doctor pvc, in this process. */
  const diagnose = (name: string, kubeConfig = api.config, namespace = userNs) =>
    doctorPvc(kubeConfig, { namespace, name });

  /**
   * Runs doctor on `name` until a finding with `code` shows (and `ready` accepts it): each PVC gets
   * stuck in its own time, and what doctor can say grows as the controller records events.
   */
  async function diagnoseUntil(
    name: string,
    code: string,
    ready: (finding: Finding) => boolean = () => true,
    timeoutMs = 120_000,
  ): Promise<{ report: DoctorReport; finding: Finding }> {
    let last: DoctorReport | undefined;
    try {
      return await waitFor(
        `doctor to report ${code} on ${name}`,
        async () => {
          const report = await diagnose(name);
          last = report;
          const finding = report.findings.find((f) => f.code === code && ready(f));
          return finding ? { report, finding } : undefined;
        },
        timeoutMs,
      );
    } catch (error) {
      throw new Error(`${String(error)}; last report: ${JSON.stringify(last?.findings, null, 2)}`);
    }
  }

  /** The real `volpop` binary, from source. */
  async function volpop(...args: string[]): Promise<{ code: number; stdout: string }> {
    try {
      const { stdout } = await execFileAsync(
        process.execPath,
        [VOLPOP_BIN, ...args, `--kubeconfig=${kubeconfigPathForTests()}`],
        {
          cwd: repoRoot,
          env: { ...process.env, NO_COLOR: "1" },
          maxBuffer: 16 * 1024 * 1024,
        },
      );
      return { code: 0, stdout };
    } catch (error) {
      const failed = error as { code?: unknown; stdout?: string; stderr?: string };
      if (typeof failed.code !== "number") throw error;
      return { code: failed.code, stdout: `${failed.stdout ?? ""}${failed.stderr ?? ""}` };
    }
  }

  async function registerKind(name: string, group: string, kind: string): Promise<void> {
    await custom().createClusterCustomObject({
      group: "populator.storage.k8s.io",
      version: "v1beta1",
      plural: "volumepopulators",
      body: {
        apiVersion: "populator.storage.k8s.io/v1beta1",
        kind: "VolumePopulator",
        metadata: { name },
        sourceKind: { group, kind },
      },
    });
    volumePopulators.push(name);
  }

  async function source(kind: typeof IDLE, namespace: string, name: string): Promise<void> {
    await custom().createNamespacedCustomObject({
      group: kind.group,
      version: kind.version,
      namespace,
      plural: kind.plural,
      body: { apiVersion: `${kind.group}/${kind.version}`, kind: kind.kind, metadata: { name }, spec: {} },
    });
  }

  /** Removes `finalizer` from PVC `name` of the user namespace, if both are there. */
  async function releaseFinalizer(name: string, finalizer: string): Promise<void> {
    await api.core
      .patchNamespacedPersistentVolumeClaim(
        {
          name,
          namespace: userNs,
          body: { metadata: { "$deleteFromPrimitiveList/finalizers": [finalizer] } },
        },
        setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
      )
      .catch((error: { code?: number }) => {
        if (error.code !== 404) throw error;
      });
  }

  /** A PV made by hand for PVC `lost` (no provisioner; nothing ever mounts it), and the PVC. */
  async function lostClaim(): Promise<void> {
    await api.core.createPersistentVolume({
      body: {
        metadata: { name: LOST_PV },
        spec: {
          capacity: { storage: "16Mi" },
          accessModes: ["ReadWriteOnce"],
          persistentVolumeReclaimPolicy: "Retain",
          storageClassName: "",
          volumeMode: "Filesystem",
          csi: { driver: ABSENT_PROVISIONER, volumeHandle: "lost" },
          claimRef: { namespace: userNs, name: "lost" },
        },
      },
    });
    await api.core.createNamespacedPersistentVolumeClaim({
      namespace: userNs,
      body: {
        metadata: { name: "lost" },
        spec: {
          accessModes: ["ReadWriteOnce"],
          resources: { requests: { storage: "16Mi" } },
          storageClassName: "",
          volumeMode: "Filesystem",
          volumeName: LOST_PV,
        },
      },
    });
  }

  /** A controller process for `kind`'s TestSources, stopped dead at `failpoint` when it gets there. */
  function stoppedController(kind: typeof HALTED, failpoint: string): ControllerProcess {
    // It registers its kind with a VolumePopulator, which the suite removes afterwards.
    volumePopulators.push(volumePopulatorName(kind));
    return startControllerProcess({
      kubeconfig: kubeconfigPathForTests(),
      namespace: stoppedNs,
      failpoints: [failpoint],
      program: { strategy: "pod", group: kind.group },
    });
  }

  /** A PVC of the user namespace naming the TestSource `name` (of `group`), made first if `spec` is given. */
  async function testPvc(
    name: string,
    spec: TestSourceSpec | undefined,
    storageClassName = e2eSettings.immediateStorageClass,
    more: { group?: string; volumeMode?: "Filesystem" | "Block"; size?: string } = {},
  ) {
    if (spec) await createTestSource(api, userNs, name, spec, more.group);
    return createPvc(api, userNs, name, {
      storageClassName,
      volumeMode: more.volumeMode ?? "Filesystem",
      ...(more.size ? { size: more.size } : {}),
      dataSourceRef: testSourceRef(name, more.group),
    });
  }

  /** A PVC of the user namespace naming a new source `name` of `kind` (a schemaless CRD's). */
  async function sourcedPvc(
    kind: typeof IDLE,
    name: string,
    storageClassName = e2eSettings.immediateStorageClass,
  ) {
    await source(kind, userNs, name);
    return createPvc(api, userNs, name, {
      storageClassName,
      volumeMode: "Filesystem",
      dataSourceRef: { apiGroup: kind.group, kind: kind.kind, name },
    });
  }

  beforeAll(async () => {
    api = kube();
    populatorNs = await preparePopulator(api);
    userNs = await createTestNamespace(api, "doctor");
    sourceNs = await createTestNamespace(api, "doctor-src");
    stoppedNs = await createTestNamespace(api, "doctor-stopped");
    // The populator's namespace enforces the restricted Pod Security level: a Filesystem volume's
    // populator pod meets it, a Block volume's (written as root) does not.
    await api.core.patchNamespace(
      {
        name: populatorNs,
        body: { metadata: { labels: { "pod-security.kubernetes.io/enforce": "restricted" } } },
      },
      mergePatch,
    );
    // PVC' bigger than PVC_SIZE_LIMIT is refused there, as a cluster admin's LimitRange would.
    await api.core.createNamespacedLimitRange({
      namespace: populatorNs,
      body: {
        metadata: { name: "pvc-size" },
        spec: { limits: [{ type: "PersistentVolumeClaim", max: { storage: PVC_SIZE_LIMIT } }] },
      },
    });
    await installReferenceGrantCrd(api.config);
    await installSchemalessCrd(api.config, IDLE);
    await installSchemalessCrd(api.config, STALE);
    await installSchemalessCrd(api.config, OTHER);
    await installTestSourceCrd(api.config, HALTED.group);
    await installTestSourceCrd(api.config, FINISHING.group);
    createdVolumePopulatorCrd = await installVolumePopulatorCrd(api);
    await registerKind(`doctor-testsources-${suffix}`, TEST_GROUP, "TestSource");
    await registerKind(`doctor-stale-${suffix}`, STALE.group, STALE.kind);
    await registerKind(`doctor-nothing-${suffix}`, NOTHING_GROUP, "Nothing");
    halted = stoppedController(HALTED, "after:addFinalizer");
    finishing = stoppedController(FINISHING, "before:deletePod");

    for (const [name, provisioner] of [
      [classes.noProvisioner, ABSENT_PROVISIONER],
      [classes.quota, ABSENT_PROVISIONER],
      [classes.inTree, "kubernetes.io/no-provisioner"],
    ] as const) {
      await api.storage.createStorageClass({
        body: { metadata: { name }, provisioner, volumeBindingMode: "Immediate", reclaimPolicy: "Delete" },
      });
    }
    // No PVC' of the quota class fits in the populator's namespace.
    await api.core.createNamespacedResourceQuota({
      namespace: populatorNs,
      body: {
        metadata: { name: "no-quota-class" },
        spec: { hard: { [`${classes.quota}.storageclass.storage.k8s.io/persistentvolumeclaims`]: "0" } },
      },
    });
    await waitFor("the quota's status", async () => {
      const quota = await api.core.readNamespacedResourceQuota({
        name: "no-quota-class",
        namespace: populatorNs,
      });
      return quota.status?.hard ? true : undefined;
    });

    // The stale controller: a Lease last renewed ten minutes ago by a pod that now crash-loops.
    await api.core.createNamespacedPod({
      namespace: populatorNs,
      body: {
        metadata: { name: "stale-controller" },
        spec: {
          restartPolicy: "Always",
          // The namespace's restricted level wants a non-root user.
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 1000,
            seccompProfile: { type: "RuntimeDefault" },
          },
          containers: [
            {
              name: "controller",
              image: e2eSettings.busyboxImage,
              imagePullPolicy: "IfNotPresent",
              // The log's last line becomes the termination message, as a Go controller's fatal error.
              terminationMessagePolicy: "FallbackToLogsOnError",
              command: ["sh", "-c", 'echo "cannot read --kubeconfig: no such file" >&2; exit 1'],
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
            },
          ],
        },
      },
    });
    const longAgo = new V1MicroTime(Date.now() - 10 * 60_000);
    await api.config.makeApiClient(CoordinationV1Api).createNamespacedLease({
      namespace: populatorNs,
      body: {
        metadata: { name: `${STALE.group}-populator` },
        spec: {
          holderIdentity: "stale-controller-7",
          leaseDurationSeconds: 15,
          acquireTime: longAgo,
          renewTime: longAgo,
        },
      },
    });

    // The test populator's controller, leading through its Lease `<prefix>-populator`.
    const manager = createManager({
      kubeConfig: api.config,
      identity: `doctor-e2e-${process.pid}`,
      logger: createLogger({
        name: "e2e-doctor",
        level: (process.env.VOLPOP_E2E_LOG_LEVEL as "info") ?? "silent",
      }),
      leaderElection: {
        namespace: populatorNs,
        name: `${TEST_GROUP}-populator`,
        leaseDurationMs: DEFAULT_LEASE_DURATION_MS,
        renewDeadlineMs: DEFAULT_RENEW_DEADLINE_MS,
        retryPeriodMs: DEFAULT_RETRY_PERIOD_MS,
      },
    });
    addPopulator(manager, {
      populator: testPopulator(),
      namespace: populatorNs,
      registerVolumePopulator: false,
      settings: {
        maxAttempts: 2,
        // Long enough for doctor to see the wait between the two attempts.
        retryBaseDelayMs: 15_000,
        retainOnFailure: true,
        allowCrossNamespace: true,
        referenceGrantRecheckMs: 1000,
        progressIntervalMs: 2000,
      },
    });
    running = manager.run(stop.signal);

    // Every stuck PVC at once, so that their waits overlap (but the retried one, see its test).
    await Promise.all([
      testPvc("healthy", { fileName: "a.txt", contents: "fine" }),
      createPvc(api, userNs, "unserved", {
        storageClassName: e2eSettings.immediateStorageClass,
        volumeMode: "Filesystem",
        dataSourceRef: { apiGroup: NOTHING_GROUP, kind: "Nothing", name: "x" },
      }),
      sourcedPvc(IDLE, "idle"),
      sourcedPvc(STALE, "leaderless"),
      testPvc("no-source", undefined),
      testPvc("invalid", { fileName: "../escape", contents: "x" }),
      createTestSource(api, sourceNs, "elsewhere", { fileName: "a", contents: "b" }).then(() =>
        createPvc(api, userNs, "cross", {
          storageClassName: e2eSettings.immediateStorageClass,
          volumeMode: "Filesystem",
          dataSourceRef: { ...testSourceRef("elsewhere"), namespace: sourceNs },
        }),
      ),
      testPvc("no-class", { fileName: "a", contents: "b" }, classes.missing),
      testPvc("in-tree", { fileName: "a", contents: "b" }, classes.inTree),
      testPvc("wffc", { fileName: "a", contents: "b" }, e2eSettings.waitForFirstConsumerStorageClass),
      testPvc("prime-pending", { fileName: "a", contents: "b" }, classes.noProvisioner),
      testPvc("quota", { fileName: "a", contents: "b" }, classes.quota),
      testPvc("unpullable", {
        fileName: "a",
        contents: "b",
        image: "registry.volpop.invalid/no-such-image:1",
      }),
      testPvc("unschedulable", {
        fileName: "a",
        contents: "b",
        nodeSelector: { [`doctor-${suffix}.e2e.volpop.dev/nowhere`]: "true" },
      }),
      testPvc("no-secret", { fileName: "a", contents: "b", envFromSecret: "doctor-missing-secret" }),
      testPvc(
        "stranded",
        { fileName: "a", contents: "b" },
        e2eSettings.waitForFirstConsumerStorageClass,
      ).then(() =>
        api.core.createNamespacedPod({
          namespace: userNs,
          body: {
            metadata: { name: "stranded-consumer" },
            spec: {
              nodeSelector: { [`doctor-${suffix}.e2e.volpop.dev/nowhere`]: "true" },
              containers: [
                {
                  name: "main",
                  image: e2eSettings.busyboxImage,
                  command: ["true"],
                  volumeMounts: [{ name: "data", mountPath: "/data" }],
                },
              ],
              volumes: [{ name: "data", persistentVolumeClaim: { claimName: "stranded" } }],
            },
          },
        }),
      ),
      testPvc("populating", { fileName: "a", contents: "b", reportProgress: true, sleepSeconds: 600 }),
      createPvc(api, userNs, "plain", { storageClassName: classes.noProvisioner, volumeMode: "Filesystem" }),
      createPvc(api, userNs, "clone", {
        storageClassName: classes.noProvisioner,
        volumeMode: "Filesystem",
        dataSourceRef: { kind: "PersistentVolumeClaim", name: "plain" },
      }),
      testPvc("classless", { fileName: "a", contents: "b" }, ""),
      sourcedPvc(IDLE, "idle-wffc", e2eSettings.waitForFirstConsumerStorageClass),
      sourcedPvc(OTHER, "other-kind"),
      testPvc("prime-refused", { fileName: "a", contents: "b" }, undefined, { size: "32Mi" }),
      testPvc("pod-refused", { fileName: "a", contents: "b" }, undefined, { volumeMode: "Block" }),
      createTestSource(api, sourceNs, "elsewhere", { fileName: "a", contents: "b" }, FINISHING.group).then(
        () =>
          createPvc(api, userNs, "not-allowed", {
            storageClassName: e2eSettings.immediateStorageClass,
            volumeMode: "Filesystem",
            dataSourceRef: { ...testSourceRef("elsewhere", FINISHING.group), namespace: sourceNs },
          }),
      ),
      testPvc("finishing", { fileName: "a", contents: "b" }, undefined, { group: FINISHING.group }),
      lostClaim(),
    ]);
  });

  afterAll(async () => {
    // The stopped controllers release nothing: their finalizers (and this suite's own) go by hand.
    for (const controller of [halted, finishing]) await controller?.kill();
    if (userNs) {
      await releaseFinalizer("halted", targetProtectionFinalizer(HALTED.group));
      await releaseFinalizer("finishing", targetProtectionFinalizer(FINISHING.group));
      await releaseFinalizer("deleting", HOLD);
    }
    // The user namespace first, while the controller runs: it releases its finalizers.
    if (userNs) {
      await deleteNamespace(api, userNs);
      await waitForNamespaceGone(api, userNs).catch(() => undefined);
    }
    stop.abort();
    await running?.catch(() => undefined);
    for (const namespace of [sourceNs, populatorNs, stoppedNs])
      if (namespace) await deleteNamespace(api, namespace);
    await api.core.deletePersistentVolume({ name: LOST_PV }).catch(() => undefined);
    for (const name of Object.values(classes))
      await api.storage.deleteStorageClass({ name }).catch(() => undefined);
    for (const name of volumePopulators) {
      await custom()
        .deleteClusterCustomObject({
          group: "populator.storage.k8s.io",
          version: "v1beta1",
          plural: "volumepopulators",
          name,
        })
        .catch(() => undefined);
    }
    const crds = api.config.makeApiClient(ApiextensionsV1Api);
    for (const kind of [IDLE, STALE, OTHER, HALTED, FINISHING]) {
      await crds
        .deleteCustomResourceDefinition({ name: `${kind.plural}.${kind.group}` })
        .catch(() => undefined);
    }
    if (createdVolumePopulatorCrd) {
      await crds
        .deleteCustomResourceDefinition({ name: "volumepopulators.populator.storage.k8s.io" })
        .catch(() => undefined);
    }
    await rbac()
      .deleteClusterRoleBinding({ name: DOCTOR_USER })
      .catch(() => undefined);
    await rbac()
      .deleteClusterRoleBinding({ name: `${DOCTOR_USER}-sources` })
      .catch(() => undefined);
    await rbac()
      .deleteClusterRole({ name: `${DOCTOR_USER}-sources` })
      .catch(() => undefined);
    if (createdDoctorRole)
      await rbac()
        .deleteClusterRole({ name: createdDoctorRole })
        .catch(() => undefined);
  });

  it("says a controller without a Lease took the PVC in hand, and that PVC' comes next", async () => {
    // Made here: "comes next" holds for 30 s after the PVC's creation (PRIME_PVC_GRACE_MS).
    await testPvc("halted", { fileName: "a", contents: "b" }, undefined, { group: HALTED.group });
    await halted?.reached("after:addFinalizer");
    const { finding, report } = await diagnoseUntil("halted", FindingCode.CreatingPrimePvc);
    expect(finding.what).toBe("The controller took the PVC in hand; PVC' comes next");
    const seen = report.findings.find((f) => f.code === FindingCode.ControllerSeen);
    expect(seen?.what).toBe(`The populator's controller (${HALTED.group}) has acted on this PVC`);
    expect(seen?.evidence).toContain(`PVC finalizer ${targetProtectionFinalizer(HALTED.group)}`);
    expect(report.exitCode).toBe(0);
  });

  it("says a populated, Bound PVC is fine, and exits 0 (in-process and through the binary)", async () => {
    await waitForBound(api, userNs, "healthy");
    const report = await diagnose("healthy");
    expect(report.findings[0]?.code).toBe(FindingCode.PvcBound);
    expect(report.findings[0]?.why).toBe(`Its volume was populated from ${userNs}/healthy.`);
    expect(report.exitCode).toBe(0);
    const { code, stdout } = await volpop("doctor", "pvc", "healthy", "-n", userNs);
    expect(code).toBe(0);
    expect(stdout).toContain(`PersistentVolumeClaim ${userNs}/healthy: The PVC is Bound to`);
    expect(stdout).toMatch(/✓ ok {7}PVC_BOUND/);
    expect(stdout).not.toContain("\u001b[");
  });

  it("says a PVC that does not exist is not found, and exits 1", async () => {
    const report = await diagnose("no-such-pvc");
    expect(report.findings.map((f) => f.code)).toEqual([FindingCode.PvcNotFound]);
    expect(report.exitCode).toBe(1);
  });

  it("says the API server does not serve the kind the PVC names", async () => {
    const { finding, report } = await diagnoseUntil("unserved", FindingCode.SourceKindNotServed);
    expect(finding.what).toBe(
      `The API server does not serve the kind Nothing (nothing-${suffix}.doctor.e2e.volpop.dev)`,
    );
    expect(report.exitCode).toBe(1);
  });

  it("gives a controller 30 s to take a new PVC in hand before it calls it missing", async () => {
    await sourcedPvc(IDLE, "idle-new");
    const report = await diagnose("idle-new");
    const waiting = report.findings.find((f) => f.code === FindingCode.WaitingForController);
    expect(waiting?.what).toMatch(/^The PVC is new \(\d+s\); the populator's controller has not acted yet$/);
    expect(report.findings.map((f) => f.code)).not.toContain(FindingCode.NoController);
  });

  it("says no controller populates a kind nobody serves or registers", async () => {
    const { finding, report } = await diagnoseUntil("idle", FindingCode.NoController);
    expect(finding.severity).toBe("error");
    expect(finding.what).toBe(`No controller populates IdleSource (${IDLE.group})`);
    expect(finding.why).toContain(`no Lease ${IDLE.group}-populator in any namespace`);
    expect(report.findings.map((f) => f.code)).toContain(FindingCode.KindNotRegistered);
  });

  it("says nobody leads when the Lease's holder stopped renewing it, and that its pod crash-loops", async () => {
    const { finding, report } = await diagnoseUntil("leaderless", FindingCode.ControllerPodUnhealthy, (f) =>
      f.what.includes("CrashLoopBackOff"),
    );
    expect(finding.what).toMatch(
      new RegExp(
        `^The controller's pod ${populatorNs}/stale-controller for StaleSource \\(${STALE.group.replaceAll(".", "\\.")}\\) keeps crashing \\(CrashLoopBackOff`,
      ),
    );
    expect(finding.what).toContain("cannot read --kubeconfig: no such file");
    const noLeader = report.findings.find((f) => f.code === FindingCode.NoLeader);
    expect(noLeader?.what).toBe(`No controller leads for StaleSource (${STALE.group})`);
    expect(noLeader?.why).toMatch(/Its Lease names stale-controller-7, who last renewed it 1\dm ago/);
  });

  it("says the data source does not exist (also as a user holding only the doctor's ClusterRole, through the binary)", async () => {
    const { finding } = await diagnoseUntil("no-source", FindingCode.SourceNotFound);
    expect(finding.what).toBe(`The data source TestSource ${userNs}/no-source does not exist`);

    await grantDoctorRole(api);
    const { code, stdout } = await volpop(
      "doctor",
      "pvc",
      "no-source",
      "-n",
      userNs,
      "-o",
      "json",
      `--as=${DOCTOR_USER}`,
    );
    expect(code).toBe(1);
    const report = JSON.parse(stdout) as DoctorReport;
    expect(report.schema).toBe("volpop.dev/doctor/v1");
    expect(report.findings[0]?.code).toBe(FindingCode.SourceNotFound);
    // The ClusterRole lets doctor read everything it looks at.
    expect(report.findings.filter((f) => f.code === FindingCode.CannotRead)).toEqual([]);
    expect(report.findings.map((f) => f.code)).toContain(FindingCode.ControllerLeading);
  });

  it("names what a user may not read, and concludes nothing from it", async () => {
    // A user who may only view the PVC's namespace: no StorageClasses, Leases, VolumePopulators or TestSources.
    const viewer = `volpop-doctor-viewer-e2e-${suffix}`;
    await rbac().createNamespacedRoleBinding({
      namespace: userNs,
      body: {
        metadata: { name: viewer },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" },
        subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: viewer }],
      },
    });
    const asViewer = impersonating(api.config, viewer);
    // Until the RoleBinding takes effect the viewer cannot read the PVC itself, which doctor refuses.
    const report = await waitFor("the viewer's RoleBinding to take effect", () =>
      diagnose("no-source", asViewer).catch(() => undefined),
    );
    expect(report.findings.map((f) => f.code)).toEqual([FindingCode.CannotRead]);
    const unreadable = report.findings[0]?.evidence ?? [];
    expect(unreadable).toContainEqual(
      expect.stringMatching(new RegExp(`^StorageClass ${e2eSettings.immediateStorageClass}: .*403`)),
    );
    expect(unreadable).toContainEqual(expect.stringMatching(/^VolumePopulators: .*403/));
    expect(unreadable).toContainEqual(
      expect.stringMatching(new RegExp(`^Leases named ${TEST_GROUP}-populator: .*403`)),
    );
    expect(report.exitCode).toBe(1);
  });

  it("repeats the controller's words about an invalid source", async () => {
    const { finding } = await diagnoseUntil("invalid", FindingCode.SourceInvalid);
    expect(finding.why).toContain("spec.fileName must be a plain file name");
  });

  it("says no ReferenceGrant lets the PVC use a source in another namespace", async () => {
    const { finding } = await diagnoseUntil("cross", FindingCode.CrossNamespaceNotGranted);
    expect(finding.what).toBe(
      `No ReferenceGrant in namespace ${sourceNs} lets PVCs of ${userNs} use TestSource ${sourceNs}/elsewhere`,
    );
  });

  it("says the StorageClass the PVC names does not exist", async () => {
    const { finding } = await diagnoseUntil("no-class", FindingCode.StorageClassMissing);
    expect(finding.what).toBe(`StorageClass ${classes.missing} does not exist`);
  });

  it("says populators cannot work with an in-tree provisioner", async () => {
    const { finding } = await diagnoseUntil("in-tree", FindingCode.InTreeProvisioner);
    expect(finding.what).toContain("kubernetes.io/no-provisioner");
  });

  it("says a WaitForFirstConsumer PVC waits for a pod, and exits 0", async () => {
    const { finding, report } = await diagnoseUntil("wffc", FindingCode.WaitingForConsumer);
    expect(finding.fix).toBe("Create a pod (or Job) that mounts it.");
    expect(report.exitCode).toBe(0);
  });

  it("says PVC' gets no volume, with PVC''s own events", async () => {
    const { finding, report } = await diagnoseUntil("prime-pending", FindingCode.PrimePvcPending, (f) =>
      f.why.includes(ABSENT_PROVISIONER),
    );
    expect(finding.what).toMatch(new RegExp(`^PVC' ${populatorNs}/prime-[0-9a-f-]+ has no volume yet`));
    expect(finding.why).toContain(ABSENT_PROVISIONER);
    const primeEvents = report.events.filter((e) =>
      e.object.startsWith(`PersistentVolumeClaim ${populatorNs}/prime-`),
    );
    expect(primeEvents.length).toBeGreaterThan(0);
    expect(report.events.some((e) => e.object === `PersistentVolumeClaim ${userNs}/prime-pending`)).toBe(
      true,
    );
  });

  it("blames the quota in the populator's namespace for a PVC' that cannot be created, which the controller reports", async () => {
    // The controller's Warning event on the user's PVC, with the API server's words, is evidence too.
    const refusal = (f: Finding) =>
      f.evidence.find((line) => line.includes("PopulatorPVCPrimeCreationError"));
    const { finding } = await diagnoseUntil("quota", FindingCode.QuotaExceeded, (f) => !!refusal(f));
    expect(refusal(finding)).toMatch(
      /^Warning PopulatorPVCPrimeCreationError\b.*: PVC' \S+ not created: refused by the API server: Kubernetes API 403 Forbidden: .* is forbidden: exceeded quota: no-quota-class/,
    );
    expect(finding.what).toBe(
      `A ResourceQuota in the populator's namespace ${populatorNs} leaves no room for PVC'`,
    );
    expect(finding.evidence).toContain(
      `ResourceQuota ${populatorNs}/no-quota-class: ${classes.quota}.storageclass.storage.k8s.io/persistentvolumeclaims used 0 of 0`,
    );
  });

  it("says the populator pod cannot pull its image, and when the attempt fails", async () => {
    const { finding } = await diagnoseUntil("unpullable", FindingCode.PodImagePull, (f) =>
      f.why.includes("fails attempt"),
    );
    expect(finding.what).toContain("registry.volpop.invalid/no-such-image:1");
    expect(finding.why).toMatch(/^(ErrImagePull|ImagePullBackOff)/);
    expect(finding.why).toMatch(/The controller fails attempt 1 at \S+ \(in \d+[sm]\) unless it starts/);
  });

  it("passes on why the populator pod cannot be scheduled", async () => {
    const { finding } = await diagnoseUntil("unschedulable", FindingCode.PodUnschedulable);
    expect(finding.why).toMatch(/node affinity\/selector/);
  });

  it("says the populator pod's container cannot be created, in the kubelet's words", async () => {
    const { finding } = await diagnoseUntil("no-secret", FindingCode.PodCannotStart);
    expect(finding.why).toMatch(/^cannot start \(CreateContainerConfigError\).*doctor-missing-secret/);
  });

  it("passes on why the pod using a WaitForFirstConsumer PVC cannot be scheduled", async () => {
    const { finding } = await diagnoseUntil("stranded", FindingCode.ConsumerNotScheduled);
    expect(finding.what).toBe("Pod stranded-consumer uses the PVC but cannot be scheduled");
    expect(finding.why).toMatch(/node affinity\/selector/);
  });

  it("shows the progress of a running population, and exits 0", async () => {
    const report = await waitFor("doctor to show the population's progress", async () => {
      const current = await diagnose("populating");
      return current.findings.some((f) => f.code === FindingCode.Populating && f.what.includes("50%"))
        ? current
        : undefined;
    });
    expect(report.findings[0]?.what).toBe("Populating: 50% halfway");
    expect(report.exitCode).toBe(0);
  });

  it("says when a failed population is retried, then that it was given up and why", async () => {
    // Made here, not with the others: the wait between its two attempts is this test's to see.
    await testPvc("failing", { fileName: "a", contents: "b", failWith: 3 });
    const retrying = await diagnoseUntil("failing", FindingCode.Retrying, (f) => f.what.includes(" of 2 "));
    expect(retrying.finding.what).toMatch(/^Attempt 1 of 2 failed; the next starts in \d+s/);
    expect(retrying.finding.why).toBe("The last failure: populator failing on purpose with 3");
    const { finding, report } = await diagnoseUntil("failing", FindingCode.GaveUp);
    expect(finding.what).toBe("The population failed 2 times and was given up");
    expect(finding.fix).toContain(`kubectl -n ${userNs} delete pvc failing`);
    // retainOnFailure keeps the last pod, whose termination message doctor shows.
    const podFailed = report.findings.find((f) => f.code === FindingCode.PodFailed);
    expect(podFailed?.why).toBe("populator failing on purpose with 3");
  });

  it("says a PVC being deleted waits for its finalizers, naming them", async () => {
    await api.core.createNamespacedPersistentVolumeClaim({
      namespace: userNs,
      body: {
        metadata: { name: "deleting", finalizers: [HOLD] },
        spec: {
          accessModes: ["ReadWriteOnce"],
          resources: { requests: { storage: "16Mi" } },
          storageClassName: classes.noProvisioner,
        },
      },
    });
    try {
      await api.core.deleteNamespacedPersistentVolumeClaim({ name: "deleting", namespace: userNs });
      const { finding, report } = await diagnoseUntil("deleting", FindingCode.PvcBeingDeleted);
      expect(report.findings.map((f) => f.code)).toEqual([FindingCode.PvcBeingDeleted]);
      expect(finding.what).toBe("The PVC is being deleted");
      expect(finding.why).toContain(`It goes once its finalizers are removed: `);
      expect(finding.why).toContain(HOLD);
      expect(finding.evidence[0]).toMatch(new RegExp(`^PVC ${userNs}/deleting: deletionTimestamp `));
      expect(report.exitCode).toBe(0);
    } finally {
      await releaseFinalizer("deleting", HOLD);
    }
  });

  it("says a PVC is Lost when its PV comes to name another claim, as Kubernetes reports it", async () => {
    const phase = async () =>
      (await api.core.readNamespacedPersistentVolumeClaim({ name: "lost", namespace: userNs })).status?.phase;
    await waitFor("PVC lost to bind to the PV made for it", async () =>
      (await phase()) === "Bound" ? true : undefined,
    );
    // The PV now names a claim of another uid: the PV controller releases it and calls the PVC Lost.
    await api.core.patchPersistentVolume(
      { name: LOST_PV, body: { spec: { claimRef: { uid: randomUUID() } } } },
      mergePatch,
    );
    let nudges = 0;
    await waitFor(
      "the PV controller to call PVC lost Lost",
      async () => {
        // A change of the PVC has the PV controller look at it now rather than at its next resync.
        await api.core.patchNamespacedPersistentVolumeClaim(
          {
            name: "lost",
            namespace: userNs,
            body: {
              metadata: { annotations: { [`doctor-${suffix}.e2e.volpop.dev/nudge`]: String(++nudges) } },
            },
          },
          mergePatch,
        );
        return (await phase()) === "Lost" ? true : undefined;
      },
      60_000,
      1000,
    );
    const report = await diagnose("lost");
    expect(report.findings.map((f) => f.code)).toEqual([FindingCode.PvcLost]);
    expect(report.findings[0]?.what).toBe(`The PVC lost its volume ${LOST_PV}`);
    expect(report.exitCode).toBe(1);
  });

  it("says a PVC without dataSourceRef has nothing to populate, and that a clone is none of a populator's", async () => {
    const plain = await diagnoseUntil("plain", FindingCode.NoDataSource);
    expect(plain.finding.what).toBe("The PVC has no dataSourceRef: nothing to populate");
    expect(plain.finding.evidence).toEqual([`PVC ${userNs}/plain: no spec.dataSourceRef`]);
    // Nothing provisions it (its class's provisioner does not run), and doctor has no reason to offer.
    expect(plain.report.findings[0]?.code).toBe(FindingCode.Unexplained);
    const clone = await diagnoseUntil("clone", FindingCode.BuiltInDataSource);
    expect(clone.finding.what).toBe("The PVC is a clone of another PVC: no populator is involved");
    expect(clone.finding.evidence).toEqual([
      `PVC ${userNs}/clone: dataSourceRef PersistentVolumeClaim plain`,
    ]);
    for (const { report } of [plain, clone]) {
      expect(report.findings.map((f) => f.code)).not.toContain(FindingCode.NoController);
    }
  });

  it('says a PVC asking for no StorageClass ("") is provisioned by nothing and taken by no populator', async () => {
    const { finding, report } = await diagnoseUntil("classless", FindingCode.NoStorageClass);
    expect(finding.what).toBe('The PVC asks for no StorageClass (storageClassName "")');
    const codes = report.findings.map((f) => f.code);
    // The controller leads, and rightly waits without a word: doctor does not blame it.
    expect(codes).toContain(FindingCode.ControllerLeading);
    expect(codes).not.toContain(FindingCode.ControllerNotActing);
    expect(codes).not.toContain(FindingCode.WaitingForController);
  });

  it("says it cannot tell whether a controller serves a kind with no Lease whose PVC waits for a consumer", async () => {
    const { finding, report } = await diagnoseUntil("idle-wffc", FindingCode.ControllerUnknown);
    expect(finding.what).toBe(
      `Doctor cannot tell yet whether a controller serves IdleSource (${IDLE.group})`,
    );
    const codes = report.findings.map((f) => f.code);
    expect(codes).toContain(FindingCode.WaitingForConsumer);
    expect(codes).not.toContain(FindingCode.NoController);
  });

  it("says a populator does not take sources from other namespaces, and that its controller without a Lease acted", async () => {
    const { finding, report } = await diagnoseUntil("not-allowed", FindingCode.CrossNamespaceNotAllowed);
    expect(finding.what).toBe(
      `The populator does not take sources from other namespaces, and TestSource ${sourceNs}/elsewhere is in ${sourceNs}`,
    );
    expect(finding.evidence[0]).toMatch(/^Warning PopulatorCrossNamespaceNotAllowed\b/);
    const seen = report.findings.find((f) => f.code === FindingCode.ControllerSeen);
    expect(
      seen?.evidence.some((line) => line.startsWith(`last event by ${FINISHING.group}-populator (`)),
    ).toBe(true);
    expect(report.findings.map((f) => f.code)).not.toContain(FindingCode.CrossNamespaceNotGranted);
  });

  it("says the API server refuses PVC', in its words from the controller's event", async () => {
    const { finding } = await diagnoseUntil("prime-refused", FindingCode.PrimePvcNotCreated);
    expect(finding.severity).toBe("error");
    expect(finding.what).toBe(`The API server refuses PVC' in ${populatorNs}`);
    expect(finding.why).toMatch(
      new RegExp(`is forbidden: maximum storage usage per PersistentVolumeClaim is ${PVC_SIZE_LIMIT}`),
    );
    expect(finding.evidence[0]).toMatch(/^Warning PopulatorPVCPrimeCreationError\b/);
  });

  it("says Pod Security admission refuses the populator pod of a Block volume, and how to let it in", async () => {
    const { finding } = await diagnoseUntil("pod-refused", FindingCode.PodNotCreated);
    expect(finding.severity).toBe("error");
    expect(finding.what).toBe("The API server refuses the populator pod: Pod Security admission");
    expect(finding.why).toContain('violates PodSecurity "restricted:latest"');
    expect(finding.fix).toContain(
      `kubectl label namespace ${populatorNs} --overwrite pod-security.kubernetes.io/enforce=baseline`,
    );
    expect(finding.evidence).toContain(
      `Namespace ${populatorNs}: pod-security.kubernetes.io/enforce=restricted`,
    );
    // What doctor read is what the user sees on the PVC.
    const events = await eventsFor(api, userNs, "pod-refused");
    expect(
      events
        .filter((e) => e.type === "Warning" && e.reason === "PopulatorCreationError")
        .map((e) => e.message),
    ).toContainEqual(
      expect.stringMatching(/^Populator pod \S+ not created: refused by the API server: .*PodSecurity/),
    );
  });

  it("says a Bound PVC whose populator has not cleaned up yet is finishing", async () => {
    // Its controller stopped after the population, before deleting the pod and PVC'.
    await finishing?.reached("before:deletePod");
    const { finding, report } = await diagnoseUntil("finishing", FindingCode.PopulationFinishing);
    expect(finding.why).toContain(targetProtectionFinalizer(FINISHING.group));
    expect(report.findings[0]?.code).toBe(FindingCode.PvcBound);
    expect(report.findings[0]?.why).toBe(`Its volume was populated from ${userNs}/finishing.`);
    expect(report.exitCode).toBe(0);
  });

  it("warns that a leading controller has not acted, after 30 s, on a PVC of a kind of its group it does not serve", async () => {
    const { finding } = await diagnoseUntil("other-kind", FindingCode.ControllerNotActing);
    expect(finding.what).toMatch(
      new RegExp(
        `^A controller leads for OtherSource \\(${TEST_GROUP.replaceAll(".", "\\.")}\\) but has not acted on this PVC in \\d+[sm]$`,
      ),
    );
    expect(finding.evidence[0]).toMatch(
      new RegExp(
        `^Lease ${populatorNs}/${TEST_GROUP.replaceAll(".", "\\.")}-populator: holder doctor-e2e-\\d+, `,
      ),
    );
  });

  it("warns, 30 s on, that PVC' never came and nothing says why: its controller stopped", async () => {
    const { finding } = await diagnoseUntil("halted", FindingCode.PrimePvcNotCreated);
    expect(finding.severity).toBe("warning");
    expect(finding.why).toContain("it said nothing. Most likely it stopped in between");
    expect(finding.evidence).toContain("no PopulatorPVCPrimeCreationError event on the PVC");
  });

  it("says whether the data-source validator runs: not at all, then without an available replica", async (context) => {
    const apps = api.config.makeApiClient(AppsV1Api);
    const validators = async () =>
      (await apps.listDeploymentForAllNamespaces({ fieldSelector: `metadata.name=${VALIDATOR}` })).items.map(
        (d) => `${d.metadata?.namespace}/${d.metadata?.name}`,
      );
    // Another suite's validator goes with its namespace, which may still be on its way out.
    const others = await waitFor(
      "other suites' validators to be gone",
      async () => ((await validators()).length === 0 ? [] : undefined),
      60_000,
    ).catch(() => validators());
    if (others.length > 0) {
      context.skip(`this cluster runs a data-source validator of its own (${others.join(", ")})`);
    }
    const before = await doctorCluster(api.config);
    expect(before.findings.find((f) => f.code === FindingCode.ValidatorNotInstalled)?.what).toBe(
      "The VolumePopulator CRD is installed but no data-source validator runs",
    );
    await apps.createNamespacedDeployment({ namespace: userNs, body: unpullableValidator() });
    try {
      const unhealthy = await waitFor(
        "doctor to see the validator's pod fail to pull its image",
        async () => {
          const report = await doctorCluster(api.config);
          const found = report.findings.find((f) => f.code === FindingCode.ValidatorUnhealthy);
          return found?.evidence.some((line) => line.includes("cannot pull its image")) ? found : undefined;
        },
      );
      expect(unhealthy.severity).toBe("error");
      expect(unhealthy.what).toBe(
        `The data-source validator ${userNs}/${VALIDATOR} has no available replica`,
      );
      expect(unhealthy.evidence[0]).toBe(`Deployment ${userNs}/${VALIDATOR}: 0 of 1 available`);
    } finally {
      await apps.deleteNamespacedDeployment({ name: VALIDATOR, namespace: userNs }).catch(() => undefined);
    }
  });

  // Removing every VolumePopulator is for a cluster of our own, never for one a user pointed us at.
  it.skipIf(!inject("embeddedCluster"))(
    "says no populator is registered when no VolumePopulator exists (all removed for a moment, then restored)",
    async () => {
      const list = async () =>
        ((await custom().listClusterCustomObject(VOLUME_POPULATORS)) as { items: VolumePopulatorRecord[] })
          .items;
      // Every VolumePopulator of the cluster, as it was (other suites' and installed populators' too).
      const saved = (await list()).map(({ metadata, ...rest }) => ({
        ...rest,
        metadata: {
          name: metadata?.name,
          ...(metadata?.labels ? { labels: metadata.labels } : {}),
          ...(metadata?.annotations ? { annotations: metadata.annotations } : {}),
        },
      }));
      try {
        for (const { metadata } of saved) {
          await custom()
            .deleteClusterCustomObject({ ...VOLUME_POPULATORS, name: metadata.name ?? "" })
            .catch(() => undefined);
        }
        const report = await waitFor(
          "doctor to see no VolumePopulator",
          async () => {
            const current = await doctorCluster(api.config);
            return current.facts.volumePopulators === "0" ? current : undefined;
          },
          30_000,
        );
        expect(report.findings.find((f) => f.code === FindingCode.NoVolumePopulators)?.what).toBe(
          "No populator is registered (no VolumePopulator)",
        );
      } finally {
        for (const body of saved) {
          await custom()
            .createClusterCustomObject({ ...VOLUME_POPULATORS, body })
            .catch(ignoreConflict);
        }
      }
      expect((await list()).map((v) => v.metadata?.name).sort()).toEqual(
        saved.map((v) => v.metadata.name).sort(),
      );
    },
  );

  it("checks the cluster: AnyVolumeDataSource, and whether a live controller serves each registered kind", async () => {
    await grantDoctorRole(api);
    const report = await doctorCluster(api.config);
    const codes = (kind: string) =>
      report.findings.filter((f) => f.what.includes(`(${kind})`)).map((f) => f.code);
    expect(report.findings.map((f) => f.code)).toContain(FindingCode.AnyVolumeDataSourceEnabled);
    expect(codes(TEST_GROUP)).toEqual(
      expect.arrayContaining([FindingCode.ControllerLeading, FindingCode.PvcsWaiting]),
    );
    expect(
      codes(STALE.group),
      JSON.stringify(report.findings.filter((f) => f.what.includes(`(${STALE.group})`))),
    ).toEqual(expect.arrayContaining([FindingCode.NoLeader, FindingCode.ControllerPodUnhealthy]));
    expect(codes(NOTHING_GROUP)).toContain(FindingCode.SourceKindNotServed);
    // The stopped controllers keep no Lease: one recorded events, the other never did.
    expect(codes(FINISHING.group)).toContain(FindingCode.ControllerSeen);
    expect(codes(HALTED.group)).toContain(FindingCode.ControllerUnknown);
    const unregistered = report.findings.find(
      (f) => f.code === FindingCode.KindNotRegistered && f.what.includes(`${IDLE.group}/${IDLE.kind}`),
    );
    expect(unregistered?.evidence).toContain(`PVC ${userNs}/idle`);

    const { code, stdout } = await volpop("doctor", "cluster", "-o", "json", `--as=${DOCTOR_USER}`);
    expect(code).toBe(1);
    const limited = JSON.parse(stdout) as DoctorReport;
    expect(limited.findings.filter((f) => f.code === FindingCode.CannotRead)).toEqual([]);
  });

  /** The doctor's ClusterRole from docs/doctor-rbac.yaml, plus `get` on TestSources, bound to {@link DOCTOR_USER}. */
  async function grantDoctorRole(kube: Kube): Promise<void> {
    const role = parse(await readFile(DOCTOR_RBAC, "utf8")) as V1ClusterRole;
    const api = kube.config.makeApiClient(RbacAuthorizationV1Api);
    // The manifest as it is in docs/ (replacing an older one someone applied); removed afterwards
    // only if this suite created it.
    await api.createClusterRole({ body: role }).then(
      () => {
        createdDoctorRole ||= role.metadata?.name ?? "";
      },
      async (error: { code?: number }) => {
        if (error.code !== 409) throw error;
        await api.replaceClusterRole({ name: role.metadata?.name ?? "", body: role });
      },
    );
    await api
      .createClusterRole({
        body: {
          metadata: { name: `${DOCTOR_USER}-sources` },
          rules: [{ apiGroups: [TEST_GROUP], resources: ["testsources"], verbs: ["get"] }],
        },
      })
      .catch(ignoreConflict);
    for (const [name, roleName] of [
      [DOCTOR_USER, role.metadata?.name ?? ""],
      [`${DOCTOR_USER}-sources`, `${DOCTOR_USER}-sources`],
    ] as const) {
      await api
        .createClusterRoleBinding({
          body: {
            metadata: { name },
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: roleName },
            subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: DOCTOR_USER }],
          },
        })
        .catch(ignoreConflict);
    }
    // RBAC takes effect within moments; the impersonated user reads its own PVC when it has.
    const asDoctor = impersonating(kube.config, DOCTOR_USER);
    await waitFor("the doctor's ClusterRole to take effect", async () => {
      const report = await diagnose("no-source", asDoctor);
      return report.findings.some((f) => f.code === FindingCode.CannotRead) ? undefined : true;
    });
  }
});

/** `kubeConfig` acting as `user` (kubectl --as). */
function impersonating(kubeConfig: KubeConfig, user: string): KubeConfig {
  const acting = new KubeConfig();
  acting.loadFromOptions({
    clusters: kubeConfig.clusters,
    contexts: kubeConfig.contexts,
    currentContext: kubeConfig.getCurrentContext(),
    users: kubeConfig.users.map((u) =>
      u.name === kubeConfig.getCurrentUser()?.name ? { ...u, impersonateUser: user } : u,
    ),
  });
  return acting;
}

function ignoreConflict(error: { code?: number }): void {
  if (error.code !== 409) throw error;
}

/** The VolumePopulator CRD, as the validator ships it, unless it is there; true when this installed it. */
async function installVolumePopulatorCrd(api: Kube): Promise<boolean> {
  const crds = api.config.makeApiClient(ApiextensionsV1Api);
  const body = parse(await readFile(VOLUME_POPULATOR_CRD, "utf8")) as V1CustomResourceDefinition;
  const created = await crds.createCustomResourceDefinition({ body }).then(
    () => true,
    (error: { code?: number }) => {
      if (error.code !== 409) throw error;
      return false;
    },
  );
  await waitFor("the VolumePopulator CRD to be established", async () => {
    const crd = await crds.readCustomResourceDefinition({ name: body.metadata?.name ?? "" });
    return crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True")
      ? true
      : undefined;
  });
  return created;
}

/** A VolumePopulator as listed, with the metadata a copy keeps. */
type VolumePopulatorRecord = VolumePopulatorObject & {
  readonly metadata?: {
    readonly name?: string;
    readonly labels?: Record<string, string>;
    readonly annotations?: Record<string, string>;
  };
};

/** A data-source validator whose image cannot be pulled: its Deployment never has an available replica. */
function unpullableValidator(): V1Deployment {
  const labels = { "app.kubernetes.io/name": `doctor-validator-${suffix}` };
  return {
    metadata: { name: VALIDATOR },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          automountServiceAccountToken: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 1000,
            seccompProfile: { type: "RuntimeDefault" },
          },
          containers: [
            {
              name: "validator",
              image: "registry.volpop.invalid/volume-data-source-validator:0",
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
            },
          ],
        },
      },
    },
  };
}
