import type {
  V1ContainerState,
  V1ObjectMeta,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1PersistentVolumeClaimSpec,
  V1PersistentVolumeClaimStatus,
  V1PersistentVolumeSpec,
  V1PersistentVolumeStatus,
  V1Pod,
  V1PodStatus,
  V1StorageClass,
} from "@kubernetes/client-node";
import { primePvcName, targetProtectionFinalizer } from "../names.ts";
import type { Observed, SourceObject } from "../observed.ts";
import type { Step } from "../plan.ts";
import type { PodContext, Populator, PopulatorPodSpec, Source, SourceCheck } from "../populator.ts";
import { type PopulationSettings, withDefaults } from "../settings.ts";
import type { BackendView, OperationView } from "../strategies/csi-fastpath/observation.ts";
import { DataMovement, GetBackendInfoResponse, VolumeMode } from "../strategies/csi-fastpath/protocol.ts";
import type { FillInput, FillOutcome, Strategy } from "../strategy.ts";

/**
 * Small builders of the objects a reconcile looks at, for table-driven tests. Each returns a
 * typical object of its kind (a Pending PVC naming a `Hello` source, an Immediate CSI StorageClass,
 * ...); overrides replace fields of `metadata`, `spec` or `status` one by one, and an override of
 * `undefined` removes the field.
 */

/** Prefix of the fake populator: finalizer and annotations are `hello.example.com/...`. */
export const PREFIX = "hello.example.com";
export const SOURCE_KIND = { group: PREFIX, version: "v1alpha1", kind: "Hello", plural: "hellos" } as const;
/** Namespace of the user's PVC and of its source. */
export const USER_NAMESPACE = "apps";
/** Namespace of PVC' and of populator pods. */
export const POPULATOR_NAMESPACE = "volpop";
export const PVC_NAME = "data";
export const PVC_UID = "0f4e2a3c-9d1b-4c55-8f0e-2b7d6c1a9e31";
export const PRIME_UID = "7c1d9a2e-3b4f-4e6a-9c8d-1f2e3a4b5c6d";
export const SOURCE_NAME = "hello";
export const SOURCE_UID = "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d";
export const STORAGE_CLASS = "csi-fast";
export const PV_NAME = "pvc-7c1d9a2e";
/** The CSI driver of {@link pv} and of {@link storageClass}. */
export const CSI_DRIVER = "hostpath.csi.k8s.io";
/** The fast-path backend {@link backendView} describes, as configured and recorded on PVC'. */
export const FASTPATH_ENDPOINT = "unix:///run/volpop-fastpath/backend.sock";
/** `observed.now`: 2025-01-01T00:00:00Z. */
export const NOW = Date.UTC(2025, 0, 1);
export const FINALIZER = targetProtectionFinalizer(PREFIX);

/** A field-by-field override of `T`; `undefined` deletes the field. */
export type Overrides<T> = { [K in keyof T]?: T[K] | undefined };

interface ObjectOverrides<Spec, Status> {
  readonly metadata?: Overrides<V1ObjectMeta>;
  readonly spec?: Overrides<Spec>;
  readonly status?: Overrides<Status>;
}

function merge<T extends object>(base: T, overrides: Overrides<T> | undefined): T {
  const merged = { ...base, ...overrides } as Record<string, unknown>;
  for (const key of Object.keys(merged)) if (merged[key] === undefined) delete merged[key];
  return merged as T;
}

/** The user's PVC: Pending, 1Gi ReadWriteOnce Filesystem on {@link STORAGE_CLASS}, from `Hello apps/hello`. */
export function pvc(
  overrides: ObjectOverrides<V1PersistentVolumeClaimSpec, V1PersistentVolumeClaimStatus> = {},
): V1PersistentVolumeClaim {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: merge<V1ObjectMeta>(
      { name: PVC_NAME, namespace: USER_NAMESPACE, uid: PVC_UID, resourceVersion: "100" },
      overrides.metadata,
    ),
    spec: merge<V1PersistentVolumeClaimSpec>(
      {
        accessModes: ["ReadWriteOnce"],
        resources: { requests: { storage: "1Gi" } },
        storageClassName: STORAGE_CLASS,
        volumeMode: "Filesystem",
        dataSourceRef: { apiGroup: SOURCE_KIND.group, kind: SOURCE_KIND.kind, name: SOURCE_NAME },
      },
      overrides.spec,
    ),
    status: merge<V1PersistentVolumeClaimStatus>({ phase: "Pending" }, overrides.status),
  };
}

