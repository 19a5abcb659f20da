import type { V1Container, V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { EventReason } from "../../events.ts";
import {
  failedPod,
  fakePopulator,
  fillInput,
  NOW,
  type Overrides,
  ourPvc,
  POPULATOR_NAMESPACE,
  PREFIX,
  PVC_UID,
  pod,
  primePvc,
  source,
  storageClass,
  waitingPod,
} from "../../internal/fixtures.ts";
import {
  populateAttemptsAnnotation,
  populateLastFailureAnnotation,
  populateStateAnnotation,
  SELECTED_NODE_ANNOTATION,
} from "../../names.ts";
import type { Plan, Step } from "../../plan.ts";
import { DEFAULT_POD_DEADLINE_SECONDS, type PopulatorPodSpec } from "../../populator.ts";
import type { FillInput, FillOutcome } from "../../strategy.ts";
import { failureMessage, POPULATOR_UID, podStrategy, populatorPod } from "./strategy.ts";

const ATTEMPTS = populateAttemptsAnnotation(PREFIX);
const LAST_FAILURE = populateLastFailureAnnotation(PREFIX);
const STATE = populateStateAnnotation(PREFIX);
const NOW_ISO = new Date(NOW).toISOString();

/** PVC' after `failures` failed pods, the last one `agoMs` before {@link NOW}. */
function primeAfter(failures: number, agoMs: number) {
  return primePvc({
    metadata: {
      annotations: { [ATTEMPTS]: String(failures), [LAST_FAILURE]: new Date(NOW - agoMs).toISOString() },
    },
  });
}

/** A failed pod created for attempt `attempt`, as `populatorPod` labels it. */
function failedAttempt(attempt: number, terminated?: Parameters<typeof failedPod>[0]): V1Pod {
  return failedPod(terminated, { annotations: { [ATTEMPTS]: String(attempt) } });
}

function workingPlan(outcome: FillOutcome): Plan {
  if (outcome.state !== "working") throw new Error(`expected a working outcome, got ${outcome.state}`);
  return outcome.plan;
}

function podFor(input: FillInput): { pod: V1Pod; container: V1Container } {
  const created = populatorPod(input);
  const container = created.spec?.containers[0];
  if (!container) throw new Error("no container");
  return { pod: created, container };
}

function withPodSpec(extra: Overrides<PopulatorPodSpec>, volumeMode: "Filesystem" | "Block" = "Filesystem") {
  return fillInput({
    populator: fakePopulator({ pod: extra }),
    observed: { pvc: ourPvc({ spec: { volumeMode } }) },
  });
}

describe("populatorPod", () => {
  it("passes the pod settings users ask for: pull secrets and policy, priority class, affinity", () => {
    const affinity = {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: "zone", operator: "In", values: ["a"] }] }],
        },
      },
    };
    const { pod: created, container } = podFor(
      withPodSpec({
        imagePullSecrets: ["registry-a", "registry-b"],
        imagePullPolicy: "Always",
        priorityClassName: "populations",
        affinity,
      }),
    );
    expect(created.spec?.imagePullSecrets).toEqual([{ name: "registry-a" }, { name: "registry-b" }]);
    expect(container.imagePullPolicy).toBe("Always");
    expect(created.spec?.priorityClassName).toBe("populations");
    expect(created.spec?.affinity).toEqual(affinity);
  });

  it("uses upstream's names: pod populate-<uid>, container populate, volume target on claim prime-<uid>", () => {
    const { pod: created, container } = podFor(fillInput());
    expect(created.metadata?.name).toBe(`populate-${PVC_UID}`);
    expect(created.metadata?.namespace).toBe(POPULATOR_NAMESPACE);
    expect(created.spec?.restartPolicy).toBe("Never");
    expect(created.spec?.containers).toHaveLength(1);
    expect(container.name).toBe("populate");
    expect(container.image).toBe("hello:test");
    expect(container.args).toEqual(["--file", "/mnt/hello.txt"]);
    expect(container.terminationMessagePolicy).toBe("FallbackToLogsOnError");
    expect(created.spec?.volumes).toEqual([
      { name: "target", persistentVolumeClaim: { claimName: `prime-${PVC_UID}` } },
    ]);
  });

  it("gives every populator pod a deadline: six hours unless the populator says otherwise", () => {
    expect(podFor(fillInput()).pod.spec?.activeDeadlineSeconds).toBe(6 * 3600);
    expect(DEFAULT_POD_DEADLINE_SECONDS).toBe(6 * 3600);
    expect(podFor(withPodSpec({ activeDeadlineSeconds: 4200 })).pod.spec?.activeDeadlineSeconds).toBe(4200);
  });

  it("labels the pod for the controller's watch, over whatever the populator sets", () => {
    const { pod: created } = podFor(
      withPodSpec({ labels: { app: "hello", "app.kubernetes.io/managed-by": "someone-else" } }),
    );
    expect(created.metadata?.labels).toEqual({
      app: "hello",
      "app.kubernetes.io/managed-by": "volpop",
      "volpop.dev/populate-for": PVC_UID,
    });
  });

  it.each([
    {
      volumeMode: "Filesystem" as const,
      targetPath: "/mnt",
      volumeMounts: [{ name: "target", mountPath: "/mnt" }],
      volumeDevices: undefined,
    },
    {
      volumeMode: "Block" as const,
      targetPath: "/dev/block",
      volumeMounts: undefined,
      volumeDevices: [{ name: "target", devicePath: "/dev/block" }],
    },
  ])(
    "gives a $volumeMode volume to the container at $targetPath",
    ({ volumeMode, targetPath, volumeMounts, volumeDevices }) => {
      const populator = fakePopulator();
      const { container } = podFor(
        fillInput({ populator, observed: { pvc: ourPvc({ spec: { volumeMode } }) } }),
      );
      expect(populator.podRequests).toEqual([
        { source: source(), context: { volumeMode, targetPath, imageName: "hello:test" } },
      ]);
      expect(container.volumeMounts).toEqual(volumeMounts);
      expect(container.volumeDevices).toEqual(volumeDevices);
    },
  );

  it("treats a PVC without a volume mode as Filesystem", () => {
    const populator = fakePopulator();
    const { container } = podFor(
      fillInput({ populator, observed: { pvc: ourPvc({ spec: { volumeMode: undefined } }) } }),
    );
    expect(populator.podRequests[0]?.context.volumeMode).toBe("Filesystem");
    expect(container.volumeMounts).toEqual([{ name: "target", mountPath: "/mnt" }]);
  });

  it("passes no image name to the populator when the controller has none", () => {
    const populator = fakePopulator();
    const { container } = podFor(fillInput({ populator, settings: { imageName: undefined } }));
    expect(populator.podRequests[0]?.context.imageName).toBeUndefined();
    expect(container.image).toBe("hello:latest");
  });

  it.each(["Filesystem", "Block"] as const)(
    "adds the populator's own volumes and mounts beside the target for a %s volume",
    (volumeMode) => {
      const secret = { name: "creds", secret: { secretName: "s3" } };
      const mount = { name: "creds", mountPath: "/creds", readOnly: true };
      const { pod: created, container } = podFor(
        withPodSpec({ volumes: [secret], volumeMounts: [mount] }, volumeMode),
      );
      expect(created.spec?.volumes).toEqual([
        { name: "target", persistentVolumeClaim: { claimName: `prime-${PVC_UID}` } },
        secret,
      ]);
      expect(container.volumeMounts).toEqual(
        volumeMode === "Block" ? [mount] : [{ name: "target", mountPath: "/mnt" }, mount],
      );
    },
  );

  it("runs the pod on the node the scheduler selected for a WaitForFirstConsumer PVC", () => {
    const onNode = ourPvc({ metadata: { annotations: { [SELECTED_NODE_ANNOTATION]: "node-a" } } });
    const wffc = storageClass({ volumeBindingMode: "WaitForFirstConsumer" });
    expect(populatorPod(fillInput({ observed: { pvc: onNode, storageClass: wffc } })).spec?.nodeName).toBe(
      "node-a",
    );
    expect(populatorPod(fillInput({ observed: { storageClass: wffc } })).spec).not.toHaveProperty("nodeName");
  });

  it("leaves an immediate-binding pod to the scheduler, whatever node a provisioner racing for the PVC wrote on it", () => {
    // external-provisioner in node-deployment mode annotates every claim it tries to own.
    const raced = ourPvc({ metadata: { annotations: { [SELECTED_NODE_ANNOTATION]: "node-c" } } });
    const immediate = storageClass({ volumeBindingMode: "Immediate" });
    expect(
      populatorPod(fillInput({ observed: { pvc: raced, storageClass: immediate } })).spec,
    ).not.toHaveProperty("nodeName");
  });

  const nonRoot = {
    runAsNonRoot: true,
    runAsUser: 65532,
    runAsGroup: 65532,
    fsGroup: 65532,
    seccompProfile: { type: "RuntimeDefault" },
  };
  const root = { runAsUser: 0, runAsGroup: 0, seccompProfile: { type: "RuntimeDefault" } };
  it("runs non-root populators as the conventional nonroot uid", () => {
    expect(POPULATOR_UID).toBe(65532);
  });
  it.each([
    {
      volumeMode: "Filesystem" as const,
      runAsRoot: undefined,
      expected: nonRoot,
      as: "non-root with an fsGroup",
    },
    { volumeMode: "Filesystem" as const, runAsRoot: true, expected: root, as: "root when asked" },
    { volumeMode: "Block" as const, runAsRoot: undefined, expected: root, as: "root by default" },
    {
      volumeMode: "Block" as const,
      runAsRoot: false,
      expected: nonRoot,
      as: "non-root when told not to be root",
    },
  ])("runs a $volumeMode populator (runAsRoot $runAsRoot) as $as", ({ volumeMode, runAsRoot, expected }) => {
    const { pod: created } = podFor(withPodSpec(runAsRoot === undefined ? {} : { runAsRoot }, volumeMode));
    expect(created.spec?.securityContext).toEqual(expected);
  });

  it.each([
    ["Filesystem", {}],
    ["Block", {}],
    ["Block", { runAsRoot: true }],
  ] as const)(
    "hardens the %s container %j: no privilege escalation, no capabilities, read-only root",
    (volumeMode, extra) => {
      expect(podFor(withPodSpec(extra, volumeMode)).container.securityContext).toEqual({
        allowPrivilegeEscalation: false,
        capabilities: { drop: ["ALL"] },
        readOnlyRootFilesystem: true,
      });
    },
  );

  it.each([
    {
      as: "adds the capabilities the populator keeps, still dropping all others",
      addCapabilities: ["CHOWN", "FOWNER"],
      capabilities: { drop: ["ALL"], add: ["CHOWN", "FOWNER"] },
    },
    {
      as: "adds no capabilities when the populator keeps none",
      addCapabilities: undefined,
      capabilities: { drop: ["ALL"] },
    },
    {
      as: "adds no capabilities when the populator's list is empty",
      addCapabilities: [],
      capabilities: { drop: ["ALL"] },
    },
  ])("$as", ({ addCapabilities, capabilities }) => {
    const extra = addCapabilities === undefined ? {} : { runAsRoot: true, addCapabilities };
    const { securityContext } = podFor(withPodSpec(extra)).container;
    // Strict, so that an `add` key holding undefined does not pass for an absent one.
    expect(securityContext?.capabilities).toStrictEqual(capabilities);
  });

  it("mounts no service account token unless the populator names a service account", () => {
    const without = populatorPod(fillInput()).spec;
    expect(without?.automountServiceAccountToken).toBe(false);
    expect(without).not.toHaveProperty("serviceAccountName");
    const withAccount = populatorPod(withPodSpec({ serviceAccountName: "hello-reader" })).spec;
    expect(withAccount?.serviceAccountName).toBe("hello-reader");
    expect(withAccount).not.toHaveProperty("automountServiceAccountToken");
  });

  it("passes the populator's command, environment, resources and scheduling through", () => {
    const extra: Partial<PopulatorPodSpec> = {
      command: ["/hello"],
      args: ["--verbose"],
      env: [{ name: "GREETING", value: "hi" }],
      envFrom: [{ secretRef: { name: "creds" } }],
      resources: { limits: { memory: "64Mi" } },
      annotations: { "example.com/owner": "team-a" },
      nodeSelector: { "kubernetes.io/os": "linux" },
      tolerations: [{ key: "dedicated", operator: "Exists" }],
    };
    const { pod: created, container } = podFor(withPodSpec(extra));
    expect(container).toMatchObject({
      command: ["/hello"],
      args: ["--verbose"],
      env: [{ name: "GREETING", value: "hi" }, { name: "VOLPOP_SPEC" }, { name: "VOLPOP_TARGET", value: "" }],
      envFrom: [{ secretRef: { name: "creds" } }],
      resources: { limits: { memory: "64Mi" } },
    });
    expect(created.metadata?.annotations).toMatchObject({ "example.com/owner": "team-a" });
    expect(created.spec?.nodeSelector).toEqual({ "kubernetes.io/os": "linux" });
    expect(created.spec?.tolerations).toEqual([{ key: "dedicated", operator: "Exists" }]);
  });

  it("leaves optional container fields out when the populator does not set them", () => {
    const { container } = podFor(withPodSpec({ args: undefined }));
    for (const field of ["command", "args", "envFrom", "resources"]) {
      expect(container).not.toHaveProperty(field);
    }
    expect(container.env?.map((e) => e.name)).toEqual(["VOLPOP_SPEC", "VOLPOP_TARGET"]);
  });

  it("unsets VOLPOP_TARGET in the pod, whatever the populator's env says: the data goes to the volume", () => {
    const { container } = podFor(withPodSpec({ env: [{ name: "VOLPOP_TARGET", value: "/tmp/out" }] }));
    const targets = container.env?.filter((e) => e.name === "VOLPOP_TARGET") ?? [];
    // The last definition of a name wins in a container's env; an empty value means "not set".
    expect(targets.at(-1)).toEqual({ name: "VOLPOP_TARGET", value: "" });
  });

  it("hands the checked spec to the pod as JSON in VOLPOP_SPEC, escaped from the kubelet's $(VAR) expansion", () => {
    const spec = { fileName: "price.txt", contents: "$(HOME) costs $$5" };
    const { container } = podFor({ ...fillInput(), source: source({ spec }) });
    const value = container.env?.find((e) => e.name === "VOLPOP_SPEC")?.value ?? "";
    expect(value).toBe('{"fileName":"price.txt","contents":"$$(HOME) costs $$$$5"}');
    // What the container sees once the kubelet has read `$$` as `$`.
    expect(JSON.parse(value.replaceAll("$$", "$"))).toEqual(spec);
  });

  it.each([
    [0, "1"],
    [2, "3"],
  ])("marks the pod created after %i failures as attempt %s", (failures, attempt) => {
    const created = populatorPod(fillInput({ observed: { primePvc: primeAfter(failures, 60_000) } }));
    expect(created.metadata?.annotations?.[ATTEMPTS]).toBe(attempt);
  });
});

