/**
 * What `volpop doctor` concludes: findings with a stable `code` (scripts key on it; the words may
 * improve), ordered most serious first. docs/troubleshooting.md lists every code.
 */

/**
 * `error`: stuck until someone acts; `warning`: probably wrong, or stuck in a way that may clear up;
 * `info`: how things stand, nothing wrong; `ok`: a check passed.
 */
export type Severity = "error" | "warning" | "info" | "ok";

export interface Finding {
  readonly severity: Severity;
  /** Stable identifier, e.g. `SOURCE_NOT_FOUND`. */
  readonly code: FindingCode;
  /** What is the matter, in one sentence. */
  readonly what: string;
  /** Why it matters or why it happens. */
  readonly why: string;
  /** What to do; empty when there is nothing to do. */
  readonly fix: string;
  /** What doctor saw that shows it: object, field or event, one line each. */
  readonly evidence: readonly string[];
}

/** Every finding code; `doctor pvc` and `doctor cluster` share those that mean the same. */
export const FindingCode = {
  // The PVC itself.
  PvcNotFound: "PVC_NOT_FOUND",
  PvcBound: "PVC_BOUND",
  PopulationFinishing: "POPULATION_FINISHING",
  PvcLost: "PVC_LOST",
  PvcBeingDeleted: "PVC_BEING_DELETED",
  NoDataSource: "NO_DATA_SOURCE",
  BuiltInDataSource: "BUILT_IN_DATA_SOURCE",
  // The cluster's support for populators.
  AnyVolumeDataSourceEnabled: "ANY_VOLUME_DATA_SOURCE_ENABLED",
  AnyVolumeDataSourceUnknown: "ANY_VOLUME_DATA_SOURCE_UNKNOWN",
  AnyVolumeDataSourceDisabled: "ANY_VOLUME_DATA_SOURCE_DISABLED",
  SourceKindNotServed: "SOURCE_KIND_NOT_SERVED",
  KindNotRegistered: "KIND_NOT_REGISTERED",
  ValidatorNotInstalled: "VALIDATOR_NOT_INSTALLED",
  ValidatorRunning: "VALIDATOR_RUNNING",
  ValidatorUnhealthy: "VALIDATOR_UNHEALTHY",
  NoVolumePopulators: "NO_VOLUME_POPULATORS",
  // The populator's controller.
  ControllerLeading: "CONTROLLER_LEADING",
  ControllerSeen: "CONTROLLER_SEEN",
  ControllerUnknown: "CONTROLLER_UNKNOWN",
  WaitingForController: "WAITING_FOR_CONTROLLER",
  NoController: "NO_CONTROLLER",
  NoLeader: "NO_LEADER",
  ControllerNotActing: "CONTROLLER_NOT_ACTING",
  ControllerPodUnhealthy: "CONTROLLER_POD_UNHEALTHY",
  // The data source.
  CrossNamespaceNotAllowed: "CROSS_NAMESPACE_NOT_ALLOWED",
  CrossNamespaceNotGranted: "CROSS_NAMESPACE_NOT_GRANTED",
  SourceNotFound: "SOURCE_NOT_FOUND",
  SourceInvalid: "SOURCE_INVALID",
  // Storage.
  NoStorageClass: "NO_STORAGE_CLASS",
  StorageClassMissing: "STORAGE_CLASS_MISSING",
  InTreeProvisioner: "IN_TREE_PROVISIONER",
  WaitingForConsumer: "WAITING_FOR_CONSUMER",
  ConsumerNotScheduled: "CONSUMER_NOT_SCHEDULED",
  // The population's own objects.
  QuotaExceeded: "QUOTA_EXCEEDED",
  CreatingPrimePvc: "CREATING_PRIME_PVC",
  PrimePvcNotCreated: "PRIME_PVC_NOT_CREATED",
  PrimePvcPending: "PRIME_PVC_PENDING",
  FastPath: "FAST_PATH",
  WaitingForPod: "WAITING_FOR_POD",
  PodNotCreated: "POD_NOT_CREATED",
  PodPending: "POD_PENDING",
  PodUnschedulable: "POD_UNSCHEDULABLE",
  PodImagePull: "POD_IMAGE_PULL",
  PodCannotStart: "POD_CANNOT_START",
  PodCrashLoop: "POD_CRASH_LOOP",
  PodFailed: "POD_FAILED",
  Populating: "POPULATING",
  Retrying: "RETRYING",
  GaveUp: "GAVE_UP",
  HandingOver: "HANDING_OVER",
  // Doctor itself.
  PvcsWaiting: "PVCS_WAITING",
  CannotRead: "CANNOT_READ",
  Unexplained: "UNEXPLAINED",
} as const;

export type FindingCode = (typeof FindingCode)[keyof typeof FindingCode];

const RANK: Readonly<Record<Severity, number>> = { error: 0, warning: 1, info: 2, ok: 3 };

/**
 * Most serious first; findings of one severity keep the order the rules found them in, which
 * follows a population's course, so the first error is the one to fix first.
 */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  return findings
    .map((finding, index) => ({ finding, index }))
    .sort((a, b) => RANK[a.finding.severity] - RANK[b.finding.severity] || a.index - b.index)
    .map(({ finding }) => finding);
}

/** 1 when something is wrong (an error or a warning), else 0. (2, usage or connection, is the CLI's.) */
export function exitCodeOf(findings: readonly Finding[]): 0 | 1 {
  return findings.some((f) => f.severity === "error" || f.severity === "warning") ? 1 : 0;
}

/** A finding; `fix` and `evidence` may be left out. */
export function finding(
  severity: Severity,
  code: FindingCode,
  text: { what: string; why: string; fix?: string; evidence?: readonly (string | undefined)[] },
): Finding {
  return {
    severity,
    code,
    what: text.what,
    why: text.why,
    fix: text.fix ?? "",
    evidence: (text.evidence ?? []).filter((line): line is string => line !== undefined && line !== ""),
  };
}

/**
 * CANNOT_READ for the reads that failed (RBAC, an error), or undefined: doctor concludes nothing
 * from what it could not see, and says what that was. A warning by default: the view is incomplete.
 */
export function cannotRead(
  reads: readonly { readonly state: string; readonly what?: string; readonly reason?: string }[],
  severity: Severity = "warning",
): Finding | undefined {
  const failed = reads.filter((r) => r.state === "unreadable");
  if (failed.length === 0) return undefined;
  return finding(severity, FindingCode.CannotRead, {
    what: `Doctor could not read ${failed.length === 1 ? "one thing" : `${failed.length} things`}; its conclusions leave them out`,
    why: "Usually missing RBAC rights: docs/troubleshooting.md lists what doctor reads (a ClusterRole for it is in docs/doctor-rbac.yaml).",
    fix: "Run doctor with rights to read these, or read them yourself.",
    evidence: failed.map((r) => `${r.what}: ${r.reason}`),
  });
}