/** The user's PVC carrying the populator's finalizer, as after the first reconcile. */
export function ourPvc(
  overrides: ObjectOverrides<V1PersistentVolumeClaimSpec, V1PersistentVolumeClaimStatus> = {},
): V1PersistentVolumeClaim {
  return pvc({ ...overrides, metadata: { finalizers: [FINALIZER], ...overrides.metadata } });
}

/** PVC' (`prime-<uid>`) in the populator namespace, bound to {@link PV_NAME}. */
export function primePvc(
  overrides: ObjectOverrides<V1PersistentVolumeClaimSpec, V1PersistentVolumeClaimStatus> = {},
): V1PersistentVolumeClaim {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: merge<V1ObjectMeta>(
      { name: primePvcName(PVC_UID), namespace: POPULATOR_NAMESPACE, uid: PRIME_UID },
      overrides.metadata,
    ),
    spec: merge<V1PersistentVolumeClaimSpec>(
      {
        accessModes: ["ReadWriteOnce"],
        resources: { requests: { storage: "1Gi" } },
        storageClassName: STORAGE_CLASS,
        volumeMode: "Filesystem",
        volumeName: PV_NAME,
      },
      overrides.spec,
    ),
    status: merge<V1PersistentVolumeClaimStatus>({ phase: "Bound" }, overrides.status),
  };
}

/** The PV of PVC', still claimed by PVC'. */
export function pv(
  overrides: ObjectOverrides<V1PersistentVolumeSpec, V1PersistentVolumeStatus> = {},
): V1PersistentVolume {
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: merge<V1ObjectMeta>({ name: PV_NAME }, overrides.metadata),
    spec: merge<V1PersistentVolumeSpec>(
      {
        capacity: { storage: "1Gi" },
        accessModes: ["ReadWriteOnce"],
        storageClassName: STORAGE_CLASS,
        claimRef: {
          kind: "PersistentVolumeClaim",
          namespace: POPULATOR_NAMESPACE,
          name: primePvcName(PVC_UID),
          uid: PRIME_UID,
        },
        csi: { driver: CSI_DRIVER, volumeHandle: "vol-1" },
      },
      overrides.spec,
    ),
    status: merge<V1PersistentVolumeStatus>({ phase: "Bound" }, overrides.status),
  };
}

/** A StorageClass of a CSI driver that binds immediately. */
export function storageClass(overrides: Overrides<V1StorageClass> = {}): V1StorageClass {
  return merge<V1StorageClass>(
    {
      apiVersion: "storage.k8s.io/v1",
      kind: "StorageClass",
      metadata: { name: STORAGE_CLASS },
      provisioner: CSI_DRIVER,
      volumeBindingMode: "Immediate",
    },
    overrides,
  );
}

/** The populator pod (`populate-<uid>`), Running unless `status` says otherwise. */
export function pod(
  overrides: {
    metadata?: Overrides<V1ObjectMeta>;
    status?: Overrides<V1PodStatus>;
    /** The node the pod runs on. */
    nodeName?: string;
  } = {},
): V1Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: merge<V1ObjectMeta>(
      { name: `populate-${PVC_UID}`, namespace: POPULATOR_NAMESPACE, uid: "pod-uid-1" },
      overrides.metadata,
    ),
    spec: {
      restartPolicy: "Never",
      containers: [{ name: "populate", image: "hello:test" }],
      ...(overrides.nodeName === undefined ? {} : { nodeName: overrides.nodeName }),
    },
    status: merge<V1PodStatus>({ phase: "Running" }, overrides.status),
  };
}