describe("podStrategy.fill", () => {
  it("creates the populator pod and announces it", () => {
    const input = fillInput();
    const plan = workingPlan(podStrategy.fill(input));
    expect(plan).toEqual({
      steps: [
        {
          kind: "createPod",
          pod: populatorPod(input),
          announce: {
            reason: EventReason.Created,
            message: `Populator pod volpop/populate-${PVC_UID} created`,
          },
        },
      ],
      waitingFor: "the populator pod",
    });
  });

  it.each([
    [
      "Pending, not yet provisioned",
      primePvc({ spec: { volumeName: undefined }, status: { phase: "Pending" } }),
    ],
    // The PV controller sets volumeName, then the phase: a kubelet handed the pod in between fails it.
    ["half bound: volumeName set, phase still Pending", primePvc({ status: { phase: "Pending" } })],
  ])("creates no pod while PVC' is %s", (_, prime) => {
    const plan = workingPlan(
      podStrategy.fill(fillInput({ observed: { primePvc: prime, primePv: undefined } })),
    );
    expect(plan).toEqual({ steps: [], waitingFor: "PVC' to bind before its populator pod" });
  });

  // Linux refuses an env string over 128 KiB (E2BIG): the pod would be scheduled, its volume attached,
  // and then fail to start with "argument list too long". A Hello's 64 Ki characters fit in its CRD,
  // but not in one variable once they are three bytes each.
  it.each([
    ["64 Ki CJK characters (192 KiB of UTF-8)", "你".repeat(65_536), "192.0 KiB"],
    ["131,100 ASCII characters", "x".repeat(131_100), "128.1 KiB"],
  ])("creates no pod for a spec of %s, and says why in the user's words", (_, contents, size) => {
    const input = { ...fillInput(), source: source({ spec: { fileName: "a", contents } }) };
    const plan = workingPlan(podStrategy.fill(input));
    expect(plan.steps).toHaveLength(1);
    expect(plan.steps[0]).toMatchObject({
      kind: "event",
      type: "Warning",
      reason: EventReason.CreationError,
    });
    const message = (plan.steps[0] as { message: string }).message;
    expect(message).toContain(
      `is ${size} as JSON, and a populator pod receives it in one environment variable (VOLPOP_SPEC), which Linux limits to 128.0 KiB`,
    );
    expect(plan.waitingFor).toBe(message);
  });

  it("creates the pod for a spec just under the limit, counting `$` once though the pod doubles it", () => {
    // `VOLPOP_SPEC=`, `{"fileName":"a","contents":""}` and the NUL: 12 + 30 + 1 bytes around the contents.
    const withContents = (contents: string) => ({
      ...fillInput(),
      source: source({ spec: { fileName: "a", contents } }),
    });
    const contents = "$".repeat(128 * 1024 - 43);
    const plan = workingPlan(podStrategy.fill(withContents(contents)));
    expect(plan.steps.map((s) => s.kind)).toEqual(["createPod"]);
    const over = workingPlan(podStrategy.fill(withContents(`${contents}$`)));
    expect(over.steps.map((s) => s.kind)).toEqual(["event"]);
  });

  it("names another env var over the limit that a populator's pod spec sets", () => {
    const plan = workingPlan(
      podStrategy.fill(withPodSpec({ env: [{ name: "BIG", value: "b".repeat(140_000) }] })),
    );
    expect((plan.steps[0] as { message: string }).message).toMatch(
      /its container populate would get the environment variable BIG of 136\.7 KiB, over Linux's 128\.0 KiB/,
    );
  });

  it("waits out the retry delay after a failure, counting from the last failure", () => {
    // Two failures: the third attempt waits base × 2 = 20 s after the last one, 5 s of which have passed.
    const plan = workingPlan(podStrategy.fill(fillInput({ observed: { primePvc: primeAfter(2, 5_000) } })));
    expect(plan).toEqual({ steps: [], waitingFor: "retry 3 of 5", requeueAfterMs: 15_000 });
  });

  it("caps the retry delay", () => {
    const plan = workingPlan(
      podStrategy.fill(
        fillInput({
          observed: { primePvc: primeAfter(9, 1_000) },
          settings: { maxAttempts: 20, retryMaxDelayMs: 60_000 },
        }),
      ),
    );
    expect(plan.requeueAfterMs).toBe(59_000);
  });

  it("creates the next pod once the retry delay has passed, saying which attempt it is", () => {
    const plan = workingPlan(podStrategy.fill(fillInput({ observed: { primePvc: primeAfter(2, 20_000) } })));
    expect(plan.steps).toHaveLength(1);
    expect(plan.steps[0]).toMatchObject({
      kind: "createPod",
      announce: { message: `Populator pod volpop/populate-${PVC_UID} created (attempt 3 of 5)` },
    });
    expect(plan.requeueAfterMs).toBeUndefined();
  });

  it.each([
    ["no last-failure time", { [ATTEMPTS]: "1" }],
    ["an unreadable last-failure time", { [ATTEMPTS]: "1", [LAST_FAILURE]: "yesterday" }],
    ["an unreadable attempt count", { [ATTEMPTS]: "many", [LAST_FAILURE]: NOW_ISO }],
  ])("creates the pod right away when PVC' has %s", (_, annotations) => {
    const plan = workingPlan(
      podStrategy.fill(fillInput({ observed: { primePvc: primePvc({ metadata: { annotations } }) } })),
    );
    expect(plan.steps.map((s) => s.kind)).toEqual(["createPod"]);
  });

  it("reports done once the pod succeeded", () => {
    expect(
      podStrategy.fill(fillInput({ observed: { pod: pod({ status: { phase: "Succeeded" } }) } })),
    ).toEqual({
      state: "done",
    });
  });

  it("waits for a running pod, looking again after the progress interval", () => {
    const plan = workingPlan(
      podStrategy.fill(fillInput({ observed: { pod: pod() }, settings: { progressIntervalMs: 3_000 } })),
    );
    expect(plan).toEqual({ steps: [], waitingFor: "the populator pod (Running)", requeueAfterMs: 3_000 });
  });

  it("copies the progress a running pod reported onto the PVC", () => {
    const plan = workingPlan(
      podStrategy.fill(
        fillInput({ observed: { pod: pod(), podProgress: { percent: 40, message: "copying" } } }),
      ),
    );
    expect(plan.steps).toEqual([{ kind: "setProgress", progress: "populating: 40% copying" }]);
  });

  describe("a running pod whose node stopped reporting", () => {
    const since = new Date(NOW - 45_000);
    const notReady = (containerRunning = true) =>
      pod({
        nodeName: "node-b",
        status: {
          phase: "Running",
          conditions: [{ type: "Ready", status: "False", lastTransitionTime: since }],
          containerStatuses: [
            {
              name: "populate",
              image: "hello",
              imageID: "",
              ready: false,
              restartCount: 0,
              state: containerRunning
                ? { running: { startedAt: since } }
                : { waiting: { reason: "ContainerCreating" } },
            },
          ],
        },
      });

    it("says on the PVC that the pod's node may be down, and keeps waiting for it", () => {
      const plan = workingPlan(
        podStrategy.fill(
          fillInput({ observed: { pod: notReady() }, settings: { progressIntervalMs: 3_000 } }),
        ),
      );
      expect(plan).toEqual({
        steps: [
          {
            kind: "event",
            type: "Warning",
            reason: EventReason.PodNotReady,
            message: `Populator pod ${POPULATOR_NAMESPACE}/populate-${PVC_UID} on node node-b has not been ready since ${since.toISOString()}: the node may be down (kubectl get node node-b); the population goes on when the node reports again`,
          },
          { kind: "setProgress", progress: "waiting: node node-b of the populator pod is not ready" },
        ],
        waitingFor: "node node-b of the populator pod",
        requeueAfterMs: 3_000,
      });
    });

    it("is quiet about a pod the kubelet itself reports not ready (a readiness probe added by mutatePod)", () => {
      const probed = notReady();
      const condition = probed.status?.conditions?.[0];
      if (condition) condition.reason = "ContainersNotReady";
      const plan = workingPlan(podStrategy.fill(fillInput({ observed: { pod: probed } })));
      expect(plan.steps).toEqual([]);
      expect(plan.waitingFor).toBe("the populator pod (Running)");
    });

    it("is quiet about a pod whose container is not running yet", () => {
      const plan = workingPlan(podStrategy.fill(fillInput({ observed: { pod: notReady(false) } })));
      expect(plan.steps).toEqual([]);
    });
  });

  it.each<[string, string | undefined]>([
    ["Pending", "Pending"],
    ["Unknown", "Unknown"],
    ["Pending", undefined],
  ])("waits for a %s pod (phase %s) without looking again on its own", (shown, phase) => {
    const plan = workingPlan(podStrategy.fill(fillInput({ observed: { pod: pod({ status: { phase } }) } })));
    expect(plan).toEqual({ steps: [], waitingFor: `the populator pod (${shown})` });
  });

  describe("a pod that cannot start", () => {
    /** A Pending pod of `attempt` whose container waits for `reason`, created `agoMs` before NOW. */
    const stuck = (reason: string, agoMs: number, attempt = 1) =>
      pod({
        metadata: {
          creationTimestamp: new Date(NOW - agoMs),
          annotations: { [ATTEMPTS]: String(attempt) },
        },
        status: {
          phase: "Pending",
          containerStatuses: [
            {
              name: "populate",
              image: "registry.invalid/hello:1",
              imageID: "",
              ready: false,
              restartCount: 0,
              state: { waiting: { reason, message: `Back-off pulling image "registry.invalid/hello:1"` } },
            },
          ],
        },
      });
    const start = (seen: Parameters<typeof fillInput>[0] = {}) =>
      workingPlan(podStrategy.fill(fillInput(seen)));

    it.each(["ErrImagePull", "ImagePullBackOff", "CreateContainerConfigError"])(
      "says so on the PVC while %s lasts, and looks again when the start timeout runs out",
      (reason) => {
        const plan = start({ observed: { pod: stuck(reason, 60_000) } });
        expect(plan.steps).toEqual([
          {
            kind: "event",
            type: "Warning",
            reason: EventReason.PodNotStarting,
            message: `Populator pod ${POPULATOR_NAMESPACE}/populate-${PVC_UID}: it cannot start: ${reason}: Back-off pulling image "registry.invalid/hello:1" (attempt 1 fails at ${new Date(NOW + 240_000).toISOString()} unless it starts)`,
          },
          {
            kind: "setProgress",
            progress:
              reason === "CreateContainerConfigError"
                ? "waiting: the populator pod cannot start (CreateContainerConfigError)"
                : "waiting: the populator pod cannot pull its image",
          },
        ]);
        expect(plan.requeueAfterMs).toBe(240_000);
      },
    );

    it("fails the attempt once the start timeout ran out: counted, reported, pod deleted, retried", () => {
      const plan = start({ observed: { pod: stuck("ImagePullBackOff", 5 * 60_000) } });
      expect(plan.steps).toEqual([
        { kind: "annotatePrimePvc", annotations: { [ATTEMPTS]: "1", [LAST_FAILURE]: NOW_ISO } },
        {
          kind: "event",
          type: "Warning",
          reason: EventReason.Failed,
          message: expect.stringMatching(
            /^Populator pod failed \(attempt 1 of 5\): it cannot start: ImagePullBackOff: Back-off pulling image/,
          ),
        },
        { kind: "setProgress", progress: expect.stringContaining("retrying after failure: it cannot start") },
        { kind: "deletePod" },
      ]);
    });

    it("fails an image name that can never be pulled at once", () => {
      const plan = start({ observed: { pod: stuck("InvalidImageName", 1_000) } });
      expect(plan.steps[0]).toMatchObject({ kind: "annotatePrimePvc", annotations: { [ATTEMPTS]: "1" } });
    });

    it("gives up after the last attempt with the reason in the user's words, and keeps the pod when asked", () => {
      const plan = start({
        observed: { pod: stuck("ImagePullBackOff", 5 * 60_000, 5), primePvc: primeAfter(4, 600_000) },
        settings: { retainOnFailure: true },
      });
      expect(plan.steps).toContainEqual({
        kind: "event",
        type: "Warning",
        reason: EventReason.Failed,
        message: expect.stringMatching(
          /^Populator pod failed 5 times, giving up: it cannot start: ImagePullBackOff/,
        ),
      });
      expect(plan.steps).not.toContainEqual({ kind: "deletePod" });
    });

    it("does not count a stuck pod twice: one already counted is only deleted", () => {
      const plan = start({
        observed: { pod: stuck("ImagePullBackOff", 5 * 60_000, 1), primePvc: primeAfter(1, 0) },
      });
      expect(plan).toEqual({ steps: [{ kind: "deletePod" }], waitingFor: "the failed pod to go away" });
    });

    it("says no node can run it in the scheduler's words, and fails the attempt after the start timeout", () => {
      const unschedulable = (agoMs: number) =>
        pod({
          metadata: { creationTimestamp: new Date(NOW - agoMs), annotations: { [ATTEMPTS]: "1" } },
          status: {
            phase: "Pending",
            conditions: [
              {
                type: "PodScheduled",
                status: "False",
                reason: "Unschedulable",
                message:
                  "0/3 nodes are available: 1 node(s) were unschedulable, 2 node(s) had volume node affinity conflict.",
              },
            ],
          },
        });
      const waiting = start({ observed: { pod: unschedulable(60_000) } });
      expect(waiting.steps).toEqual([
        {
          kind: "event",
          type: "Warning",
          reason: EventReason.PodNotStarting,
          message: `Populator pod ${POPULATOR_NAMESPACE}/populate-${PVC_UID}: no node can run it: 0/3 nodes are available: 1 node(s) were unschedulable, 2 node(s) had volume node affinity conflict. (attempt 1 fails at ${new Date(NOW + 240_000).toISOString()} unless it starts)`,
        },
        { kind: "setProgress", progress: "waiting: the populator pod cannot be scheduled" },
      ]);
      expect(waiting.requeueAfterMs).toBe(240_000);
      const failed = start({ observed: { pod: unschedulable(5 * 60_000) } });
      expect(failed.steps[0]).toMatchObject({ kind: "annotatePrimePvc", annotations: { [ATTEMPTS]: "1" } });
      expect(failed.steps).toContainEqual({ kind: "deletePod" });
    });

    it("waits quietly for a pod that is only being created", () => {
      const creating = waitingPod({ reason: "ContainerCreating" });
      expect(start({ observed: { pod: creating } })).toEqual({
        steps: [],
        waitingFor: "the populator pod (Pending)",
      });
    });
  });

  it("counts a failure on PVC', reports it, deletes the pod and retries after the base delay", () => {
    const plan = workingPlan(podStrategy.fill(fillInput({ observed: { pod: failedAttempt(1) } })));
    expect(plan).toEqual({
      steps: [
        { kind: "annotatePrimePvc", annotations: { [ATTEMPTS]: "1", [LAST_FAILURE]: NOW_ISO } },
        {
          kind: "event",
          type: "Warning",
          reason: EventReason.Failed,
          message:
            "Populator pod failed (attempt 1 of 5): container exited with code 1 (Error); retrying in 10s",
        },
        { kind: "setProgress", progress: "retrying after failure: container exited with code 1 (Error)" },
        { kind: "deletePod" },
      ],
      waitingFor: "the failed pod to go away",
      requeueAfterMs: 10_000,
    });
  });

  it("doubles the retry delay with each failure", () => {
    const plan = workingPlan(
      podStrategy.fill(fillInput({ observed: { primePvc: primeAfter(2, 30_000), pod: failedAttempt(3) } })),
    );
    expect(plan.steps[0]).toEqual({
      kind: "annotatePrimePvc",
      annotations: { [ATTEMPTS]: "3", [LAST_FAILURE]: NOW_ISO },
    });
    expect(plan.steps[1]).toMatchObject({
      message: expect.stringMatching(/\(attempt 3 of 5\).*retrying in 40s$/),
    });
    expect(plan.requeueAfterMs).toBe(40_000);
  });

  it("counts the failure of a pod created before pods carried their attempt", () => {
    const plan = workingPlan(
      podStrategy.fill(fillInput({ observed: { primePvc: primeAfter(1, 30_000), pod: failedPod() } })),
    );
    expect(plan.steps[0]).toMatchObject({ annotations: { [ATTEMPTS]: "2" } });
  });

  it("does not count a failure twice when the cache still shows the pod after its deletion", () => {
    // PVC' already says attempt 1 failed; the pod watch has not yet delivered the pod's deletion.
    const plan = workingPlan(
      podStrategy.fill(fillInput({ observed: { primePvc: primeAfter(1, 0), pod: failedAttempt(1) } })),
    );
    expect(plan).toEqual({ steps: [{ kind: "deletePod" }], waitingFor: "the failed pod to go away" });
  });

  const givingUp = (why: string, retain: boolean): Step[] => [
    {
      kind: "annotatePrimePvc",
      annotations: { [ATTEMPTS]: "5", [LAST_FAILURE]: NOW_ISO, [STATE]: "failed" },
    },
    {
      kind: "event",
      type: "Warning",
      reason: EventReason.Failed,
      message: `Populator pod failed 5 times, giving up: ${why}. Delete and re-create the PVC to try again.`,
    },
    { kind: "setProgress", progress: `failed: ${why}` },
    { kind: "finishOperation", result: "failed" },
    ...(retain ? [] : [{ kind: "deletePod" } as const]),
  ];

  it("gives up after the last attempt: marks PVC' failed, says so, fails the operation and deletes the pod", () => {
    const plan = workingPlan(
      podStrategy.fill(
        fillInput({
          observed: {
            primePvc: primeAfter(4, 300_000),
            pod: failedAttempt(5, { exitCode: 2, message: "no such bucket" }),
          },
        }),
      ),
    );
    expect(plan).toEqual({
      steps: givingUp("no such bucket", false),
      waitingFor: "someone to act on the failed population",
    });
  });

  it("keeps the failed pod after the last attempt when asked to retain it", () => {
    const plan = workingPlan(
      podStrategy.fill(
        fillInput({
          observed: {
            primePvc: primeAfter(4, 300_000),
            pod: failedAttempt(5, { exitCode: 2, message: "no such bucket" }),
          },
          settings: { retainOnFailure: true },
        }),
      ),
    );
    expect(plan.steps).toEqual(givingUp("no such bucket", true));
    expect(plan.requeueAfterMs).toBeUndefined();
  });

  it("gives up at the first failure when only one attempt is allowed", () => {
    const plan = workingPlan(
      podStrategy.fill(fillInput({ observed: { pod: failedAttempt(1) }, settings: { maxAttempts: 1 } })),
    );
    expect(plan.steps[0]).toMatchObject({ annotations: { [ATTEMPTS]: "1", [STATE]: "failed" } });
    expect(plan.steps[1]).toMatchObject({ message: expect.stringContaining("failed 1 times, giving up") });
  });

  it("removes the pod when the population ends, and nothing when there is none", () => {
    const { observed } = fillInput();
    expect(podStrategy.cleanup({ ...observed, pod: pod() }, "hello.example.com")).toEqual([
      { kind: "deletePod" },
    ]);
    expect(podStrategy.cleanup({ ...observed, pod: undefined }, "hello.example.com")).toEqual([]);
  });

  it("is called pod in metrics and logs", () => {
    expect(podStrategy.name).toBe("pod");
  });
});

