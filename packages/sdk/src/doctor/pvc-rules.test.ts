import {
  ApiException,
  type CoreV1Api,
  type CoreV1Event,
  type V1PersistentVolumeClaim,
  type V1Pod,
} from "@kubernetes/client-node";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { EventRecorder } from "../event-recorder.ts";
import { type ExecutorContext, execute } from "../executor.ts";
import { FakeClock } from "../internal/fake-clock.ts";
import {
  FINALIZER,
  failedPod,
  fillInput,
  NOW,
  POPULATOR_NAMESPACE,
  PREFIX,
  PVC_UID,
  pod,
  primePvc,
  pv,
  pvc,
  storageClass,
  USER_NAMESPACE,
  waitingPod,
} from "../internal/fixtures.ts";
import { createLogger } from "../logger.ts";
import { createPopulatorMetrics } from "../metrics.ts";
import type { Step } from "../plan.ts";
import { failAttempt } from "../strategies/attempts.ts";
import { podStrategy } from "../strategies/pod/strategy.ts";
import type { FillOutcome } from "../strategy.ts";
import { FindingCode } from "./findings.ts";
import {
  absent,
  ago,
  controllerFacts,
  crashLoopingPod,
  event,
  found,
  lease,
  populationFacts,
  pvcSnapshot,
  quota,
  unreadable,
} from "./fixtures.ts";
import { CONTROLLER_GRACE_MS, diagnosePvc } from "./pvc-rules.ts";
import type { PopulationFacts, PvcSnapshot } from "./snapshot.ts";

const created = (agoMs: number) => ({ creationTimestamp: ago(agoMs) as unknown as Date });
const OLD = CONTROLLER_GRACE_MS + 60_000;
const progressKey = `${PREFIX}/populate-progress`;

/** The user's PVC as the controller leaves it once it took it in hand, `agoMs` after its creation. */
function takenPvc(annotations: Record<string, string> = {}, agoMs = OLD): V1PersistentVolumeClaim {
  return pvc({ metadata: { ...created(agoMs), finalizers: [FINALIZER], annotations } });
}

function population(overrides: Partial<PopulationFacts>): PopulationFacts {
  return populationFacts(overrides);
}

/** A snapshot in which the controller has created PVC' (bound) and, if given, the pod. */
function populating(
  podObject: V1Pod | undefined,
  extra: {
    annotations?: Record<string, string>;
    prime?: V1PersistentVolumeClaim;
    facts?: Partial<PopulationFacts>;
  } = {},
): PvcSnapshot {
  return pvcSnapshot({
    pvc: found(takenPvc(extra.annotations)),
    population: population({
      primePvc: found(extra.prime ?? primePvc()),
      primePv: found(pv()),
      pod: podObject ? found(podObject) : absent,
      populatorNamespace: { name: POPULATOR_NAMESPACE, from: "prime-pvc" },
      ...extra.facts,
    }),
  });
}

/** An old PVC no controller touched, and no Lease: the parts of a snapshot. */
function unattended(facts: Partial<PopulationFacts> = {}): Pick<PvcSnapshot, "pvc" | "population"> {
  return {
    pvc: found(pvc({ metadata: created(OLD) })),
    population: population({ controller: controllerFacts({ leases: found([]) }), ...facts }),
  };
}

/** A PVC naming `Hello shared/hello`, a source in another namespace. */
function crossNamespacePvc(): V1PersistentVolumeClaim {
  return pvc({
    spec: { dataSourceRef: { apiGroup: PREFIX, kind: "Hello", name: "hello", namespace: "shared" } },
  });
}

/** A ReferenceGrant letting PVCs of `namespace` use Hellos. */
function grantFrom(namespace: string) {
  return {
    spec: {
      from: [{ group: "", kind: "PersistentVolumeClaim", namespace }],
      to: [{ group: PREFIX, kind: "Hello" }],
    },
  };
}

interface Case {
  readonly name: string;
  readonly snapshot: PvcSnapshot;
  /** The first (most serious) finding. */
  readonly first: string;
  readonly also?: readonly string[];
  readonly not?: readonly string[];
  readonly exit: 0 | 1;
  /** Said by the first finding (what, why, fix or evidence). */
  readonly says?: RegExp;
}

