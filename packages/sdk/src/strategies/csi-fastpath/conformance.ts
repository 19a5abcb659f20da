import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { status } from "@grpc/grpc-js";
import { BackendCallError, BackendClient } from "./backend-client.ts";
import { grpcCodeName } from "./backend-error.ts";
import { type BackendEndpoint, type MutualTls, parseEndpoint } from "./endpoint.ts";
import {
  type GetBackendInfoResponse,
  type Operation,
  OperationState,
  PopulateRequest,
  PROTOCOL_LIMITS,
  VolumeMode,
} from "./protocol.ts";

/** A volume the backend manages and may overwrite, and a source it can fill it from. */
export interface ConformanceVolume {
  readonly csiDriver: string;
  readonly volumeHandle: string;
  readonly volumeAttributes?: Readonly<Record<string, string>>;
  readonly capacityBytes: number;
  readonly volumeMode: "Filesystem" | "Block";
  readonly sourceKind: { readonly group: string; readonly kind: string };
  /** The source custom resource, as the controller would send it. */
  readonly sourceJson: string;
  /** A second volume, for the "same operation id, other volume" check. Optional. */
  readonly otherVolumeHandle?: string;
}

export interface ConformanceOptions {
  readonly endpoint: string | BackendEndpoint;
  readonly tls?: MutualTls | undefined;
  /** Without it, only the checks that write nothing run. */
  readonly volume?: ConformanceVolume | undefined;
  /** How long a population may take. Default 5 minutes. */
  readonly populateTimeoutMs?: number;
  /** Told about each result as it comes. */
  readonly onResult?: (result: ConformanceResult) => void;
}

export interface ConformanceResult {
  readonly name: string;
  readonly outcome: "passed" | "failed" | "skipped";
  /** Why it failed or was skipped. */
  readonly detail?: string;
  readonly ms: number;
}

interface Context {
  readonly client: BackendClient;
  readonly info: () => GetBackendInfoResponse;
  readonly options: ConformanceOptions;
}

interface Check {
  readonly name: string;
  readonly needsVolume?: boolean;
  run(context: Context): Promise<void>;
}

class CheckFailed extends Error {}

function expectThat(condition: boolean, message: string): asserts condition {
  if (!condition) throw new CheckFailed(message);
}

/** Runs `call` and returns the gRPC status it failed with, or fails the check if it succeeded. */
async function statusOf(call: () => Promise<unknown>): Promise<BackendCallError> {
  try {
    await call();
  } catch (error) {
    if (error instanceof BackendCallError) return error;
    throw error;
  }
  throw new CheckFailed("the call succeeded, but it should have been refused");
}

function expectCode(error: BackendCallError, codes: readonly number[]): void {
  expectThat(
    codes.includes(error.grpcCode),
    `expected ${codes.map(grpcCodeName).join(" or ")}, got ${grpcCodeName(error.grpcCode)}: ${error.message}`,
  );
}

/** A Populate request for a volume that should be refused before anything is written. */
function probe(context: Context, overrides: Partial<PopulateRequest>): PopulateRequest {
  const info = context.info();
  const volume = context.options.volume;
  return PopulateRequest.fromPartial({
    operationId: randomUUID(),
    attempt: 1,
    csiDriver: volume?.csiDriver ?? info.csiDrivers[0] ?? "",
    volumeHandle: volume?.volumeHandle ?? "conformance-no-such-volume",
    capacityBytes: volume?.capacityBytes ?? 1 << 30,
    volumeMode: info.volumeModes[0] ?? VolumeMode.VOLUME_MODE_FILESYSTEM,
    sourceKind: volume?.sourceKind ?? info.sourceKinds[0] ?? { group: "", kind: "" },
    sourceJson: volume?.sourceJson ?? "{}",
    ...overrides,
  });
}

function volumeRequest(volume: ConformanceVolume, operationId: string, attempt = 1): PopulateRequest {
  return PopulateRequest.fromPartial({
    operationId,
    attempt,
    csiDriver: volume.csiDriver,
    volumeHandle: volume.volumeHandle,
    volumeAttributes: { ...volume.volumeAttributes },
    capacityBytes: volume.capacityBytes,
    volumeMode:
      volume.volumeMode === "Block" ? VolumeMode.VOLUME_MODE_BLOCK : VolumeMode.VOLUME_MODE_FILESYSTEM,
    sourceKind: volume.sourceKind,
    sourceJson: volume.sourceJson,
  });
}

