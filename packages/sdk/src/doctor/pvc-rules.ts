/**
 * `volpop doctor pvc`: why a PVC is not Bound yet, from a {@link PvcSnapshot}. The rules follow a
 * population's course as `reconcile` (reconcile.ts) walks it: the PVC, the cluster's support for
 * populators, the controller, the source, the StorageClass, then PVC' and the populator pod. Pure.
 */
import type { CoreV1Event, V1PersistentVolumeClaim, V1Pod, V1StorageClass } from "@kubernetes/client-node";
import { EventReason } from "../events.ts";
import { populateProgressAnnotation, SELECTED_NODE_ANNOTATION, targetProtectionFinalizer } from "../names.ts";
import { sourceNamespace } from "../reconcile.ts";
import { grantAllows } from "../reference-grant.ts";
import { describeLease, readController } from "./controller-rules.ts";
import { cannotRead, type Finding, FindingCode, finding } from "./findings.ts";
import {
  byTime,
  describeEvent,
  eventComponent,
  formatDuration,
  isBuiltInDataSource,
  podTrouble,
  quotaShortfalls,
} from "./kube-facts.ts";
import { populationFindings } from "./population-rules.ts";
import { type DoctorReport, eventLines, report } from "./report.ts";
import { serverSupportsDataSourceRef } from "./server-rules.ts";
import type { PopulationFacts, PvcSnapshot, Read } from "./snapshot.ts";

/**
 * How long a new PVC may wait for a populator's controller before doctor calls it missing: the
 * controller acts within seconds (kube-controller-manager's grace, reconcile.ts's
 * PV_CONTROLLER_GRACE_MS, is 5 s).
 */
export const CONTROLLER_GRACE_MS = 30_000;

/** How many recent events of each PVC the report carries. */
const EVENTS_SHOWN = 10;

/** Codes that explain, on their own, why a PVC is not Bound yet (not only describe the set-up). */
const EXPLAINING = new Set<string>([
  FindingCode.WaitingForConsumer,
  FindingCode.WaitingForController,
  FindingCode.CreatingPrimePvc,
  FindingCode.Populating,
  FindingCode.HandingOver,
  FindingCode.WaitingForPod,
  FindingCode.PodPending,
  FindingCode.PrimePvcPending,
  FindingCode.FastPath,
]);

/** Diagnoses one PVC. */
export function diagnosePvc(snapshot: PvcSnapshot): DoctorReport {
  const subject = `PersistentVolumeClaim ${snapshot.namespace}/${snapshot.name}`;
  if (snapshot.pvc.state !== "found") {
    const missing =
      snapshot.pvc.state === "absent"
        ? finding("error", FindingCode.PvcNotFound, {
            what: `There is no PVC ${snapshot.name} in namespace ${snapshot.namespace}`,
            why: "Nothing to diagnose.",
            fix: `Check the name and the namespace (-n): kubectl -n ${snapshot.namespace} get pvc`,
          })
        : cannotRead([snapshot.pvc], "error");
    return report(snapshot.now, "pvc", subject, missing ? [missing] : []);
  }
  const pvc = snapshot.pvc.value;
  const findings = pvcFindings(snapshot, pvc);
  // What doctor could not see matters only while the PVC is not Bound.
  const unreadable = pvc.status?.phase === "Bound" ? undefined : cannotRead(collectUnreadable(snapshot));
  if (unreadable) findings.push(unreadable);
  const pending = pvc.status?.phase === "Pending" && !pvc.metadata?.deletionTimestamp;
  const explained = findings.some(
    (f) => f.severity === "error" || f.severity === "warning" || EXPLAINING.has(f.code),
  );
  if (pending && !explained) findings.push(unexplained(snapshot, pvc));
  const population = snapshot.population;
  const prime = population?.primePvc.state === "found" ? population.primePvc.value : undefined;
  const pod = population?.pod.state === "found" ? population.pod.value : undefined;
  const ref = pvc.spec?.dataSourceRef;
  const prefix = population?.controller.prefix;
  const events = [
    ...eventLines(
      `PersistentVolumeClaim ${snapshot.namespace}/${snapshot.name}`,
      listed(snapshot.pvcEvents),
      EVENTS_SHOWN,
    ),
    ...(prime
      ? eventLines(
          `PersistentVolumeClaim ${prime.metadata?.namespace}/${prime.metadata?.name}`,
          listed(population?.primePvcEvents),
          EVENTS_SHOWN,
        )
      : []),
  ];
  return report(
    snapshot.now,
    "pvc",
    subject,
    findings,
    {
      phase: pvc.status?.phase,
      storageClass: pvc.spec?.storageClassName,
      dataSource: ref
        ? `${ref.kind} ${sourceNamespace(pvc)}/${ref.name}${ref.apiGroup ? ` (${ref.apiGroup})` : ""}`
        : undefined,
      prefix: prefix && `${prefix} (from the ${population?.controller.prefixFrom})`,
      populatorNamespace:
        population?.populatorNamespace &&
        `${population.populatorNamespace.name} (from the ${population.populatorNamespace.from})`,
      primePvc: prime && `${prime.metadata?.namespace}/${prime.metadata?.name} (${prime.status?.phase})`,
      pod: pod && `${pod.metadata?.namespace}/${pod.metadata?.name} (${pod.status?.phase})`,
      progress: prefix ? pvc.metadata?.annotations?.[populateProgressAnnotation(prefix)] : undefined,
      volume: pvc.spec?.volumeName,
    },
    events,
  );
}