const cases: Case[] = [
  {
    name: "says a PVC that does not exist is not found",
    snapshot: pvcSnapshot({ pvc: absent }),
    first: FindingCode.PvcNotFound,
    exit: 1,
    says: /no PVC data in namespace apps/,
  },
  {
    name: "reports a Bound PVC as done, with the source its PV was populated from",
    snapshot: pvcSnapshot({
      pvc: found(pvc({ spec: { volumeName: "pv-1" }, status: { phase: "Bound" } })),
      volume: found(
        pv({ metadata: { name: "pv-1", annotations: { [`${PREFIX}/populated-from`]: "apps/hello" } } }),
      ),
      population: undefined,
    }),
    first: FindingCode.PvcBound,
    not: [FindingCode.PopulationFinishing],
    exit: 0,
    says: /populated from apps\/hello/,
  },
  {
    name: "says the populator is still cleaning up a Bound PVC that keeps its finalizer",
    snapshot: pvcSnapshot({
      pvc: found(
        pvc({
          metadata: { finalizers: [FINALIZER] },
          spec: { volumeName: "pv-1" },
          status: { phase: "Bound" },
        }),
      ),
      population: undefined,
    }),
    first: FindingCode.PvcBound,
    also: [FindingCode.PopulationFinishing],
    exit: 0,
  },
  {
    name: "says a PVC being deleted waits for its finalizers",
    snapshot: pvcSnapshot({
      pvc: found(
        pvc({ metadata: { deletionTimestamp: ago(1000) as unknown as Date, finalizers: [FINALIZER] } }),
      ),
    }),
    first: FindingCode.PvcBeingDeleted,
    exit: 0,
    says: /hello\.example\.com\/populate-target-protection/,
  },
  {
    name: "reports a Lost PVC",
    snapshot: pvcSnapshot({ pvc: found(pvc({ spec: { volumeName: "pv-1" }, status: { phase: "Lost" } })) }),
    first: FindingCode.PvcLost,
    exit: 1,
  },
  {
    name: "says a PVC without dataSourceRef has nothing to populate, and no reason doctor knows for waiting",
    snapshot: pvcSnapshot({ pvc: found(pvc({ spec: { dataSourceRef: undefined } })), population: undefined }),
    first: FindingCode.Unexplained,
    also: [FindingCode.NoDataSource],
    exit: 1,
  },
  {
    name: "warns that an old API server drops dataSourceRef",
    snapshot: pvcSnapshot({
      server: { version: "v1.22.3", major: 1, minor: 22 },
      pvc: found(pvc({ spec: { dataSourceRef: undefined } })),
      population: undefined,
    }),
    first: FindingCode.Unexplained,
    also: [FindingCode.NoDataSource],
    exit: 1,
  },
  {
    name: "leaves clones to the CSI driver",
    snapshot: pvcSnapshot({
      pvc: found(
        pvc({ spec: { dataSourceRef: { apiGroup: "", kind: "PersistentVolumeClaim", name: "other" } } }),
      ),
      population: undefined,
    }),
    first: FindingCode.Unexplained,
    also: [FindingCode.BuiltInDataSource],
    exit: 1,
  },
  {
    name: "says the API server does not serve the source kind, and blames no controller for it",
    snapshot: pvcSnapshot({
      ...unattended({ sourceKind: absent, source: undefined }),
    }),
    first: FindingCode.SourceKindNotServed,
    not: [FindingCode.NoController],
    exit: 1,
    says: /does not serve the kind Hello \(hello\.example\.com\)/,
  },
  {
    name: "warns that no VolumePopulator registers the kind, with the validator's event",
    snapshot: pvcSnapshot({
      pvcEvents: found([
        event(
          "UnrecognizedDataSourceKind",
          "The datasource for this PVC does not match any registered VolumePopulator",
          {
            component: "volume-data-source-validator",
          },
        ),
      ]),
      population: population({ volumePopulators: found([]) }),
    }),
    first: FindingCode.KindNotRegistered,
    exit: 1,
    says: /UnrecognizedDataSourceKind/,
  },
  {
    name: "does not judge registration without the VolumePopulator CRD",
    snapshot: pvcSnapshot({ population: population({ volumePopulators: absent }) }),
    first: FindingCode.WaitingForController,
    not: [FindingCode.KindNotRegistered],
    exit: 0,
  },
  {
    name: "says no controller populates the kind when nothing touched an old PVC and there is no Lease",
    snapshot: pvcSnapshot({
      ...unattended(),
    }),
    first: FindingCode.NoController,
    exit: 1,
    says: /no Lease hello\.example\.com-populator/,
  },
  {
    name: "gives a new PVC time before calling the controller missing",
    snapshot: pvcSnapshot({ population: population({ controller: controllerFacts({ leases: found([]) }) }) }),
    first: FindingCode.WaitingForController,
    exit: 0,
  },
  {
    name: "says nobody leads when the Lease holder stopped renewing",
    snapshot: pvcSnapshot({
      population: population({
        controller: controllerFacts({ leases: found([lease("hello-populator-7d9f-1", 600_000)]) }),
      }),
    }),
    first: FindingCode.NoLeader,
    exit: 1,
    says: /last renewed it 10m ago, but a holder must renew it within 15s/,
  },
  {
    name: "says nobody leads when the Lease was released",
    snapshot: pvcSnapshot({
      population: population({ controller: controllerFacts({ leases: found([lease("", 60_000)]) }) }),
    }),
    first: FindingCode.NoLeader,
    exit: 1,
    says: /released/,
  },
  {
    name: "reports the controller's pod crash-looping, with its last termination message",
    snapshot: pvcSnapshot({
      population: population({
        controller: controllerFacts({
          leases: found([lease("hello-populator-7d9f-1", 600_000)]),
          pod: {
            identity: "hello-populator-7d9f-1",
            pod: found(
              crashLoopingPod(
                "hello-populator-7d9f",
                POPULATOR_NAMESPACE,
                "flag provided but not defined: -foo",
              ),
            ),
          },
        }),
      }),
    }),
    first: FindingCode.NoLeader,
    also: [FindingCode.ControllerPodUnhealthy],
    exit: 1,
  },
  {
    name: "warns about a leading controller that ignores an old PVC",
    snapshot: pvcSnapshot({ pvc: found(pvc({ metadata: created(OLD) })) }),
    first: FindingCode.ControllerNotActing,
    exit: 1,
  },
  {
    name: "says a controller without a Lease has acted when its finalizer is there",
    snapshot: pvcSnapshot({
      pvc: found(takenPvc({}, 1000)),
      population: population({ controller: controllerFacts({ leases: found([]) }) }),
    }),
    first: FindingCode.CreatingPrimePvc,
    also: [FindingCode.ControllerSeen],
    exit: 0,
  },
  {
    name: "blames the missing StorageClass, not the controller, which waits for it without a word",
    snapshot: pvcSnapshot({ ...unattended(), storageClass: absent }),
    first: FindingCode.StorageClassMissing,
    also: [FindingCode.ControllerUnknown],
    not: [FindingCode.NoController],
    exit: 1,
    says: /StorageClass csi-fast does not exist/,
  },
  {
    name: "reports a populator that does not allow sources in other namespaces",
    snapshot: pvcSnapshot({
      pvc: found(crossNamespacePvc()),
      pvcEvents: found([
        event("PopulatorCrossNamespaceNotAllowed", "dataSourceRef names namespace shared, but …"),
      ]),
      population: population({ referenceGrants: found([]) }),
    }),
    first: FindingCode.CrossNamespaceNotAllowed,
    exit: 1,
  },
  {
    name: "reports a source in another namespace that no ReferenceGrant allows",
    snapshot: pvcSnapshot({
      pvc: found(crossNamespacePvc()),
      population: population({
        referenceGrants: found([grantFrom("elsewhere")]),
      }),
    }),
    first: FindingCode.CrossNamespaceNotGranted,
    exit: 1,
    says: /No ReferenceGrant in namespace shared lets PVCs of apps use Hello shared\/hello/,
  },
  {
    name: "reports a source in another namespace when the ReferenceGrant CRD is missing",
    snapshot: pvcSnapshot({
      pvc: found(crossNamespacePvc()),
      population: population({ referenceGrants: absent }),
    }),
    first: FindingCode.CrossNamespaceNotGranted,
    exit: 1,
    says: /CRD is not installed/,
  },
  {
    name: "accepts a source in another namespace that a ReferenceGrant allows",
    snapshot: pvcSnapshot({
      pvc: found(crossNamespacePvc()),
      population: population({
        referenceGrants: found([grantFrom(USER_NAMESPACE)]),
      }),
    }),
    first: FindingCode.WaitingForController,
    not: [FindingCode.CrossNamespaceNotGranted],
    exit: 0,
  },
  {
    name: "says the data source does not exist, and expects no PVC' before it does",
    snapshot: pvcSnapshot({
      pvc: found(
        pvc({ metadata: { ...created(OLD), annotations: { [progressKey]: "waiting for the data source" } } }),
      ),
      pvcEvents: found([
        event("PopulatorDataSourceNotFound", "Hello apps/hello not found; waiting for it to be created"),
      ]),
      population: population({ source: absent }),
    }),
    first: FindingCode.SourceNotFound,
    not: [FindingCode.PrimePvcNotCreated, FindingCode.ControllerNotActing],
    exit: 1,
    says: /Hello apps\/hello does not exist/,
  },
  {
    name: "repeats the controller's words about an invalid source",
    snapshot: pvcSnapshot({
      pvcEvents: found([
        event(
          "PopulatorDataSourceInvalid",
          "Hello apps/hello is invalid: spec.fileName must be a plain file name",
        ),
      ]),
    }),
    first: FindingCode.SourceInvalid,
    exit: 1,
    says: /spec\.fileName must be a plain file name/,
  },
  {
    name: "says a PVC without a StorageClass is never provisioned",
    snapshot: pvcSnapshot({
      pvc: found(pvc({ spec: { storageClassName: undefined } })),
      storageClass: undefined,
    }),
    first: FindingCode.NoStorageClass,
    exit: 1,
    says: /no default StorageClass when it was created/,
  },
  {
    name: 'says a PVC asking for no StorageClass ("") binds only to a PV made by hand, and no populator takes it',
    snapshot: pvcSnapshot({
      pvc: found(pvc({ spec: { storageClassName: "" } })),
      storageClass: undefined,
    }),
    first: FindingCode.NoStorageClass,
    not: [FindingCode.ControllerNotActing, FindingCode.NoController],
    exit: 1,
    says: /binds only to a PV made by hand without a class/,
  },
  {
    name: "refuses in-tree provisioners",
    snapshot: pvcSnapshot({
      storageClass: found(storageClass({ provisioner: "kubernetes.io/no-provisioner" })),
    }),
    first: FindingCode.InTreeProvisioner,
    exit: 1,
  },
  {
    name: "says a WaitForFirstConsumer PVC waits for a pod, which is nothing wrong",
    snapshot: pvcSnapshot({
      storageClass: found(storageClass({ volumeBindingMode: "WaitForFirstConsumer" })),
      consumers: found([]),
    }),
    first: FindingCode.WaitingForConsumer,
    exit: 0,
    says: /Create a pod \(or Job\) that mounts it/,
  },
  {
    name: "adds that a quota leaves no room for the consumer pod",
    snapshot: pvcSnapshot({
      storageClass: found(storageClass({ volumeBindingMode: "WaitForFirstConsumer" })),
      consumers: found([]),
      quotas: found([quota(USER_NAMESPACE, { pods: "2" }, { pods: "2" })]),
    }),
    first: FindingCode.WaitingForConsumer,
    exit: 0,
    says: /ResourceQuota apps\/limits: pods used 2 of 2/,
  },
  {
    name: "passes on why the consumer pod cannot be scheduled",
    snapshot: pvcSnapshot({
      storageClass: found(storageClass({ volumeBindingMode: "WaitForFirstConsumer" })),
      consumers: found([
        {
          metadata: { name: "app", namespace: USER_NAMESPACE },
          status: {
            phase: "Pending",
            conditions: [
              {
                type: "PodScheduled",
                status: "False",
                reason: "Unschedulable",
                message: "0/3 nodes are available: 3 Insufficient memory.",
              },
            ],
          },
        },
      ]),
    }),
    first: FindingCode.ConsumerNotScheduled,
    exit: 1,
    says: /Insufficient memory/,
  },
  {
    name: "blames a quota in the populator's namespace for a PVC' that is never created",
    snapshot: pvcSnapshot({
      pvc: found(takenPvc({ [progressKey]: "populating" })),
      population: population({
        populatorQuotas: found([
          quota(
            POPULATOR_NAMESPACE,
            { "csi-fast.storageclass.storage.k8s.io/persistentvolumeclaims": "0" },
            {},
          ),
        ]),
      }),
    }),
    first: FindingCode.QuotaExceeded,
    exit: 1,
    says: /csi-fast\.storageclass\.storage\.k8s\.io\/persistentvolumeclaims used 0 of 0/,
  },
  {
    name: "repeats the controller's words when it refuses its own PVC'",
    snapshot: pvcSnapshot({
      pvc: found(takenPvc()),
      pvcEvents: found([
        event("PopulatorPVCPrimeCreationError", "PVC' not created: mutatePrimePvc changed spec.volumeName"),
      ]),
    }),
    first: FindingCode.PrimePvcNotCreated,
    exit: 1,
    says: /mutatePrimePvc changed spec\.volumeName/,
  },
  {
    name: "says the API server refuses PVC', in its words from the controller's event, and what to lift",
    snapshot: pvcSnapshot({
      pvc: found(takenPvc()),
      pvcEvents: found([
        event(
          "PopulatorPVCPrimeCreationError",
          `PVC' volpop/prime-${PVC_UID} not created: refused by the API server: Kubernetes API 403 Forbidden: persistentvolumeclaims "prime-${PVC_UID}" is forbidden: maximum storage usage per PersistentVolumeClaim is 20Mi, but request is 32Mi`,
        ),
      ]),
    }),
    first: FindingCode.PrimePvcNotCreated,
    not: [FindingCode.CreatingPrimePvc],
    exit: 1,
    says: /maximum storage usage per PersistentVolumeClaim is 20Mi[\s\S]*kubectl -n volpop describe resourcequota,limitrange/,
  },
  {
    name: "says PVC' is still to come right after the controller took the PVC",
    snapshot: pvcSnapshot({ pvc: found(takenPvc({}, 5000)) }),
    first: FindingCode.CreatingPrimePvc,
    also: [FindingCode.ControllerLeading],
    exit: 0,
  },
  {
    name: "warns when PVC' is missing long after the controller took the PVC and nothing says why",
    snapshot: pvcSnapshot({ pvc: found(takenPvc()) }),
    first: FindingCode.PrimePvcNotCreated,
    exit: 1,
    says: /it said nothing\. Most likely it stopped in between/,
  },
  {
    name: "passes on PVC''s own provisioning failure, which the user's PVC does not show",
    snapshot: pvcSnapshot({
      pvc: found(takenPvc()),
      population: population({
        primePvc: found(
          primePvc({
            metadata: created(120_000),
            spec: { volumeName: undefined },
            status: { phase: "Pending" },
          }),
        ),
        primePvcEvents: found([
          event("ProvisioningFailed", "rpc error: code = ResourceExhausted desc = not enough space", {
            component: "csi-provisioner",
            object: {
              kind: "PersistentVolumeClaim",
              namespace: POPULATOR_NAMESPACE,
              name: `prime-${PVC_UID}`,
            },
          }),
        ]),
      }),
    }),
    first: FindingCode.PrimePvcPending,
    exit: 1,
    says: /ProvisioningFailed: rpc error: code = ResourceExhausted/,
  },
  {
    name: "says the pod comes next once PVC' is bound",
    snapshot: populating(undefined),
    first: FindingCode.WaitingForPod,
    also: [FindingCode.ControllerLeading],
    exit: 0,
  },
  {
    name: "warns when PVC' has long been bound without a pod, naming the namespace's Pod Security level",
    snapshot: populating(undefined, {
      prime: primePvc({ metadata: created(120_000) }),
      facts: { populatorNamespaceLabels: { "pod-security.kubernetes.io/enforce": "restricted" } },
    }),
    first: FindingCode.PodNotCreated,
    exit: 1,
    says: /it said nothing[\s\S]*Namespace volpop enforces the restricted Pod Security level/,
  },
  {
    name: "says Pod Security admission refuses the populator pod, from the controller's event, and how to admit it",
    snapshot: {
      ...populating(undefined, {
        facts: { populatorNamespaceLabels: { "pod-security.kubernetes.io/enforce": "restricted" } },
      }),
      pvcEvents: found([
        event(
          "PopulatorCreationError",
          `Populator pod volpop/populate-${PVC_UID} not created: refused by the API server: Kubernetes API 403 Forbidden: pods "populate-${PVC_UID}" is forbidden: violates PodSecurity "restricted:latest": runAsNonRoot != true`,
        ),
      ]),
    },
    first: FindingCode.PodNotCreated,
    not: [FindingCode.WaitingForPod],
    exit: 1,
    says: /Pod Security admission[\s\S]*kubectl label namespace volpop --overwrite pod-security\.kubernetes\.io\/enforce=baseline[\s\S]*Namespace volpop: pod-security\.kubernetes\.io\/enforce=restricted/,
  },
  {
    name: "says a populator's mutatePod made a pod the SDK refuses, a bug for its authors",
    snapshot: {
      ...populating(undefined),
      pvcEvents: found([
        event("PopulatorCreationError", "Populator pod not created: mutatePod made the container privileged"),
      ]),
    },
    first: FindingCode.PodNotCreated,
    exit: 1,
    says: /a bug for the populator's authors/,
  },
  {
    name: "blames a quota for a populator pod that is never created",
    snapshot: populating(undefined, {
      facts: {
        populatorQuotas: found([quota(POPULATOR_NAMESPACE, { "count/pods": "1" }, { "count/pods": "1" })]),
      },
    }),
    first: FindingCode.QuotaExceeded,
    exit: 1,
    says: /no room for the populator pod/,
  },
  {
    name: "shows the progress of a running population",
    snapshot: populating(pod(), {
      annotations: { [progressKey]: "populating: 50% (8.0 MiB of 16.0 MiB) halfway" },
    }),
    first: FindingCode.Populating,
    also: [FindingCode.ControllerLeading],
    exit: 0,
  },
  {
    name: "says a finished pod's volume is handed over next",
    snapshot: populating(pod({ status: { phase: "Succeeded" } })),
    first: FindingCode.HandingOver,
    also: [FindingCode.ControllerLeading],
    exit: 0,
  },
  {
    name: "says a handed-over volume binds next",
    snapshot: populating(undefined, {
      facts: {
        primePv: found(pv({ spec: { claimRef: { namespace: USER_NAMESPACE, name: "data", uid: PVC_UID } } })),
      },
    }),
    first: FindingCode.HandingOver,
    also: [FindingCode.ControllerLeading],
    exit: 0,
  },
  {
    name: "gives a failed pod's termination message",
    snapshot: populating(failedPod({ exitCode: 3, reason: "Error", message: "No space left on device" })),
    first: FindingCode.PodFailed,
    exit: 1,
    says: /No space left on device/,
  },
  {
    name: "says the populator pod cannot pull its image, and when the attempt fails",
    snapshot: pvcSnapshot({
      ...populating(
        waitingPod({ reason: "ImagePullBackOff", message: 'Back-off pulling image "registry.invalid/x:1"' }),
      ),
      pvcEvents: found([
        event(
          "PopulatorPodNotStarting",
          `Populator pod volpop/populate-${PVC_UID}: it cannot start: ImagePullBackOff (attempt 1 fails at ${new Date(NOW + 240_000).toISOString()} unless it starts)`,
        ),
      ]),
    }),
    first: FindingCode.PodImagePull,
    exit: 1,
    says: /fails attempt 1 at .* \(in 4m\)/,
  },
  {
    name: "passes on why the populator pod cannot be scheduled",
    snapshot: populating(
      pod({
        status: {
          phase: "Pending",
          conditions: [
            {
              type: "PodScheduled",
              status: "False",
              reason: "Unschedulable",
              message: "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.",
            },
          ],
        },
      }),
    ),
    first: FindingCode.PodUnschedulable,
    exit: 1,
    says: /didn't match Pod's node affinity\/selector/,
  },
  {
    name: "says the populator pod cannot start its container",
    snapshot: populating(
      waitingPod({ reason: "CreateContainerConfigError", message: 'secret "creds" not found' }),
    ),
    first: FindingCode.PodCannotStart,
    exit: 1,
    says: /secret "creds" not found/,
  },
  {
    name: "reports a populator pod whose container crash-loops",
    snapshot: populating(crashLoopingPod(`populate-${PVC_UID}`, POPULATOR_NAMESPACE, "boom")),
    first: FindingCode.PodCrashLoop,
    exit: 1,
    says: /boom/,
  },
  {
    name: "warns with the kubelet's words about a pod that does not start",
    snapshot: populating(pod({ status: { phase: "Pending" } }), {
      facts: {
        podEvents: found([
          event("FailedMount", 'MountVolume.SetUp failed for volume "target"', { component: "kubelet" }),
        ]),
      },
    }),
    first: FindingCode.PodPending,
    exit: 1,
    says: /FailedMount/,
  },
  {
    name: "says when the next attempt starts, from the controller's event",
    snapshot: pvcSnapshot({
      ...populating(undefined, {
        annotations: { [progressKey]: "retrying after failure: exit code 3" },
        prime: primePvc({
          metadata: {
            annotations: {
              [`${PREFIX}/populate-attempts`]: "1",
              [`${PREFIX}/populate-last-failure`]: ago(5_000),
            },
          },
        }),
      }),
      pvcEvents: found([
        event(
          "PopulatorFailed",
          "Populator pod failed (attempt 1 of 5): populator failing on purpose with 3; retrying in 10s",
        ),
      ]),
    }),
    first: FindingCode.Retrying,
    exit: 1,
    says: /Attempt 1 of 5 failed; the next starts in 5s/,
  },
  {
    name: "estimates the next attempt with the default delays when the event is gone",
    snapshot: populating(undefined, {
      annotations: { [progressKey]: "retrying after failure: exit code 3" },
      prime: primePvc({
        metadata: {
          annotations: {
            [`${PREFIX}/populate-attempts`]: "2",
            [`${PREFIX}/populate-last-failure`]: ago(5_000),
          },
        },
      }),
    }),
    first: FindingCode.Retrying,
    exit: 1,
    says: /estimated with the default retry delays/,
  },
  {
    name: "says a population was given up, why, and that the PVC must be re-created",
    snapshot: pvcSnapshot({
      ...populating(failedPod({ exitCode: 3, message: "populator failing on purpose with 3" }), {
        annotations: { [progressKey]: "failed: populator failing on purpose with 3" },
        prime: primePvc({
          metadata: {
            annotations: { [`${PREFIX}/populate-attempts`]: "2", [`${PREFIX}/populate-state`]: "failed" },
          },
        }),
      }),
      pvcEvents: found([
        event(
          "PopulatorFailed",
          "Populator pod failed 2 times, giving up: populator failing on purpose with 3. Delete and re-create the PVC to try again.",
        ),
      ]),
    }),
    first: FindingCode.GaveUp,
    also: [FindingCode.PodFailed],
    exit: 1,
    says: /failed 2 times[\s\S]*populator failing on purpose with 3[\s\S]*delete pvc data/,
  },
  {
    name: "says a fast-path backend fills the volume",
    snapshot: populating(undefined, {
      prime: primePvc({
        metadata: {
          annotations: {
            [`${PREFIX}/populate-strategy`]: "csi-fastpath",
            [`${PREFIX}/fastpath-backend`]: "unix:///run/b.sock",
          },
        },
      }),
    }),
    first: FindingCode.FastPath,
    also: [FindingCode.ControllerLeading],
    not: [FindingCode.WaitingForPod],
    exit: 0,
  },
  {
    name: "says a populator's own functions fill the volume",
    snapshot: populating(undefined, {
      prime: primePvc({ metadata: { annotations: { [`${PREFIX}/populate-strategy`]: "function" } } }),
    }),
    first: FindingCode.Populating,
    also: [FindingCode.ControllerLeading],
    exit: 0,
  },
  {
    name: "lists what it could not read, and concludes nothing from it",
    snapshot: pvcSnapshot({
      population: population({
        controller: controllerFacts({ leases: unreadable("Leases named hello.example.com-populator") }),
        source: unreadable("Hello apps/hello"),
      }),
    }),
    first: FindingCode.CannotRead,
    not: [FindingCode.NoController, FindingCode.SourceNotFound, FindingCode.Unexplained],
    exit: 1,
    says: /Hello apps\/hello: Kubernetes API 403 Forbidden/,
  },
  {
    name: "does not let what it could not read spoil a Bound PVC's verdict",
    snapshot: pvcSnapshot({
      pvc: found(pvc({ spec: { volumeName: "pv-1" }, status: { phase: "Bound" } })),
      volume: unreadable("PersistentVolume pv-1"),
      population: undefined,
    }),
    first: FindingCode.PvcBound,
    not: [FindingCode.CannotRead],
    exit: 0,
  },
];