/** `failed` with a memory limit on its populate container. */
function withMemoryLimit(failed: V1Pod, memory: string): V1Pod {
  return {
    ...failed,
    spec: { containers: [{ name: "populate", image: "hello:test", resources: { limits: { memory } } }] },
  };
}

describe("failureMessage", () => {
  it.each<[string, V1Pod, string]>([
    [
      "the container's termination message",
      failedPod({ exitCode: 3, reason: "Error", message: "  bucket not found\n" }),
      "bucket not found",
    ],
    [
      "the exit code and reason",
      failedPod({ exitCode: 128, reason: "StartError" }),
      "container exited with code 128 (StartError)",
    ],
    [
      "out of memory, with the limit it hit, for a container OOM-killed at its memory limit",
      withMemoryLimit(failedPod({ exitCode: 137, reason: "OOMKilled" }), "32Mi"),
      "out of memory: the populator's container was killed at its memory limit of 32Mi (OOMKilled, exit code 137)",
    ],
    [
      "out of memory over the logged lines a killed container leaves as its message, the last of them after it",
      withMemoryLimit(
        failedPod({ exitCode: 137, reason: "OOMKilled", message: "reading layer 1\nreading layer 2\n" }),
        "1Gi",
      ),
      "out of memory: the populator's container was killed at its memory limit of 1Gi (OOMKilled, exit code 137); its last output: reading layer 2",
    ],
    [
      "out of memory when the node ran short, for a container without a memory limit",
      failedPod({ exitCode: 137, reason: "OOMKilled" }),
      "out of memory: the populator's container, which has no memory limit, was killed when the node ran short of memory (OOMKilled, exit code 137)",
    ],
    ["the exit code alone", failedPod({ exitCode: 2 }), "container exited with code 2"],
    [
      "the exit code when the termination message is blank",
      failedPod({ exitCode: 1, reason: "Error", message: "  \n" }),
      "container exited with code 1 (Error)",
    ],
    [
      "the pod's message when the container never ran",
      pod({
        status: {
          phase: "Failed",
          reason: "Evicted",
          message: "The node was low on resource: ephemeral-storage.",
        },
      }),
      "The node was low on resource: ephemeral-storage.",
    ],
    [
      "the pod's reason without a message",
      pod({ status: { phase: "Failed", reason: "Evicted" } }),
      "Evicted",
    ],
    [
      "the deadline, over the exit code of the container it killed",
      {
        ...failedPod({ exitCode: 137, reason: "Error" }),
        spec: { activeDeadlineSeconds: 4200, containers: [] },
        status: {
          ...failedPod({ exitCode: 137, reason: "Error" }).status,
          reason: "DeadlineExceeded",
          message: "Pod was active on the node longer than the specified deadline",
        },
      },
      "the populator pod ran longer than its deadline (activeDeadlineSeconds 4200) and was stopped",
    ],
    ["a plain sentence without any of those", pod({ status: { phase: "Failed" } }), "pod failed"],
  ])("prefers %s", (_, failed, expected) => {
    expect(failureMessage(failed)).toBe(expected);
  });

  it("shortens the last output of an OOM-killed container to 200 characters", () => {
    const message = failureMessage(
      failedPod({ exitCode: 137, reason: "OOMKilled", message: "z".repeat(300) }),
    );
    expect(message).toMatch(/; its last output: z{200}…$/);
  });

  it("reads only the populate container, not sidecars", () => {
    const failed = pod({
      status: {
        phase: "Failed",
        message: "pod message",
        containerStatuses: [
          {
            name: "sidecar",
            image: "x",
            imageID: "",
            ready: false,
            restartCount: 0,
            state: { terminated: { exitCode: 9, message: "sidecar died" } },
          },
        ],
      },
    });
    expect(failureMessage(failed)).toBe("pod message");
  });

  it("truncates a long termination message to 500 characters", () => {
    const long = "x".repeat(2_000);
    const message = failureMessage(failedPod({ exitCode: 1, message: long }));
    expect(message).toBe(`${"x".repeat(500)}…`);
    expect(failureMessage(failedPod({ exitCode: 1, message: "y".repeat(500) }))).toBe("y".repeat(500));
  });
});