function listed<T>(read: Read<readonly T[]> | undefined): readonly T[] {
  return read?.state === "found" ? read.value : [];
}

function pvcFindings(s: PvcSnapshot, pvc: V1PersistentVolumeClaim): Finding[] {
  const name = `${s.namespace}/${s.name}`;
  const population = s.population;
  const prefix = population?.controller.prefix;
  if (pvc.metadata?.deletionTimestamp) {
    const finalizers = pvc.metadata.finalizers ?? [];
    return [
      finding("info", FindingCode.PvcBeingDeleted, {
        what: `The PVC is being deleted`,
        why: finalizers.length
          ? `It goes once its finalizers are removed: ${finalizers.join(", ")}. A populator's finalizer is removed after it cleaned up PVC' and its pod; kubernetes.io/pvc-protection once no pod uses the PVC.`
          : "It goes at any moment.",
        evidence: [`PVC ${name}: deletionTimestamp ${String(pvc.metadata.deletionTimestamp)}`],
      }),
    ];
  }
  if (pvc.status?.phase === "Lost") {
    return [
      finding("error", FindingCode.PvcLost, {
        what: `The PVC lost its volume ${pvc.spec?.volumeName ?? ""}`.trim(),
        why: "Its PV was deleted or no longer names it; the data is not reachable through this PVC.",
        fix: "Re-create the PVC (a populator fills the new one again), or restore the PV.",
        evidence: [`PVC ${name}: Lost`],
      }),
    ];
  }
  if (pvc.status?.phase === "Bound") return boundFindings(s, pvc);
  const ref = pvc.spec?.dataSourceRef;
  if (!ref) {
    return [
      finding("info", FindingCode.NoDataSource, {
        what: "The PVC has no dataSourceRef: nothing to populate",
        why: `It is provisioned empty, like any PVC.${serverSupportsDataSourceRef(s.server) ? "" : ` If you set spec.dataSourceRef, the API server dropped it: Kubernetes ${s.server.version} has AnyVolumeDataSource off by default (on from 1.24).`}`,
        evidence: [`PVC ${name}: no spec.dataSourceRef`],
      }),
      ...storageFindings(s, pvc),
    ];
  }
  if (isBuiltInDataSource(ref)) {
    return [
      finding("info", FindingCode.BuiltInDataSource, {
        what: `The PVC is a ${ref.kind === "VolumeSnapshot" ? "restore of a VolumeSnapshot" : "clone of another PVC"}: no populator is involved`,
        why: "The CSI driver fills it itself; its events (kubectl describe pvc) say how it goes.",
        evidence: [`PVC ${name}: dataSourceRef ${ref.kind} ${ref.name}`],
      }),
      ...storageFindings(s, pvc),
    ];
  }
  if (!population || !prefix) return storageFindings(s, pvc);
  return populatedPvcFindings(s, pvc, population, prefix);
}

