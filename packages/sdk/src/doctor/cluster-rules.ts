/**
 * `volpop doctor cluster`: whether the cluster is ready for volume populators, from a
 * {@link ClusterSnapshot}: AnyVolumeDataSource, the data-source validator, and for each registered
 * populator whether its kind is served and a live controller serves it. Pure.
 */
import type { V1PersistentVolumeClaim } from "@kubernetes/client-node";
import { describePod, readController } from "./controller-rules.ts";
import { cannotRead, type Finding, FindingCode, finding } from "./findings.ts";
import { byTime, describeEvent, eventTimeMs, formatDuration } from "./kube-facts.ts";
import { type DoctorReport, report } from "./report.ts";
import { anyVolumeDataSourceFinding } from "./server-rules.ts";
import type { ClusterSnapshot, PopulatorFacts, Read, ValidatorFacts } from "./snapshot.ts";

/** How many waiting PVCs a finding names. */
const PVCS_NAMED = 10;

/** Diagnoses the cluster. */
export function diagnoseCluster(s: ClusterSnapshot): DoctorReport {
  const pvcs = s.populatedPvcs.state === "found" ? s.populatedPvcs.value : [];
  const findings: Finding[] = [anyVolumeDataSourceFinding(s.server, pvcs.length > 0)];
  findings.push(...validatorFindings(s));
  const registered = s.volumePopulators.state === "found" ? s.volumePopulators.value : undefined;
  if (registered?.length === 0) {
    findings.push(
      finding("info", FindingCode.NoVolumePopulators, {
        what: "No populator is registered (no VolumePopulator)",
        why: "Each populator registers the kind it serves with a VolumePopulator; PVCs naming other kinds stay Pending.",
      }),
    );
  }
  const pending = pvcs.filter((pvc) => pvc.status?.phase === "Pending");
  for (const populator of s.populators) findings.push(...populatorFindings(s, populator, pending));
  if (registered) {
    const known = new Set(registered.map((v) => `${v.sourceKind?.group ?? ""}/${v.sourceKind?.kind}`));
    const orphans = pending.filter((pvc) => !known.has(kindKey(pvc)));
    for (const [key, group] of groupBy(orphans, kindKey)) {
      findings.push(
        finding("warning", FindingCode.KindNotRegistered, {
          what: `${group.length} PVC${group.length === 1 ? "" : "s"} name${group.length === 1 ? "s" : ""} the kind ${key}, which no VolumePopulator registers`,
          why: "No populator for that kind is registered, so most likely none is installed and they stay Pending.",
          fix: "Install the populator for that kind, or correct the PVCs' dataSourceRef.",
          evidence: namePvcs(group),
        }),
      );
    }
  }
  const unreadable = cannotRead(readsOf(s));
  if (unreadable) findings.push(unreadable);
  return report(s.now, "cluster", `Kubernetes ${s.server.version}`, findings, {
    server: s.server.version,
    volumePopulators: registered ? String(registered.length) : undefined,
    populatedPvcs: s.populatedPvcs.state === "found" ? String(pvcs.length) : undefined,
    pendingPopulatedPvcs: s.populatedPvcs.state === "found" ? String(pending.length) : undefined,
  });
}

function validatorFindings(s: ClusterSnapshot): Finding[] {
  if (s.volumePopulators.state === "absent") {
    return [
      finding("warning", FindingCode.ValidatorNotInstalled, {
        what: "The data-source validator is not installed (no VolumePopulator CRD)",
        why: "Without it, a PVC naming a kind no populator serves stays Pending without a word, and populators cannot register.",
        fix: "kubectl apply -k packages/validator/deploy (see the validator's README).",
      }),
    ];
  }
  if (s.validators.state !== "found") return [];
  const deployments = s.validators.value;
  if (deployments.length === 0) {
    return [
      finding("warning", FindingCode.ValidatorNotInstalled, {
        what: "The VolumePopulator CRD is installed but no data-source validator runs",
        why: "No Deployment named volume-data-source-validator in any namespace: nobody warns about PVCs naming kinds no populator serves.",
        fix: "kubectl apply -k packages/validator/deploy",
      }),
    ];
  }
  const healthy = deployments.find((v) => (v.deployment.status?.availableReplicas ?? 0) > 0);
  if (healthy) {
    return [
      finding("ok", FindingCode.ValidatorRunning, {
        what: `The data-source validator runs (${name(healthy)})`,
        why: "It warns on PVCs whose dataSourceRef names a kind no VolumePopulator registers.",
        evidence: [describeDeployment(healthy)],
      }),
    ];
  }
  return deployments.map((validator) => {
    const pods = validator.pods.state === "found" ? validator.pods.value : [];
    return finding("error", FindingCode.ValidatorUnhealthy, {
      what: `The data-source validator ${name(validator)} has no available replica`,
      why: "PVCs naming unknown kinds go unreported until it runs.",
      fix: `kubectl -n ${validator.deployment.metadata?.namespace} describe deploy ${validator.deployment.metadata?.name}`,
      evidence: [describeDeployment(validator), ...pods.map(describePod)],
    });
  });
}