describe("objects from the source's namespace", () => {
  const populator = fakePopulator({
    pod: {
      fromSourceNamespace: [
        { kind: "Secret", name: "registry-credentials", mountPath: "/var/run/volpop/pull-secret" },
        { kind: "ConfigMap", name: "registry-ca", mountPath: "/var/run/volpop/ca" },
      ],
    },
  });

  it("copies each into the populator namespace, owned by PVC', before creating the pod", () => {
    const prime = primePvc();
    const outcome = podStrategy.fill(fillInput({ populator, observed: { primePvc: prime } }));
    const steps = outcome.state === "working" ? outcome.plan.steps : [];
    expect(steps.map((s) => s.kind)).toEqual(["copyObject", "copyObject", "createPod"]);
    expect(steps[0]).toEqual({
      kind: "copyObject",
      object: { kind: "Secret", namespace: source().namespace, name: "registry-credentials" },
      copyName: `populate-${PVC_UID}-0`,
      ownerUid: prime.metadata?.uid,
    });
    expect(steps[1]).toMatchObject({
      object: { kind: "ConfigMap", name: "registry-ca" },
      copyName: `populate-${PVC_UID}-1`,
    });
  });

  it("mounts the copies read-only where the populator asked", () => {
    const built = populatorPod(fillInput({ populator }));
    expect(built.spec?.volumes).toEqual(
      expect.arrayContaining([
        { name: "copy-0", secret: { secretName: `populate-${PVC_UID}-0` } },
        { name: "copy-1", configMap: { name: `populate-${PVC_UID}-1` } },
      ]),
    );
    expect(built.spec?.containers[0]?.volumeMounts).toEqual(
      expect.arrayContaining([
        { name: "copy-0", mountPath: "/var/run/volpop/pull-secret", readOnly: true },
        { name: "copy-1", mountPath: "/var/run/volpop/ca", readOnly: true },
      ]),
    );
  });

  it("mounts them for Block volumes too, beside the device", () => {
    const built = populatorPod(
      fillInput({ populator, observed: { pvc: ourPvc({ spec: { volumeMode: "Block" } }) } }),
    );
    const container = built.spec?.containers[0];
    expect(container?.volumeDevices).toHaveLength(1);
    expect(container?.volumeMounts?.map((m) => m.name)).toEqual(["copy-0", "copy-1"]);
  });
});