describe("diagnosePvc", () => {
  it.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const report = diagnosePvc(c.snapshot);
    const codes = report.findings.map((f) => f.code);
    expect(codes[0], JSON.stringify(report.findings, null, 2)).toBe(c.first);
    for (const code of c.also ?? []) expect(codes).toContain(code);
    for (const code of c.not ?? []) expect(codes).not.toContain(code);
    expect(report.exitCode).toBe(c.exit);
    expect(report.summary).toBe(report.findings[0]?.what);
    if (c.says) {
      const first = report.findings[0];
      expect([first?.what, first?.why, first?.fix, ...(first?.evidence ?? [])].join("\n")).toMatch(c.says);
    }
  });

  it("shows the recent events of the PVC and of PVC', oldest first", () => {
    const primeObject = {
      kind: "PersistentVolumeClaim",
      namespace: POPULATOR_NAMESPACE,
      name: `prime-${PVC_UID}`,
    };
    const report = diagnosePvc({
      ...populating(undefined),
      pvcEvents: found([
        event("PopulatorCreated", "second", { type: "Normal", agoMs: 1000 }),
        event("Provisioning", "first", { agoMs: 5000 }),
      ]),
      population: population({
        primePvc: found(primePvc()),
        primePv: found(pv()),
        primePvcEvents: found([
          event("ProvisioningSucceeded", "prime's", { object: primeObject, type: "Normal" }),
        ]),
      }),
    });
    expect(report.events.map((e) => [e.object, e.reason])).toEqual([
      ["PersistentVolumeClaim apps/data", "Provisioning"],
      ["PersistentVolumeClaim apps/data", "PopulatorCreated"],
      [`PersistentVolumeClaim volpop/prime-${PVC_UID}`, "ProvisioningSucceeded"],
    ]);
    expect(report.facts).toMatchObject({ phase: "Pending", primePvc: `volpop/prime-${PVC_UID} (Bound)` });
  });

  it("puts errors before warnings before the rest, keeping the course of a population within each", () => {
    const report = diagnosePvc(pvcSnapshot(unattended({ volumePopulators: found([]), source: absent })));
    expect(report.findings.map((f) => f.severity)).toEqual(["error", "error", "warning"]);
    expect(report.findings.map((f) => f.code)).toEqual([
      FindingCode.NoController,
      FindingCode.SourceNotFound,
      FindingCode.KindNotRegistered,
    ]);
  });
});

