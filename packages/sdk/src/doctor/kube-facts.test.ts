import type { CoreV1Event } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { FINALIZER, NOW, PREFIX, pod, pvc, waitingPod } from "../internal/fixtures.ts";
import { crashLoopingPod, lease, quota } from "./fixtures.ts";
import {
  eventTimeMs,
  formatDuration,
  leaseState,
  podNamesOf,
  podTrouble,
  prefixOnPvc,
  quotaShortfalls,
} from "./kube-facts.ts";

describe("eventTimeMs", () => {
  it.each<[string, CoreV1Event, number]>([
    [
      "lastTimestamp as the API's string",
      { lastTimestamp: "2025-01-01T00:00:05Z" as unknown as Date, involvedObject: {}, metadata: {} },
      5000,
    ],
    [
      "lastTimestamp as a Date",
      { lastTimestamp: new Date(NOW + 7000), involvedObject: {}, metadata: {} },
      7000,
    ],
    [
      "events.k8s.io's series before eventTime",
      {
        eventTime: "2025-01-01T00:00:01Z" as unknown as Date,
        series: { count: 3, lastObservedTime: "2025-01-01T00:00:09Z" as unknown as Date },
        involvedObject: {},
        metadata: {},
      },
      9000,
    ],
    [
      "the creation time when nothing else says",
      { metadata: { creationTimestamp: new Date(NOW + 2000) }, involvedObject: {} },
      2000,
    ],
  ])("reads %s", (_what, event, offset) => {
    expect(eventTimeMs(event)).toBe(NOW + offset);
  });

  it("is NaN for an event without any time", () => {
    expect(eventTimeMs({ involvedObject: {}, metadata: {} })).toBeNaN();
  });
});