async function waitForEnd(context: Context, operationId: string): Promise<Operation[]> {
  const seen: Operation[] = [];
  const deadline = Date.now() + (context.options.populateTimeoutMs ?? 5 * 60_000);
  for (;;) {
    const operation = await context.client.getOperation(operationId);
    seen.push(operation);
    if (
      operation.state !== OperationState.OPERATION_STATE_PENDING &&
      operation.state !== OperationState.OPERATION_STATE_RUNNING
    ) {
      return seen;
    }
    expectThat(
      Date.now() < deadline,
      `operation ${operationId} did not finish in time (last: ${operation.message})`,
    );
    await sleep(200);
  }
}

const CHECKS: readonly Check[] = [
  {
    name: "GetBackendInfo names the backend, a CSI driver, a source kind and a volume mode",
    async run({ info }) {
      const i = info();
      expectThat(i.name !== "", "name is empty");
      expectThat(i.csiDrivers.length > 0, "csi_drivers is empty");
      expectThat(i.sourceKinds.length > 0, "source_kinds is empty");
      expectThat(i.volumeModes.length > 0, "volume_modes is empty");
    },
  },
  {
    name: "GetOperation of an unknown operation answers NOT_FOUND",
    async run({ client }) {
      expectCode(await statusOf(() => client.getOperation(randomUUID())), [status.NOT_FOUND]);
    },
  },
  {
    name: "CancelOperation of an unknown operation succeeds",
    async run({ client }) {
      await client.cancelOperation(randomUUID());
    },
  },
  {
    name: `Populate refuses an operation id longer than ${PROTOCOL_LIMITS.operationIdBytes} bytes with INVALID_ARGUMENT`,
    async run(context) {
      const request = probe(context, { operationId: "x".repeat(PROTOCOL_LIMITS.operationIdBytes + 1) });
      expectCode(await statusOf(() => context.client.populate(request)), [status.INVALID_ARGUMENT]);
    },
  },
  {
    name: "Populate refuses an empty operation id with INVALID_ARGUMENT",
    async run(context) {
      expectCode(await statusOf(() => context.client.populate(probe(context, { operationId: "" }))), [
        status.INVALID_ARGUMENT,
      ]);
    },
  },
  {
    name: "Populate refuses volume handles that try to leave the backend's volumes",
    async run(context) {
      for (const volumeHandle of ["../../etc", "..", "a/../../b", "/etc/passwd", "vol\u0000ume"]) {
        const error = await statusOf(() => context.client.populate(probe(context, { volumeHandle })));
        expectCode(error, [status.INVALID_ARGUMENT, status.NOT_FOUND]);
      }
    },
  },
  {
    name: `Populate refuses a volume handle longer than ${PROTOCOL_LIMITS.volumeHandleBytes} bytes with INVALID_ARGUMENT`,
    async run(context) {
      const request = probe(context, { volumeHandle: "v".repeat(PROTOCOL_LIMITS.volumeHandleBytes + 1) });
      expectCode(await statusOf(() => context.client.populate(request)), [status.INVALID_ARGUMENT]);
    },
  },
  {
    name: "Populate refuses source_json over 1 MiB with INVALID_ARGUMENT",
    async run(context) {
      const request = probe(context, {
        sourceJson: JSON.stringify({ pad: "x".repeat(PROTOCOL_LIMITS.sourceJsonBytes) }),
      });
      expectCode(await statusOf(() => context.client.populate(request)), [status.INVALID_ARGUMENT]);
    },
  },
  {
    name: "Populate answers UNIMPLEMENTED for a CSI driver the backend does not serve",
    async run(context) {
      const request = probe(context, { csiDriver: "not-served.conformance.volpop.dev" });
      expectCode(await statusOf(() => context.client.populate(request)), [status.UNIMPLEMENTED]);
    },
  },
  {
    name: "Populate answers UNIMPLEMENTED for a source kind the backend does not serve",
    async run(context) {
      const request = probe(context, { sourceKind: { group: "conformance.volpop.dev", kind: "NotServed" } });
      expectCode(await statusOf(() => context.client.populate(request)), [status.UNIMPLEMENTED]);
    },
  },
  {
    name: "Populate answers NOT_FOUND for a volume handle the backend does not manage",
    async run(context) {
      const request = probe(context, { volumeHandle: `conformance-${randomUUID()}` });
      expectCode(await statusOf(() => context.client.populate(request)), [status.NOT_FOUND]);
    },
  },
  {
    name: "Populate fills the volume: SUCCEEDED, progress never goes backwards",
    needsVolume: true,
    async run(context) {
      const volume = context.options.volume as ConformanceVolume;
      const id = randomUUID();
      try {
        const accepted = await context.client.populate(volumeRequest(volume, id));
        expectThat(
          accepted.operationId === id,
          `operation_id ${accepted.operationId} is not the requested ${id}`,
        );
        const seen = await waitForEnd(context, id);
        const last = seen.at(-1) as Operation;
        expectThat(
          last.state === OperationState.OPERATION_STATE_SUCCEEDED,
          `ended ${last.state}: ${last.failureReason} ${last.message}`,
        );
        for (let i = 1; i < seen.length; i++) {
          expectThat(
            (seen[i]?.bytesDone ?? 0) >= (seen[i - 1]?.bytesDone ?? 0),
            `bytes_done went from ${seen[i - 1]?.bytesDone} to ${seen[i]?.bytesDone}`,
          );
        }
        expectThat(last.volumeHandle === volume.volumeHandle, "volume_handle of the operation differs");
      } finally {
        await context.client.cancelOperation(id).catch(() => undefined);
      }
    },
  },
  {
    name: "Populate again with the same id and attempt returns the operation instead of starting over",
    needsVolume: true,
    async run(context) {
      const volume = context.options.volume as ConformanceVolume;
      const id = randomUUID();
      try {
        await context.client.populate(volumeRequest(volume, id));
        await waitForEnd(context, id);
        const again = await context.client.populate(volumeRequest(volume, id));
        expectThat(
          again.state === OperationState.OPERATION_STATE_SUCCEEDED,
          `the second Populate answered state ${again.state}, not the finished operation`,
        );
      } finally {
        await context.client.cancelOperation(id).catch(() => undefined);
      }
    },
  },
  {
    name: "Populate with a known id for another volume answers FAILED_PRECONDITION",
    needsVolume: true,
    async run(context) {
      const volume = context.options.volume as ConformanceVolume;
      if (!volume.otherVolumeHandle) throw new SkipCheck("no second volume given");
      const id = randomUUID();
      try {
        await context.client.populate(volumeRequest(volume, id));
        await waitForEnd(context, id);
        const other = { ...volumeRequest(volume, id), volumeHandle: volume.otherVolumeHandle };
        expectCode(await statusOf(() => context.client.populate(other)), [status.FAILED_PRECONDITION]);
      } finally {
        await context.client.cancelOperation(id).catch(() => undefined);
      }
    },
  },
  {
    name: "CancelOperation forgets the operation: GetOperation then answers NOT_FOUND",
    needsVolume: true,
    async run(context) {
      const volume = context.options.volume as ConformanceVolume;
      const id = randomUUID();
      await context.client.populate(volumeRequest(volume, id));
      await context.client.cancelOperation(id);
      expectCode(await statusOf(() => context.client.getOperation(id)), [status.NOT_FOUND]);
      await context.client.cancelOperation(id);
    },
  },
];