/** A populator pod that failed: its `populate` container exited with `exitCode` (and a message, if given). */
export function failedPod(
  terminated: { exitCode?: number; reason?: string; message?: string } = { exitCode: 1, reason: "Error" },
  metadata: Overrides<V1ObjectMeta> = {},
): V1Pod {
  return podWithContainer("Failed", { terminated: { exitCode: 1, ...terminated } }, metadata);
}

/** A populator pod still Pending, its `populate` container waiting with `reason` (and a message, if given). */
export function waitingPod(
  waiting: { reason: string; message?: string },
  metadata: Overrides<V1ObjectMeta> = {},
): V1Pod {
  return podWithContainer("Pending", { waiting }, metadata);
}

function podWithContainer(phase: string, state: V1ContainerState, metadata: Overrides<V1ObjectMeta>): V1Pod {
  return pod({
    metadata,
    status: {
      phase,
      containerStatuses: [
        { name: "populate", image: "hello:test", imageID: "", ready: false, restartCount: 0, state },
      ],
    },
  });
}

/** The spec of a `Hello` source: what the fake populator writes. */
export interface HelloSpec {
  readonly fileName: string;
  readonly contents: string;
}

/** The `Hello apps/hello` source object the PVC names. */
export function sourceObject(
  overrides: { metadata?: Overrides<V1ObjectMeta>; spec?: unknown } = {},
): SourceObject {
  return {
    apiVersion: `${SOURCE_KIND.group}/${SOURCE_KIND.version}`,
    kind: SOURCE_KIND.kind,
    metadata: merge<V1ObjectMeta>(
      { name: SOURCE_NAME, namespace: USER_NAMESPACE, uid: SOURCE_UID },
      overrides.metadata,
    ),
    spec: "spec" in overrides ? overrides.spec : { fileName: "hello.txt", contents: "Hello, world!" },
  };
}

/** What a reconcile of the user's PVC sees on its first pass: the PVC, its source and its StorageClass. */
export function observed(overrides: Partial<Observed> = {}): Observed {
  return {
    now: NOW,
    pvc: pvc(),
    source: sourceObject(),
    referenceGranted: true,
    storageClass: storageClass(),
    primePvc: undefined,
    primePv: undefined,
    pod: undefined,
    ...overrides,
  };
}

/** Settings of the controller under test: populator namespace {@link POPULATOR_NAMESPACE}, default tuning. */
export function settings(overrides: Partial<Omit<PopulationSettings, "namespace">> = {}): PopulationSettings {
  return withDefaults({ namespace: POPULATOR_NAMESPACE, imageName: "hello:test", ...overrides });
}

/** A fake populator and what it was asked. */
export interface FakePopulator extends Populator<HelloSpec> {
  /** Every `validate` argument, in order. */
  readonly validated: unknown[];
  /** Every `populatorPod` call, in order. */
  readonly podRequests: { source: Source<HelloSpec>; context: PodContext }[];
}

/**
 * A populator of `Hello` sources for tests. `validate` accepts a spec with string `fileName` and
 * `contents` (or reports `problems` when given); `populatorPod` runs `context.imageName` with `pod`
 * merged into the container spec.
 */
export function fakePopulator(
  options: { problems?: readonly string[]; pod?: Overrides<PopulatorPodSpec> } = {},
): FakePopulator {
  const validated: unknown[] = [];
  const podRequests: { source: Source<HelloSpec>; context: PodContext }[] = [];
  return {
    prefix: PREFIX,
    source: SOURCE_KIND,
    validated,
    podRequests,
    validate(spec: unknown): SourceCheck<HelloSpec> {
      validated.push(spec);
      if (options.problems) return { ok: false, problems: options.problems };
      const s = (spec ?? {}) as Record<string, unknown>;
      const problems: string[] = [];
      if (typeof s.fileName !== "string") problems.push("spec.fileName is required");
      if (typeof s.contents !== "string") problems.push("spec.contents is required");
      return problems.length > 0 ? { ok: false, problems } : { ok: true, spec: s as unknown as HelloSpec };
    },
    populatorPod(source: Source<HelloSpec>, context: PodContext): PopulatorPodSpec {
      podRequests.push({ source, context });
      return merge<PopulatorPodSpec>(
        {
          image: context.imageName ?? "hello:latest",
          args: ["--file", `${context.targetPath}/${source.spec.fileName}`],
        },
        options.pod,
      );
    },
  };
}