// Doctor reads retries and deadlines from the controller's words: here they come from the
// controller's own code, so that a change of wording there fails here rather than in a user's doctor.
describe("diagnosePvc reading the controller's own words", () => {
  const report = {
    subject: "Populator pod",
    why: "exit code 3: no such file",
    retryWaitingFor: "the failed pod to go away",
  };

  /** What doctor says once the controller carried out `outcome`: its PVC' annotations and its event. */
  function afterPlan(outcome: FillOutcome, pod?: V1Pod) {
    const steps: readonly Step[] = outcome.state === "working" ? outcome.plan.steps : [];
    const annotations = steps.find((s) => s.kind === "annotatePrimePvc")?.annotations ?? {};
    const recorded = steps.find((s) => s.kind === "event");
    return diagnosePvc({
      ...populating(pod, { prime: primePvc({ metadata: { annotations: { ...annotations } } }) }),
      pvcEvents: found(recorded?.kind === "event" ? [event(recorded.reason, recorded.message)] : []),
    }).findings[0];
  }

  it("says when the next attempt starts, from failAttempt's event and annotations", () => {
    expect(afterPlan(failAttempt(fillInput({ observed: { now: NOW - 4000 } }), report))).toMatchObject({
      code: FindingCode.Retrying,
      what: expect.stringMatching(/^Attempt 1 of 5 failed; the next starts in 6s/),
      why: "The last failure: exit code 3: no such file",
    });
  });

  it("says the population was given up, from failAttempt's last event", () => {
    const fourFailures = primePvc({ metadata: { annotations: { [`${PREFIX}/populate-attempts`]: "4" } } });
    expect(afterPlan(failAttempt(fillInput({ observed: { primePvc: fourFailures } }), report))).toMatchObject(
      {
        code: FindingCode.GaveUp,
        what: "The population failed 5 times and was given up",
        why: "The last failure: exit code 3: no such file. The controller does not try again by itself.",
      },
    );
  });

  it("says when a pod that cannot pull its image fails its attempt, from the pod strategy's event", () => {
    const stuck = waitingPod(
      { reason: "ImagePullBackOff", message: "Back-off pulling image" },
      { creationTimestamp: ago(60_000) as unknown as Date },
    );
    const first = afterPlan(podStrategy.fill(fillInput({ observed: { pod: stuck } })), stuck);
    expect(first?.code).toBe(FindingCode.PodImagePull);
    expect(first?.why).toContain(
      `The controller fails attempt 1 at ${new Date(NOW + 240_000).toISOString()} (in 4m) unless it starts`,
    );
  });
});