describe("formatDuration", () => {
  it.each([
    [0, "0s"],
    [119_000, "119s"],
    [120_000, "2m"],
    [90 * 60_000, "90m"],
    [3 * 3_600_000, "3h"],
    [3 * 86_400_000, "3d"],
    [-5000, "0s"],
  ])("shows %d ms as %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe("leaseState", () => {
  it("takes a Lease renewed within its duration as live", () => {
    expect(leaseState(lease("a-1", 14_000), NOW)).toMatchObject({
      holder: "a-1",
      live: true,
      durationMs: 15_000,
    });
  });

  it("allows a few seconds of clock difference before calling a Lease lapsed", () => {
    expect(leaseState(lease("a-1", 19_000), NOW).live).toBe(true);
    expect(leaseState(lease("a-1", 21_000), NOW).live).toBe(false);
  });

  it("takes a released Lease as not live, however fresh", () => {
    expect(leaseState(lease("", 1000), NOW).live).toBe(false);
  });

  it("takes a Lease never renewed as not live", () => {
    expect(leaseState({ metadata: { name: "x" }, spec: { holderIdentity: "a" } }, NOW)).toMatchObject({
      live: false,
      renewedAgoMs: undefined,
    });
  });
});

describe("podNamesOf", () => {
  it.each([
    ["hello-populator-7d9f-xk2lp-1", ["hello-populator-7d9f-xk2lp-1", "hello-populator-7d9f-xk2lp"]],
    ["replica-a", ["replica-a"]],
    ["12345", ["12345"]],
  ])("reads identity %s as the pod names %j", (identity, names) => {
    expect(podNamesOf(identity)).toEqual(names);
  });
});

describe("prefixOnPvc", () => {
  it("reads the prefix from the populator's finalizer first", () => {
    expect(
      prefixOnPvc(
        pvc({ metadata: { finalizers: [FINALIZER], annotations: { "other.io/populate-progress": "x" } } }),
      ),
    ).toEqual({
      prefix: PREFIX,
      from: "finalizer",
    });
  });

  it("reads it from the progress annotation when the finalizer is gone", () => {
    expect(
      prefixOnPvc(pvc({ metadata: { annotations: { [`${PREFIX}/populate-progress`]: "failed: x" } } })),
    ).toEqual({
      prefix: PREFIX,
      from: "annotation",
    });
  });

  it("finds none on a PVC no populator touched", () => {
    expect(prefixOnPvc(pvc())).toBeUndefined();
  });
});

describe("quotaShortfalls", () => {
  const need = { pvc: { storageClassName: "fast", storage: "1Gi" } };

  it.each([
    [
      "the PVC count",
      { persistentvolumeclaims: "3" },
      { persistentvolumeclaims: "3" },
      "persistentvolumeclaims",
    ],
    ["count/ PVCs", { "count/persistentvolumeclaims": "0" }, {}, "count/persistentvolumeclaims"],
    ["storage", { "requests.storage": "10Gi" }, { "requests.storage": "9.5Gi" }, "requests.storage"],
    [
      "the class's PVC count",
      { "fast.storageclass.storage.k8s.io/persistentvolumeclaims": "0" },
      {},
      "fast.storageclass.storage.k8s.io/persistentvolumeclaims",
    ],
    [
      "the class's storage",
      { "fast.storageclass.storage.k8s.io/requests.storage": "512Mi" },
      {},
      "fast.storageclass.storage.k8s.io/requests.storage",
    ],
  ])("finds a PVC exceeding %s", (_what, hard, used, resource) => {
    expect(quotaShortfalls([quota("ns", hard, used)], need).map((s) => s.resource)).toEqual([resource]);
  });

  it("leaves out quotas with room, other classes' and other resources", () => {
    const quotas = [
      quota(
        "ns",
        { "requests.storage": "10Gi", persistentvolumeclaims: "10" },
        { "requests.storage": "1Gi", persistentvolumeclaims: "1" },
      ),
      quota("ns", { "slow.storageclass.storage.k8s.io/persistentvolumeclaims": "0", pods: "0" }, {}),
    ];
    expect(quotaShortfalls(quotas, need)).toEqual([]);
  });

  it("finds a pod exceeding the pod count", () => {
    expect(quotaShortfalls([quota("ns", { pods: "2" }, { pods: "2" })], { pod: true })).toMatchObject([
      { quota: "limits", namespace: "ns", resource: "pods", hard: "2", used: "2" },
    ]);
  });

  it("counts nothing for a quota whose status is not computed yet", () => {
    expect(
      quotaShortfalls([{ metadata: { name: "new" }, spec: { hard: { pods: "0" } } }], { pod: true }),
    ).toEqual([]);
  });
});

describe("podTrouble", () => {
  it.each([
    ["ErrImagePull", "image-pull"],
    ["ImagePullBackOff", "image-pull"],
    ["InvalidImageName", "image-pull"],
    ["CreateContainerConfigError", "cannot-start"],
    ["RunContainerError", "cannot-start"],
  ])("reads a container waiting with %s as %s", (reason, kind) => {
    expect(podTrouble(waitingPod({ reason, message: "m" }))).toMatchObject({ kind, reason });
  });

  it("reads a crash loop with the last termination", () => {
    expect(podTrouble(crashLoopingPod("p", "ns", "bad flag"))).toEqual({
      kind: "crash-loop",
      restarts: 4,
      lastTermination: "exit code 1 (Error): bad flag",
    });
  });

  it.each([
    ["just exited", { terminated: { exitCode: 1, reason: "Error", message: "bad flag" } }],
    ["being started again", { waiting: { reason: "ContainerCreating" } }],
    ["running the moment before it fails again", { running: { startedAt: new Date() } }],
  ])("reads a crash loop caught between two back-offs, %s", (_, state) => {
    const caught = crashLoopingPod("p", "ns", "bad flag");
    const [status] = caught.status?.containerStatuses ?? [];
    if (status === undefined) throw new Error("fixture has no container status");
    status.state = state;
    expect(podTrouble(caught)).toEqual({
      kind: "crash-loop",
      restarts: 4,
      lastTermination: "exit code 1 (Error): bad flag",
    });
  });

  it("does not call a container that restarted after exiting 0 a crash loop", () => {
    const restarted = crashLoopingPod("p", "ns", "done");
    const [status] = restarted.status?.containerStatuses ?? [];
    if (status === undefined) throw new Error("fixture has no container status");
    status.state = { waiting: { reason: "ContainerCreating" } };
    status.lastState = { terminated: { exitCode: 0, reason: "Completed" } };
    expect(podTrouble(restarted)).toBeUndefined();
  });

  it("reads an unschedulable pod with the scheduler's message", () => {
    const unschedulable = pod({
      status: {
        phase: "Pending",
        conditions: [
          { type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/1 nodes" },
        ],
      },
    });
    expect(podTrouble(unschedulable)).toEqual({ kind: "unschedulable", message: "0/1 nodes" });
  });

  it.each([
    ["a running pod", pod()],
    ["a pod still creating its container", waitingPod({ reason: "ContainerCreating" })],
    ["a pod that succeeded", pod({ status: { phase: "Succeeded" } })],
  ])("finds nothing wrong with %s", (_what, object) => {
    expect(podTrouble(object)).toBeUndefined();
  });
});