function name(validator: ValidatorFacts): string {
  return `${validator.deployment.metadata?.namespace}/${validator.deployment.metadata?.name}`;
}

function describeDeployment(validator: ValidatorFacts): string {
  const status = validator.deployment.status;
  return `Deployment ${name(validator)}: ${status?.availableReplicas ?? 0} of ${validator.deployment.spec?.replicas ?? 1} available`;
}

function populatorFindings(
  s: ClusterSnapshot,
  populator: PopulatorFacts,
  pending: readonly V1PersistentVolumeClaim[],
): Finding[] {
  const subject = `${populator.kind} (${populator.group || "core"})`;
  const findings: Finding[] = [];
  if (populator.sourceKind.state === "absent") {
    findings.push(
      finding("error", FindingCode.SourceKindNotServed, {
        what: `VolumePopulator ${populator.name} registers ${subject}, which the API server does not serve`,
        why: "Its CRD is not installed (or was removed): no source of that kind can exist.",
        fix: `Install the populator's CRD, or delete the stale registration: kubectl delete volumepopulator ${populator.name}`,
      }),
    );
  }
  const controller = readController(populator.controller, s.now, subject);
  findings.push(...controller.findings);
  if (!controller.lease && populator.controller.leases.state === "found") {
    const events =
      populator.controller.events?.state === "found" ? byTime(populator.controller.events.value) : [];
    const last = events.at(-1);
    findings.push(
      last
        ? finding("ok", FindingCode.ControllerSeen, {
            what: `A controller for ${subject} acted ${formatDuration(s.now - eventTimeMs(last))} ago`,
            why: `It keeps no Lease ${populator.controller.prefix}-populator (no --leader-election), so only its events show it; whether it still runs, doctor cannot tell.`,
            evidence: [
              `${last.involvedObject?.kind} ${last.involvedObject?.namespace}/${last.involvedObject?.name}${last.reportingInstance ? ` by ${last.reportingInstance}` : ""}: ${describeEvent(last, s.now)}`,
              controller.podLine,
            ],
          })
        : finding("info", FindingCode.ControllerUnknown, {
            what: `Doctor cannot tell whether a controller serves ${subject}`,
            why: `There is no Lease ${populator.controller.prefix}-populator (controllers without --leader-election keep none) and no event from ${populator.controller.prefix}-populator.`,
            fix: "Look for the populator's Deployment: kubectl get deploy -A | grep -i populator",
          }),
    );
  }
  const waiting = pending.filter((pvc) => kindKey(pvc) === `${populator.group}/${populator.kind}`);
  if (waiting.length > 0) {
    findings.push(
      finding("info", FindingCode.PvcsWaiting, {
        what: `${waiting.length} PVC${waiting.length === 1 ? "" : "s"} of ${subject} ${waiting.length === 1 ? "is" : "are"} not Bound yet`,
        why: "Each is either being populated or stuck; volpop doctor pvc says which.",
        fix: `volpop doctor pvc ${waiting[0]?.metadata?.name} -n ${waiting[0]?.metadata?.namespace}`,
        evidence: namePvcs(waiting),
      }),
    );
  }
  return findings;
}

function kindKey(pvc: V1PersistentVolumeClaim): string {
  const ref = pvc.spec?.dataSourceRef;
  return `${ref?.apiGroup ?? ""}/${ref?.kind}`;
}

function namePvcs(pvcs: readonly V1PersistentVolumeClaim[]): string[] {
  const named = pvcs
    .slice(0, PVCS_NAMED)
    .map((pvc) => `PVC ${pvc.metadata?.namespace}/${pvc.metadata?.name}`);
  return pvcs.length > PVCS_NAMED ? [...named, `and ${pvcs.length - PVCS_NAMED} more`] : named;
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}

function readsOf(s: ClusterSnapshot): Read<unknown>[] {
  return [
    s.volumePopulators,
    s.validators,
    s.populatedPvcs,
    ...s.populators.flatMap((p) => [
      p.sourceKind,
      p.controller.leases,
      ...(p.controller.events ? [p.controller.events] : []),
      ...(p.controller.pod ? [p.controller.pod.pod] : []),
    ]),
    ...(s.validators.state === "found" ? s.validators.value.map((v) => v.pods) : []),
  ];
}