function boundFindings(s: PvcSnapshot, pvc: V1PersistentVolumeClaim): Finding[] {
  const pv = s.volume?.state === "found" ? s.volume.value : undefined;
  const origin = Object.entries(pv?.metadata?.annotations ?? {}).find(([key]) =>
    key.endsWith("/populated-from"),
  );
  const findings = [
    finding("ok", FindingCode.PvcBound, {
      what: `The PVC is Bound to ${pvc.spec?.volumeName}`,
      why: origin ? `Its volume was populated from ${origin[1]}.` : "Nothing to do.",
      evidence: [
        `PVC ${s.namespace}/${s.name}: Bound, volume ${pvc.spec?.volumeName}`,
        origin && `PV ${pv?.metadata?.name}: ${origin[0]}=${origin[1]}`,
      ],
    }),
  ];
  const finalizer = pvc.metadata?.finalizers?.find((f) => f.endsWith("/populate-target-protection"));
  if (finalizer) {
    findings.push(
      finding("ok", FindingCode.PopulationFinishing, {
        what: "The populator is cleaning up",
        why: `It removes PVC' and its pod, then its finalizer ${finalizer}; the PVC can be used already.`,
      }),
    );
  }
  return findings;
}

function populatedPvcFindings(
  s: PvcSnapshot,
  pvc: V1PersistentVolumeClaim,
  population: PopulationFacts,
  prefix: string,
): Finding[] {
  const ref = pvc.spec?.dataSourceRef ?? { kind: "", name: "" };
  const group = ref.apiGroup ?? "";
  const subject = `${ref.kind} (${group || "core"})`;
  const sourceName = `${ref.kind} ${sourceNamespace(pvc)}/${ref.name}`;
  const findings: Finding[] = [];
  const pvcEvents = byTime(listed(s.pvcEvents));
  const populatorEvents = pvcEvents.filter((e) => eventComponent(e) === `${prefix}-populator`);
  const acted =
    (pvc.metadata?.finalizers?.includes(targetProtectionFinalizer(prefix)) ?? false) ||
    pvc.metadata?.annotations?.[populateProgressAnnotation(prefix)] !== undefined ||
    populatorEvents.length > 0 ||
    population.primePvc.state === "found";

  // What the cluster must offer before any controller can act.
  if (population.sourceKind.state === "absent") {
    findings.push(
      finding("error", FindingCode.SourceKindNotServed, {
        what: `The API server does not serve the kind ${subject}`,
        why: "The PVC's dataSourceRef names a kind no CRD defines here, so there is no such source and no populator for it.",
        fix: `Install the populator for ${ref.kind} (its CRD comes with it), or correct dataSourceRef (apiGroup and kind) and re-create the PVC.`,
        evidence: [`PVC dataSourceRef: apiGroup ${group || '""'}, kind ${ref.kind}`],
      }),
    );
  }
  const registration = registrationFinding(population, group, ref.kind, subject, pvcEvents, s.now);
  if (registration) findings.push(registration);

  // The controller.
  const controller = readController(population.controller, s.now, subject);
  findings.push(...controller.findings);
  const silent = silentWait(s, pvc, population);
  const created = Date.parse(String(pvc.metadata?.creationTimestamp ?? ""));
  const age = Number.isNaN(created) ? 0 : s.now - created;
  if (!controller.lease && population.controller.leases.state !== "unreadable") {
    if (acted) {
      const last = populatorEvents.at(-1);
      findings.push(
        finding("ok", FindingCode.ControllerSeen, {
          what: `The populator's controller (${prefix}) has acted on this PVC`,
          why: "It keeps no Lease (it runs without --leader-election), so doctor cannot tell whether it still runs; what it left shows it did.",
          evidence: [
            pvc.metadata?.finalizers?.includes(targetProtectionFinalizer(prefix))
              ? `PVC finalizer ${targetProtectionFinalizer(prefix)}`
              : undefined,
            last &&
              `last event by ${prefix}-populator${last.reportingInstance ? ` (${last.reportingInstance})` : ""}: ${describeEvent(last, s.now)}`,
            controller.podLine,
          ],
        }),
      );
    } else if (silent) {
      findings.push(
        finding("info", FindingCode.ControllerUnknown, {
          what: `Doctor cannot tell yet whether a controller serves ${subject}`,
          why: `No Lease ${prefix}-populator exists (controllers without --leader-election keep none), and a controller waits without a word while the StorageClass is missing or in-tree, or no pod uses a WaitForFirstConsumer PVC.`,
        }),
      );
    } else if (population.sourceKind.state === "found") {
      findings.push(
        age >= CONTROLLER_GRACE_MS
          ? finding("error", FindingCode.NoController, {
              what: `No controller populates ${subject}`,
              why: `The PVC is ${formatDuration(age)} old and no populator has touched it: no finalizer ${targetProtectionFinalizer(prefix)}, no progress, no event from ${prefix}-populator, no PVC', and no Lease ${prefix}-populator in any namespace.`,
              fix: `Install (or start) the populator for ${ref.kind}: kubectl get deploy -A | grep -i populator. If it uses another prefix than ${prefix}, pass --prefix.`,
              evidence: [`PVC created ${formatDuration(age)} ago`],
            })
          : waitingForController(age),
      );
    }
  } else if (controller.lease?.live && !acted && !silent && population.sourceKind.state === "found") {
    const lease = controller.lease;
    findings.push(
      age < CONTROLLER_GRACE_MS
        ? waitingForController(age)
        : finding("warning", FindingCode.ControllerNotActing, {
            what: `A controller leads for ${subject} but has not acted on this PVC in ${formatDuration(age)}`,
            why: "It should have added its finalizer or reported on the PVC by now: it may be stuck, or watch another kind than its Lease's name suggests.",
            fix: `Read its log: kubectl -n ${lease.namespace} logs <pod of ${lease.holder}>`,
            evidence: [describeLease(lease)],
          }),
    );
  }

  findings.push(...sourceFindings(s, pvc, population, sourceName, populatorEvents));
  findings.push(...storageFindings(s, pvc));
  const tookInHand = pvc.metadata?.finalizers?.includes(targetProtectionFinalizer(prefix)) ?? false;
  findings.push(
    ...populationFindings({ now: s.now, pvc, prefix, facts: population, populatorEvents, tookInHand }),
  );
  return findings;
}