// Refusals reach doctor as the executor words them: here the executor meets a refusing API server.
describe("diagnosePvc reading the executor's report of a refused create", () => {
  async function refusedBy(step: Step, message: string): Promise<CoreV1Event[]> {
    const events: CoreV1Event[] = [];
    const refuse = async () => {
      throw new ApiException(
        403,
        "Forbidden",
        { kind: "Status", reason: "Forbidden", code: 403, message },
        {},
      );
    };
    const core = {
      createNamespacedPersistentVolumeClaim: refuse,
      createNamespacedPod: refuse,
      createNamespacedEvent: async (request: { body: CoreV1Event }) => {
        events.push(request.body);
        return request.body;
      },
    } as unknown as CoreV1Api;
    const logger = createLogger({ level: "silent", name: "test" });
    const context: ExecutorContext = {
      core,
      events: new EventRecorder({
        core,
        component: `${PREFIX}-populator`,
        instance: "hello-1",
        clock: new FakeClock(NOW),
        logger,
      }),
      metrics: createPopulatorMetrics(new Registry(), { processMetrics: false }),
      prefix: PREFIX,
      namespace: POPULATOR_NAMESPACE,
      strategyName: "pod",
    };
    await expect(execute([step], takenPvc(), context)).rejects.toBeInstanceOf(ApiException);
    return events;
  }

  it("says the API server refuses PVC', in its words", async () => {
    const events = await refusedBy(
      { kind: "createPrimePvc", pvc: primePvc() },
      "persistentvolumeclaims is forbidden: maximum storage usage per PersistentVolumeClaim is 20Mi",
    );
    const report = diagnosePvc(pvcSnapshot({ pvc: found(takenPvc()), pvcEvents: found(events) }));
    expect(report.findings[0]).toMatchObject({
      code: FindingCode.PrimePvcNotCreated,
      severity: "error",
      what: "The API server refuses PVC' in volpop",
      why: expect.stringContaining("maximum storage usage per PersistentVolumeClaim is 20Mi"),
    });
  });

  it("says Pod Security admission refuses the populator pod, in its words", async () => {
    const events = await refusedBy(
      { kind: "createPod", pod: pod() },
      'pods "populate-x" is forbidden: violates PodSecurity "restricted:latest": runAsNonRoot != true',
    );
    const report = diagnosePvc({ ...populating(undefined), pvcEvents: found(events) });
    expect(report.findings[0]).toMatchObject({
      code: FindingCode.PodNotCreated,
      severity: "error",
      what: "The API server refuses the populator pod: Pod Security admission",
    });
  });
});