/** The validated `Hello apps/hello` source a strategy is handed. */
export function source(overrides: Partial<Source<HelloSpec>> = {}): Source<HelloSpec> {
  return {
    namespace: USER_NAMESPACE,
    name: SOURCE_NAME,
    uid: SOURCE_UID,
    spec: { fileName: "hello.txt", contents: "Hello, world!" },
    ...overrides,
  };
}

/** What the controller hands a strategy once PVC' exists. */
export function fillInput(
  overrides: {
    observed?: Partial<Observed>;
    populator?: Populator<HelloSpec>;
    settings?: Partial<Omit<PopulationSettings, "namespace">>;
  } = {},
): FillInput {
  return {
    observed: observed({ pvc: ourPvc(), primePvc: primePvc(), primePv: pv(), ...overrides.observed }),
    populator: (overrides.populator ?? fakePopulator()) as Populator<unknown>,
    source: source(),
    settings: settings(overrides.settings),
    prefix: PREFIX,
  };
}

/** A strategy that answers every `fill` with `outcome` and remembers what it was handed. */
export interface FakeStrategy extends Strategy {
  readonly fills: FillInput[];
}

export function fakeStrategy(outcome: FillOutcome = { state: "done" }): FakeStrategy {
  const fills: FillInput[] = [];
  return {
    name: "fake",
    fills,
    fill(input: FillInput): FillOutcome {
      fills.push(input);
      return outcome;
    },
    cleanup: (o: Observed): readonly Step[] => (o.pod ? [{ kind: "deletePod" }] : []),
  };
}

/**
 * A fast-path backend as the controller last heard from it: ready, at {@link FASTPATH_ENDPOINT},
 * filling Filesystem and Block volumes of {@link CSI_DRIVER} from `Hello` sources on any node.
 * `info` overrides replace fields of its GetBackendInfo answer; `info: undefined` means it never answered.
 */
export function backendView(
  overrides: Overrides<Omit<BackendView, "info">> & {
    info?: Partial<GetBackendInfoResponse> | undefined;
  } = {},
): BackendView {
  const { info, ...rest } = overrides;
  const answered =
    "info" in overrides && info === undefined
      ? undefined
      : GetBackendInfoResponse.fromPartial({
          name: "hostpath-fastpath",
          version: "1.0.0",
          csiDrivers: [CSI_DRIVER],
          sourceKinds: [{ group: SOURCE_KIND.group, kind: SOURCE_KIND.kind }],
          volumeModes: [VolumeMode.VOLUME_MODE_FILESYSTEM, VolumeMode.VOLUME_MODE_BLOCK],
          dataMovements: [DataMovement.DATA_MOVEMENT_COPY],
          ...info,
        });
  return merge<BackendView>({ endpoint: FASTPATH_ENDPOINT, state: "ready", info: answered }, rest);
}

/** A backend that does not answer (and never did): `error` says why. */
export function downBackend(endpoint = FASTPATH_ENDPOINT, error = "connect ENOENT"): BackendView {
  return backendView({ endpoint, state: "unavailable", error, info: undefined });
}

/** The PVC's fast-path operation at {@link FASTPATH_ENDPOINT}: attempt 1, running, nothing copied yet. */
export function operationView(overrides: Overrides<OperationView> = {}): OperationView {
  return merge<OperationView>(
    {
      endpoint: FASTPATH_ENDPOINT,
      attempt: 1,
      phase: "running",
      bytesDone: 0,
      bytesTotal: 0,
      message: "",
      reason: "",
    },
    overrides,
  );
}