function waitingForController(age: number): Finding {
  return finding("info", FindingCode.WaitingForController, {
    what: `The PVC is new (${formatDuration(age)}); the populator's controller has not acted yet`,
    why: "A controller takes a new PVC in hand within seconds.",
  });
}

function registrationFinding(
  population: PopulationFacts,
  group: string,
  kind: string,
  subject: string,
  pvcEvents: readonly CoreV1Event[],
  now: number,
): Finding | undefined {
  const registered = population.volumePopulators;
  if (registered.state !== "found") return undefined;
  if (registered.value.some((v) => (v.sourceKind?.group ?? "") === group && v.sourceKind?.kind === kind)) {
    return undefined;
  }
  const warning = pvcEvents.filter((e) => e.reason === "UnrecognizedDataSourceKind").at(-1);
  return finding("warning", FindingCode.KindNotRegistered, {
    what: `No VolumePopulator registers ${subject}`,
    why: "Populators register the kind they serve; none did, so most likely no populator for it is installed (the data-source validator warns about such PVCs).",
    fix: `Install the populator for ${kind}, or register it: a VolumePopulator with sourceKind {group: ${group || '""'}, kind: ${kind}}.`,
    evidence: [
      `${registered.value.length} VolumePopulators, none for ${group}/${kind}`,
      warning && describeEvent(warning, now),
    ],
  });
}

/**
 * Whether the controller, if there is one, waits without a word (reconcile.ts): once the source is
 * there, for a StorageClass, or for a consumer. No sign of it then proves nothing.
 */
function silentWait(s: PvcSnapshot, pvc: V1PersistentVolumeClaim, population: PopulationFacts): boolean {
  // A missing source, one in another namespace or an invalid one gets a warning first.
  if (population.source?.state !== "found" || sourceNamespace(pvc) !== s.namespace) return false;
  const storageClass = s.storageClass?.state === "found" ? s.storageClass.value : undefined;
  if (!storageClass) return true;
  if (storageClass.provisioner.startsWith("kubernetes.io/")) return true;
  return (
    storageClass.volumeBindingMode === "WaitForFirstConsumer" &&
    !pvc.metadata?.annotations?.[SELECTED_NODE_ANNOTATION]
  );
}

