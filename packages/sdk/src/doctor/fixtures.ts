/**
 * Snapshots for the doctor's table-driven tests: a typical Pending PVC naming `Hello apps/hello`,
 * with a live controller and nothing created yet; overrides replace parts of it. Built on the SDK's
 * own fixtures (internal/fixtures.ts), so doctor reads the objects the controller's tests make.
 */
import type { CoreV1Event, V1Lease, V1Pod, V1ResourceQuota } from "@kubernetes/client-node";
import {
  NOW,
  type Overrides,
  POPULATOR_NAMESPACE,
  PREFIX,
  PVC_NAME,
  pvc,
  SOURCE_KIND,
  SOURCE_NAME,
  storageClass,
  USER_NAMESPACE,
} from "../internal/fixtures.ts";
import type { ClusterSnapshot, ControllerFacts, PopulationFacts, PvcSnapshot, Read } from "./snapshot.ts";

export function found<T>(value: T): Read<T> {
  return { state: "found", value };
}
export const absent = { state: "absent" } as const;
export function unreadable(what: string): Read<never> {
  return { state: "unreadable", what, reason: `Kubernetes API 403 Forbidden: ${what} is forbidden` };
}

/** RFC 3339 time `agoMs` before {@link NOW}. */
export function ago(agoMs: number): string {
  return new Date(NOW - agoMs).toISOString();
}

/** A Lease `<prefix>-populator` in the populator namespace, renewed `renewedAgoMs` ago. */
export function lease(holder: string, renewedAgoMs: number, durationSeconds = 15): V1Lease {
  return {
    metadata: { name: `${PREFIX}-populator`, namespace: POPULATOR_NAMESPACE },
    spec: {
      holderIdentity: holder,
      leaseDurationSeconds: durationSeconds,
      renewTime: ago(renewedAgoMs) as unknown as Date,
    },
  };
}

/** An event on the user's PVC (or on `object`), `agoMs` ago, recorded by `component`. */
export function event(
  reason: string,
  message: string,
  options: {
    type?: "Normal" | "Warning";
    component?: string;
    agoMs?: number;
    instance?: string;
    object?: { kind: string; namespace: string; name: string };
  } = {},
): CoreV1Event {
  const object = options.object ?? {
    kind: "PersistentVolumeClaim",
    namespace: USER_NAMESPACE,
    name: PVC_NAME,
  };
  const component = options.component ?? `${PREFIX}-populator`;
  return {
    metadata: { name: `${object.name}.${reason}`, namespace: object.namespace },
    involvedObject: object,
    reason,
    message,
    type: options.type ?? "Warning",
    source: { component },
    reportingComponent: component,
    ...(options.instance ? { reportingInstance: options.instance } : {}),
    lastTimestamp: ago(options.agoMs ?? 1000) as unknown as Date,
    count: 1,
  };
}

/** A ResourceQuota as the quota controller reports it. */
export function quota(
  namespace: string,
  hard: Record<string, string>,
  used: Record<string, string>,
): V1ResourceQuota {
  return { metadata: { name: "limits", namespace }, spec: { hard }, status: { hard, used } };
}

/** A pod that keeps crashing, with its last termination. */
export function crashLoopingPod(name: string, namespace: string, message: string): V1Pod {
  return {
    metadata: { name, namespace },
    status: {
      phase: "Running",
      containerStatuses: [
        {
          name: "main",
          image: "controller:1",
          imageID: "",
          ready: false,
          restartCount: 4,
          state: {
            waiting: { reason: "CrashLoopBackOff", message: "back-off 40s restarting failed container" },
          },
          lastState: { terminated: { exitCode: 1, reason: "Error", message } },
        },
      ],
    },
  };
}

/** A live controller for Hello. */
export function controllerFacts(overrides: Partial<ControllerFacts> = {}): ControllerFacts {
  return {
    prefix: PREFIX,
    prefixFrom: "group",
    leases: found([lease("hello-populator-7d9f-1", 2000)]),
    ...overrides,
  };
}

/** A population nobody has started: source there, kind served and registered, controller leading. */
export function populationFacts(overrides: Partial<PopulationFacts> = {}): PopulationFacts {
  return {
    sourceKind: found({ version: SOURCE_KIND.version, plural: SOURCE_KIND.plural, namespaced: true }),
    source: found({ metadata: { name: SOURCE_NAME, namespace: USER_NAMESPACE }, spec: { fileName: "a" } }),
    volumePopulators: found([
      { metadata: { name: "hello" }, sourceKind: { group: PREFIX, kind: SOURCE_KIND.kind } },
    ]),
    controller: controllerFacts(),
    populatorNamespace: { name: POPULATOR_NAMESPACE, from: "lease" },
    primePvc: absent,
    pod: absent,
    populatorQuotas: found([]),
    primePvcEvents: found([]),
    podEvents: found([]),
    ...overrides,
  };
}

/** A Pending PVC (created 10 s before {@link NOW}) naming `Hello apps/hello`; see the module comment. */
export function pvcSnapshot(overrides: Overrides<PvcSnapshot> = {}): PvcSnapshot {
  const snapshot: Record<string, unknown> = {
    now: NOW,
    namespace: USER_NAMESPACE,
    name: PVC_NAME,
    server: { version: "v1.35.0", major: 1, minor: 35 },
    pvc: found(pvc({ metadata: { creationTimestamp: ago(10_000) as unknown as Date } })),
    storageClass: found(storageClass()),
    pvcEvents: found([]),
    quotas: found([]),
    population: populationFacts(),
    ...overrides,
  };
  // An override of `undefined` removes the part (no StorageClass named, no population).
  for (const key of Object.keys(snapshot)) if (snapshot[key] === undefined) delete snapshot[key];
  return snapshot as unknown as PvcSnapshot;
}

/** A cluster with Hello registered and served, its controller leading, the validator running. */
export function clusterSnapshot(overrides: Partial<ClusterSnapshot> = {}): ClusterSnapshot {
  return {
    now: NOW,
    server: { version: "v1.35.0", major: 1, minor: 35 },
    volumePopulators: found([
      { metadata: { name: "hello" }, sourceKind: { group: PREFIX, kind: SOURCE_KIND.kind } },
    ]),
    validators: found([
      {
        deployment: {
          metadata: { name: "volume-data-source-validator", namespace: "volpop-system" },
          spec: { replicas: 1, selector: { matchLabels: { app: "validator" } }, template: {} },
          status: { availableReplicas: 1 },
        },
        pods: found([]),
      },
    ]),
    populators: [
      {
        name: "hello",
        group: PREFIX,
        kind: SOURCE_KIND.kind,
        sourceKind: found({ version: SOURCE_KIND.version, plural: SOURCE_KIND.plural, namespaced: true }),
        controller: controllerFacts({ events: found([]) }),
      },
    ],
    populatedPvcs: found([]),
    ...overrides,
  };
}
