import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import {
  ApiextensionsV1Api,
  CoordinationV1Api,
  CustomObjectsApi,
  KubeConfig,
  RbacAuthorizationV1Api,
  type V1ClusterRole,
  type V1CustomResourceDefinition,
  V1MicroTime,
} from "@kubernetes/client-node";
import { createLogger } from "@volpop/sdk";
import { type DoctorReport, doctorCluster, doctorPvc, type Finding, FindingCode } from "@volpop/sdk/doctor";
import {
  addPopulator,
  createManager,
  DEFAULT_LEASE_DURATION_MS,
  DEFAULT_RENEW_DEADLINE_MS,
  DEFAULT_RETRY_PERIOD_MS,
} from "@volpop/sdk/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  installReferenceGrantCrd,
  installSchemalessCrd,
  TEST_GROUP,
  type TestSourceSpec,
  testPopulator,
} from "../support/test-populator.ts";
import {
  createPvc,
  createTestNamespace,
  deleteNamespace,
  e2eSettings,
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
 * recognise (a missing source, no controller, a Lease nobody renews, a quota, an image that cannot be
 * pulled…), with the test populator's controller running in this process under leader election, and
 * checks that doctor names each with its finding code and plain words. Doctor runs in-process
 * (`doctorPvc`) and through the real `volpop` binary, once as a user holding only the ClusterRole of
 * docs/doctor-rbac.yaml.
 */

const execFileAsync = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, "../..");
const VOLPOP_BIN = path.resolve(import.meta.dirname, "../../packages/sdk/src/bin/volpop.ts");
const DOCTOR_RBAC = path.resolve(import.meta.dirname, "../../docs/doctor-rbac.yaml");
const VOLUME_POPULATOR_CRD = path.resolve(import.meta.dirname, "../../packages/validator/deploy/crd.yaml");

const suffix = randomBytes(3).toString("hex");
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

  async function testPvc(
    name: string,
    spec: TestSourceSpec | undefined,
    storageClassName = e2eSettings.immediateStorageClass,
  ) {
    if (spec) await createTestSource(api, userNs, name, spec);
    return createPvc(api, userNs, name, {
      storageClassName,
      volumeMode: "Filesystem",
      dataSourceRef: testSourceRef(name),
    });
  }

  beforeAll(async () => {
    api = kube();
    populatorNs = await preparePopulator(api);
    userNs = await createTestNamespace(api, "doctor");
    sourceNs = await createTestNamespace(api, "doctor-src");
    await installReferenceGrantCrd(api.config);
    await installSchemalessCrd(api.config, IDLE);
    await installSchemalessCrd(api.config, STALE);
    createdVolumePopulatorCrd = await installVolumePopulatorCrd(api);
    await registerKind(`doctor-testsources-${suffix}`, TEST_GROUP, "TestSource");
    await registerKind(`doctor-stale-${suffix}`, STALE.group, STALE.kind);

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
          securityContext: { seccompProfile: { type: "RuntimeDefault" } },
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
        dataSourceRef: { apiGroup: `nothing-${suffix}.doctor.e2e.volpop.dev`, kind: "Nothing", name: "x" },
      }),
      source(IDLE, userNs, "idle").then(() =>
        createPvc(api, userNs, "idle", {
          storageClassName: e2eSettings.immediateStorageClass,
          volumeMode: "Filesystem",
          dataSourceRef: { apiGroup: IDLE.group, kind: IDLE.kind, name: "idle" },
        }),
      ),
      source(STALE, userNs, "leaderless").then(() =>
        createPvc(api, userNs, "leaderless", {
          storageClassName: e2eSettings.immediateStorageClass,
          volumeMode: "Filesystem",
          dataSourceRef: { apiGroup: STALE.group, kind: STALE.kind, name: "leaderless" },
        }),
      ),
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
    ]);
  });

  afterAll(async () => {
    // The user namespace first, while the controller runs: it releases its finalizers.
    if (userNs) {
      await deleteNamespace(api, userNs);
      await waitForNamespaceGone(api, userNs).catch(() => undefined);
    }
    stop.abort();
    await running?.catch(() => undefined);
    for (const namespace of [sourceNs, populatorNs]) if (namespace) await deleteNamespace(api, namespace);
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
    for (const kind of [IDLE, STALE]) {
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

  it("blames the quota in the populator's namespace for a PVC' that cannot be created", async () => {
    const { finding } = await diagnoseUntil("quota", FindingCode.QuotaExceeded);
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
    const impersonating = new KubeConfig();
    impersonating.loadFromOptions({
      clusters: kube.config.clusters,
      contexts: kube.config.contexts,
      currentContext: kube.config.getCurrentContext(),
      users: kube.config.users.map((u) =>
        u.name === kube.config.getCurrentUser()?.name ? { ...u, impersonateUser: DOCTOR_USER } : u,
      ),
    });
    await waitFor("the doctor's ClusterRole to take effect", async () => {
      const report = await diagnose("no-source", impersonating);
      return report.findings.some((f) => f.code === FindingCode.CannotRead) ? undefined : true;
    });
  }
});

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