function sourceFindings(
  s: PvcSnapshot,
  pvc: V1PersistentVolumeClaim,
  population: PopulationFacts,
  sourceName: string,
  populatorEvents: readonly CoreV1Event[],
): Finding[] {
  const findings: Finding[] = [];
  const ref = pvc.spec?.dataSourceRef;
  const sourceNs = sourceNamespace(pvc);
  const last = populatorEvents.at(-1);
  if (sourceNs !== s.namespace) {
    if (last?.reason === EventReason.CrossNamespaceNotAllowed) {
      findings.push(
        finding("error", FindingCode.CrossNamespaceNotAllowed, {
          what: `The populator does not take sources from other namespaces, and ${sourceName} is in ${sourceNs}`,
          why: "Its controller runs without cross-namespace sources allowed.",
          fix: "Put the source in the PVC's namespace, or have the populator's operator allow cross-namespace sources.",
          evidence: [describeEvent(last, s.now)],
        }),
      );
    } else if (population.referenceGrants?.state === "absent") {
      findings.push(
        finding("error", FindingCode.CrossNamespaceNotGranted, {
          what: `Nothing allows this PVC to use ${sourceName} from namespace ${sourceNs}`,
          why: "A source in another namespace needs a gateway-api ReferenceGrant there, and the ReferenceGrant CRD is not installed.",
          fix: "Install gateway-api's ReferenceGrant CRD and create a grant in the source's namespace, or move the source.",
        }),
      );
    } else if (
      population.referenceGrants?.state === "found" &&
      !grantAllows(population.referenceGrants.value, pvc)
    ) {
      findings.push(
        finding("error", FindingCode.CrossNamespaceNotGranted, {
          what: `No ReferenceGrant in namespace ${sourceNs} lets PVCs of ${s.namespace} use ${sourceName}`,
          why: "A source in another namespace is used only when its namespace grants it.",
          fix: `Create in ${sourceNs}: a ReferenceGrant (gateway.networking.k8s.io/v1beta1) from {group: "", kind: PersistentVolumeClaim, namespace: ${s.namespace}} to {group: ${ref?.apiGroup || '""'}, kind: ${ref?.kind}, name: ${ref?.name}}.`,
          evidence: [
            `${population.referenceGrants.value.length} ReferenceGrants in ${sourceNs}, none matching`,
          ],
        }),
      );
    }
  }
  if (population.source?.state === "absent") {
    findings.push(
      finding("error", FindingCode.SourceNotFound, {
        what: `The data source ${sourceName} does not exist`,
        why: "The PVC's dataSourceRef names it; the populator waits for it and populates as soon as it is created.",
        fix: `Create it (kubectl -n ${sourceNs} get ${ref?.kind?.toLowerCase()} lists what there is), or re-create the PVC naming one that exists.`,
      }),
    );
  } else if (population.source?.state === "found") {
    const invalid = last?.reason === EventReason.DataSourceInvalid ? last : undefined;
    if (invalid) {
      findings.push(
        finding("error", FindingCode.SourceInvalid, {
          what: `The data source ${sourceName} is invalid`,
          why: invalid.message?.trim() ?? "",
          fix: `Correct its spec (kubectl -n ${sourceNs} edit ${ref?.kind?.toLowerCase()} ${ref?.name}); the populator tries again as soon as it changes.`,
          evidence: [describeEvent(invalid, s.now)],
        }),
      );
    }
  }
  return findings;
}