class SkipCheck extends Error {}

/**
 * Checks a running fast-path backend against the protocol (backend.proto): what every backend must
 * refuse, and, given a volume it may overwrite, that it populates idempotently. Vendors run it with
 * `volpop fastpath conformance` or call it from their own tests.
 */
export async function runConformance(options: ConformanceOptions): Promise<ConformanceResult[]> {
  const endpoint = typeof options.endpoint === "string" ? parseEndpoint(options.endpoint) : options.endpoint;
  const client = new BackendClient({ endpoint, tls: options.tls, attempts: 2 });
  const results: ConformanceResult[] = [];
  const report = (result: ConformanceResult) => {
    results.push(result);
    options.onResult?.(result);
  };
  try {
    let info: GetBackendInfoResponse | undefined;
    try {
      info = await client.getBackendInfo();
    } catch (error) {
      report({ name: "the backend answers GetBackendInfo", outcome: "failed", detail: String(error), ms: 0 });
      return results;
    }
    const context: Context = { client, info: () => info, options };
    for (const check of CHECKS) {
      const began = performance.now();
      const ms = () => Math.round(performance.now() - began);
      if (check.needsVolume && !options.volume) {
        report({ name: check.name, outcome: "skipped", detail: "no volume given", ms: 0 });
        continue;
      }
      try {
        await check.run(context);
        report({ name: check.name, outcome: "passed", ms: ms() });
      } catch (error) {
        if (error instanceof SkipCheck)
          report({ name: check.name, outcome: "skipped", detail: error.message, ms: ms() });
        else
          report({
            name: check.name,
            outcome: "failed",
            detail: (error as Error).message ?? String(error),
            ms: ms(),
          });
      }
    }
    return results;
  } finally {
    client.close();
  }
}
