/**
 * `@volpop/sdk/doctor`: why a PVC is not Bound yet, and whether a cluster is ready for volume
 * populators, in plain words (what `npx volpop doctor` prints). Read-only. A gatherer reads a
 * snapshot from the API server; pure rules judge it into findings with stable codes; renderers
 * print text or JSON. See docs/troubleshooting.md.
 *
 * @module @volpop/sdk/doctor
 */
export { runDoctorCli } from "./cli.ts";
export { diagnoseCluster } from "./cluster-rules.ts";
export { doctorCluster, doctorPvc } from "./doctor.ts";
export { exitCodeOf, type Finding, FindingCode, type Severity } from "./findings.ts";
export {
  DoctorConnectionError,
  type GatherOptions,
  gatherClusterSnapshot,
  gatherPvcSnapshot,
} from "./gather.ts";
export { diagnosePvc } from "./pvc-rules.ts";
export { renderJson, renderText } from "./render.ts";
export { type DoctorReport, type EventLine, REPORT_SCHEMA } from "./report.ts";
export type {
  ClusterSnapshot,
  ControllerFacts,
  PopulationFacts,
  PopulatorFacts,
  PopulatorNamespace,
  PrefixOrigin,
  PvcSnapshot,
  Read,
  ServedKind,
  ServerFacts,
  ValidatorFacts,
  VolumePopulatorObject,
} from "./snapshot.ts";