/** The StorageClass and, with WaitForFirstConsumer, the consumer. */
function storageFindings(s: PvcSnapshot, pvc: V1PersistentVolumeClaim): Finding[] {
  if (pvc.status?.phase === "Bound") return [];
  const className = pvc.spec?.storageClassName;
  if (className === "") {
    return [
      finding("error", FindingCode.NoStorageClass, {
        what: 'The PVC asks for no StorageClass (storageClassName "")',
        why: "Such a PVC binds only to a PV made by hand without a class: nothing provisions it, and no populator takes it (a populator provisions PVC' through the PVC's class).",
        fix: "Re-create it with spec.storageClassName naming a class (kubectl get storageclass lists them).",
        evidence: [`PVC ${s.namespace}/${s.name}: storageClassName ""`],
      }),
    ];
  }
  if (className === undefined) {
    return [
      finding("error", FindingCode.NoStorageClass, {
        what: "The PVC names no StorageClass",
        why: "There was no default StorageClass when it was created, so nothing provisions it and no populator takes it.",
        fix: "Re-create it with spec.storageClassName (kubectl get storageclass lists them), or mark a class as the default first.",
      }),
    ];
  }
  const read = s.storageClass;
  if (read?.state === "absent") {
    return [
      finding("error", FindingCode.StorageClassMissing, {
        what: `StorageClass ${className} does not exist`,
        why: "The PVC names it; nothing is provisioned or populated until it exists (then it starts by itself).",
        fix: `Create StorageClass ${className}, or re-create the PVC with an existing one (kubectl get storageclass).`,
      }),
    ];
  }
  if (read?.state !== "found") return [];
  const storageClass: V1StorageClass = read.value;
  if (s.population && storageClass.provisioner.startsWith("kubernetes.io/")) {
    return [
      finding("error", FindingCode.InTreeProvisioner, {
        what: `StorageClass ${className} uses the in-tree provisioner ${storageClass.provisioner}, which populators cannot work with`,
        why: "A populator provisions PVC' through the class's provisioner and hands its volume over; Kubernetes' built-in provisioners are skipped (as upstream's populators skip them).",
        fix: "Use a StorageClass of a CSI driver.",
        evidence: [`StorageClass ${className}: provisioner ${storageClass.provisioner}`],
      }),
    ];
  }
  const waits = storageClass.volumeBindingMode === "WaitForFirstConsumer";
  if (!waits || pvc.metadata?.annotations?.[SELECTED_NODE_ANNOTATION]) return [];
  const consumers = s.consumers?.state === "found" ? s.consumers.value : [];
  const unscheduled = consumers
    .map((pod) => ({ pod, trouble: podTrouble(pod) }))
    .find((c) => c.trouble?.kind === "unschedulable");
  if (unscheduled?.trouble?.kind === "unschedulable") {
    return [
      finding("warning", FindingCode.ConsumerNotScheduled, {
        what: `Pod ${unscheduled.pod.metadata?.name} uses the PVC but cannot be scheduled`,
        why: `StorageClass ${className} binds on first use: the volume is made where the scheduler places the first pod using it, and it has not placed ${unscheduled.pod.metadata?.name}: ${unscheduled.trouble.message}`,
        fix: `kubectl -n ${s.namespace} describe pod ${unscheduled.pod.metadata?.name}`,
      }),
    ];
  }
  const quotas = s.quotas.state === "found" ? s.quotas.value : [];
  const noRoom = consumers.length === 0 ? quotaShortfalls(quotas, { pod: true }) : [];
  return [
    finding("info", FindingCode.WaitingForConsumer, {
      what: `The PVC waits for a pod that uses it (StorageClass ${className} binds on first use)`,
      why: `With volumeBindingMode WaitForFirstConsumer nothing is provisioned or populated until the scheduler places a pod that mounts the PVC.${consumers.length > 0 ? ` Pods using it: ${consumers.map(podName).join(", ")}.` : ""}`,
      fix:
        consumers.length === 0
          ? `Create a pod (or Job) that mounts it.${noRoom.length > 0 ? " A ResourceQuota in this namespace leaves no room for one, though." : ""}`
          : "",
      evidence: [
        `StorageClass ${className}: volumeBindingMode WaitForFirstConsumer`,
        ...noRoom.map(
          (q) => `ResourceQuota ${q.namespace}/${q.quota}: ${q.resource} used ${q.used} of ${q.hard}`,
        ),
      ],
    }),
  ];
}

function podName(pod: V1Pod): string {
  return pod.metadata?.name ?? "";
}

function unexplained(s: PvcSnapshot, pvc: V1PersistentVolumeClaim): Finding {
  const last = byTime(listed(s.pvcEvents)).at(-1);
  return finding("warning", FindingCode.Unexplained, {
    what: "The PVC is Pending and doctor sees no reason why",
    why: "None of the stuck states doctor knows applies; the PVC's own events may say more.",
    fix: `kubectl -n ${s.namespace} describe pvc ${s.name}`,
    evidence: [`PVC ${s.namespace}/${s.name}: ${pvc.status?.phase}`, last && describeEvent(last, s.now)],
  });
}

/** Every read of the snapshot that failed. */
function collectUnreadable(value: unknown, into: Read<unknown>[] = []): Read<unknown>[] {
  if (Array.isArray(value)) {
    for (const item of value) collectUnreadable(item, into);
  } else if (value !== null && typeof value === "object") {
    const state = (value as { state?: unknown }).state;
    if (state === "unreadable") into.push(value as Read<unknown>);
    else if (state !== "found" && state !== "absent") {
      for (const inner of Object.values(value)) collectUnreadable(inner, into);
    }
  }
  return into;
}
