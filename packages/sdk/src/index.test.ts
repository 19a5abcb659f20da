import { describe, expect, it } from "vitest";
import * as doctor from "./doctor/index.ts";
import * as authors from "./index.ts";
import * as run from "./run.ts";
import * as runtime from "./runtime.ts";
import * as fastpath from "./strategies/csi-fastpath/index.ts";
import * as testing from "./testing.ts";

// The public surface changes only on purpose: a new or removed export shows up here in review, entry
// point by entry point.
describe("@volpop/sdk public API", () => {
  it("@volpop/sdk (populator authors) exports exactly these values", () => {
    expect(Object.keys(authors).sort()).toMatchInlineSnapshot(`
      [
        "ApiError",
        "CliUsageError",
        "ConfigError",
        "DEFAULT_DEVICE_PATH",
        "DEFAULT_MOUNT_PATH",
        "DEFAULT_POD_DEADLINE_SECONDS",
        "ErrorCode",
        "EventReason",
        "LOG_LEVELS",
        "POPULATOR_UID",
        "SPEC_ENV",
        "SourceInvalidError",
        "TerminalError",
        "TransientError",
        "Type",
        "VolpopError",
        "blockTargetSize",
        "createLogger",
        "defaultSettings",
        "defineSpec",
        "detectTarget",
        "deviceNumbers",
        "functionStrategy",
        "podStrategy",
        "progressReporter",
        "quantityToBytes",
        "readSpec",
        "refine",
        "runPopulator",
        "toVolpopError",
      ]
    `);
  });

  it("@volpop/sdk/run exports exactly these values", () => {
    expect(Object.keys(run).sort()).toMatchInlineSnapshot(`
      [
        "Type",
        "defineSpec",
        "refine",
        "runPopulator",
      ]
    `);
  });

  it("@volpop/sdk/runtime (the controller machinery) exports exactly these values", () => {
    expect(Object.keys(runtime).sort()).toMatchInlineSnapshot(`
      [
        "DEFAULT_BASE_DELAY_MS",
        "DEFAULT_LEASE_DURATION_MS",
        "DEFAULT_MAX_DELAY_MS",
        "DEFAULT_RENEW_DEADLINE_MS",
        "DEFAULT_RETRY_PERIOD_MS",
        "DEFAULT_WORKERS",
        "FUNCTION_STRATEGY",
        "FunctionRuntime",
        "LEADERSHIP_LOST",
        "LeadershipLostError",
        "MANAGED_BY_LABEL",
        "OPERATION_SECONDS_BUCKETS",
        "POPULATE_FOR_LABEL",
        "POPULATOR_CONTAINER_NAME",
        "POPULATOR_VOLUME_NAME",
        "SELECTED_NODE_ANNOTATION",
        "WorkQueue",
        "addPopulator",
        "applyMutator",
        "copiedObjectName",
        "createController",
        "createManager",
        "createPopulatorController",
        "createPopulatorMetrics",
        "defineFlags",
        "describeProgress",
        "failpoint",
        "failpointLine",
        "flagUsage",
        "formatGoDuration",
        "formatProgressLine",
        "httpEndpointFlags",
        "isAlreadyExists",
        "isConflict",
        "isNotFound",
        "kubeconfigFlags",
        "lastProgress",
        "leaderElectionCheck",
        "leaderElectionFlags",
        "leaderElectionTimingProblems",
        "logLevelOf",
        "loggingFlags",
        "parseFlags",
        "parseGoDuration",
        "parseListenAddress",
        "parsePopulatorArgs",
        "podHardeningProblems",
        "podIdentityProblems",
        "populateAttemptsAnnotation",
        "populateProgressAnnotation",
        "populateStateAnnotation",
        "populateStrategyAnnotation",
        "populatedFromAnnotation",
        "populatorKey",
        "populatorPodName",
        "primePvcName",
        "primePvcProblems",
        "reconcile",
        "reconcileLogger",
        "registerVolumePopulator",
        "reuseConnections",
        "runWithLeaderElection",
        "startHttpEndpoint",
        "systemClock",
        "targetProtectionFinalizer",
        "volumePopulatorName",
        "watchCollection",
        "workQueueMetrics",
      ]
    `);
  });

  it("@volpop/sdk/fastpath (storage vendors) exports exactly these values", () => {
    expect(Object.keys(fastpath).sort()).toMatchInlineSnapshot(`
      [
        "BackendCallError",
        "BackendClient",
        "BackendRpcError",
        "DataMovement",
        "ERROR_DETAIL_METADATA_KEY",
        "ErrorDetail",
        "FAST_PATH",
        "FastPathEventReason",
        "FastPathOperations",
        "GetBackendInfoResponse",
        "GrpcCode",
        "Operation",
        "OperationState",
        "PROTOCOL_LIMITS",
        "PopulateRequest",
        "PopulatorBackendClient",
        "PopulatorBackendService",
        "VolumeMode",
        "backendError",
        "clientCredentials",
        "csiFastPathStrategy",
        "describeEndpoint",
        "errorDetailOf",
        "fastPathBackendAnnotation",
        "fastPathMetrics",
        "grpcCodeName",
        "parseEndpoint",
        "readMutualTls",
        "runConformance",
        "serveBackend",
        "serverCredentials",
      ]
    `);
  });

  it("@volpop/sdk/doctor (operators) exports exactly these values", () => {
    expect(Object.keys(doctor).sort()).toMatchInlineSnapshot(`
      [
        "DoctorConnectionError",
        "FindingCode",
        "REPORT_SCHEMA",
        "diagnoseCluster",
        "diagnosePvc",
        "doctorCluster",
        "doctorPvc",
        "exitCodeOf",
        "gatherClusterSnapshot",
        "gatherPvcSnapshot",
        "renderJson",
        "renderText",
        "runDoctorCli",
      ]
    `);
  });

  it("@volpop/sdk/testing (test doubles) exports exactly these values", () => {
    expect(Object.keys(testing).sort()).toMatchInlineSnapshot(`
      [
        "CSI_DRIVER",
        "FASTPATH_ENDPOINT",
        "FINALIZER",
        "FakeClock",
        "FakeInformer",
        "MemoryBackend",
        "NOW",
        "POPULATOR_NAMESPACE",
        "PREFIX",
        "PRIME_UID",
        "PVC_NAME",
        "PVC_UID",
        "PV_NAME",
        "SOURCE_KIND",
        "SOURCE_NAME",
        "SOURCE_UID",
        "STORAGE_CLASS",
        "USER_NAMESPACE",
        "backendView",
        "crdSpecSchema",
        "downBackend",
        "failedPod",
        "fakePopulator",
        "fakeStrategy",
        "fillInput",
        "observed",
        "operationView",
        "ourPvc",
        "pod",
        "primePvc",
        "pv",
        "pvc",
        "settings",
        "source",
        "sourceObject",
        "storageClass",
      ]
    `);
  });

  it("no name is exported by two entry points, so each has one home", () => {
    const seen = new Map<string, string>();
    const twice: string[] = [];
    for (const [entry, names] of Object.entries({ authors, runtime, fastpath, testing })) {
      for (const name of Object.keys(names)) {
        const first = seen.get(name);
        if (first) twice.push(`${name}: ${first} and ${entry}`);
        else seen.set(name, entry);
      }
    }
    expect(twice).toEqual([]);
  });
});
