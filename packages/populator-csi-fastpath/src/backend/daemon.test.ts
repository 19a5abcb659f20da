import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { credentials, type ServiceError } from "@grpc/grpc-js";
import { createLogger } from "@volpop/sdk";
import {
  errorDetailOf,
  type GetBackendInfoResponse,
  GrpcCode,
  type Operation,
  OperationState,
  type PopulateRequest,
  PopulatorBackendClient,
  VolumeMode,
} from "@volpop/sdk/fastpath";
import { badInputCase, contained } from "@volpop/test-catalogue";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { populateRequest, readTree, temporaryDir, writeTree } from "../fixtures.ts";
import { runBackendDaemon } from "./daemon.ts";

/** The daemon over its real transport: a unix socket, spoken to with the generated client. */
describe("runBackendDaemon", () => {
  let dir: string;
  let socket: string;
  let stop: AbortController;
  let exited: Promise<number>;
  let client: InstanceType<typeof PopulatorBackendClient>;
  let log: string;

  beforeEach(async () => {
    dir = temporaryDir();
    socket = path.join(dir, "run", "backend.sock");
    writeTree(path.join(dir, "golden"), { base: { dir: { "a.txt": "alpha", b: { link: "a.txt" } } } });
    writeTree(path.join(dir, "state"), { "vol-1": { dir: {} } });
    stop = new AbortController();
    log = "";
    exited = runBackendDaemon(
      [
        `--endpoint=unix://${socket}`,
        `--state-dir=${path.join(dir, "state")}`,
        `--golden-dir=${path.join(dir, "golden")}`,
        "--node-name=node-a",
      ],
      {
        signal: stop.signal,
        logger: createLogger({
          name: "test",
          level: "info",
          destination: { write: (line) => (log += line) },
        }),
      },
    );
    // Ready once it says so: the socket exists a moment before it gets its final mode.
    for (let i = 0; i < 400 && !log.includes("fast-path backend serving"); i++) await sleep(10);
    client = new PopulatorBackendClient(`unix://${socket}`, credentials.createInsecure());
  });

  afterEach(async () => {
    client.close();
    stop.abort();
    await exited;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const settle =
    <T>(resolve: (value: T) => void, reject: (error: ServiceError) => void) =>
    (error: ServiceError | null, value: T) =>
      error ? reject(error) : resolve(value);
  const getBackendInfo = () =>
    new Promise<GetBackendInfoResponse>((resolve, reject) =>
      client.getBackendInfo({}, settle(resolve, reject)),
    );
  const populate = (request: PopulateRequest) =>
    new Promise<Operation>((resolve, reject) =>
      client.populate(
        request,
        settle((response) => resolve(response.operation as Operation), reject),
      ),
    );
  const getOperation = (operationId: string) =>
    new Promise<Operation>((resolve, reject) =>
      client.getOperation(
        { operationId },
        settle((response) => resolve(response.operation as Operation), reject),
      ),
    );
  const cancelOperation = (operationId: string) =>
    new Promise<void>((resolve, reject) =>
      client.cancelOperation(
        { operationId },
        settle(() => resolve(), reject),
      ),
    );

  it("creates its socket mode 0600 in a directory only its user can enter", () => {
    expect(fs.statSync(socket).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(socket)).mode & 0o777).toBe(0o700);
  });

  it("answers GetBackendInfo", async () => {
    expect(await getBackendInfo()).toMatchObject({
      name: "hostpath-fastpath",
      csiDrivers: ["hostpath.csi.k8s.io"],
      nodeName: "node-a",
      volumeModes: [VolumeMode.VOLUME_MODE_FILESYSTEM, VolumeMode.VOLUME_MODE_BLOCK],
    });
  });

  it("populates a volume end to end, then forgets the operation on Cancel", async () => {
    const request = populateRequest();
    expect(await populate(request)).toMatchObject({ operationId: request.operationId, attempt: 1 });
    let operation = await getOperation(request.operationId);
    for (let i = 0; i < 200 && operation.state !== OperationState.OPERATION_STATE_SUCCEEDED; i++) {
      await sleep(10);
      operation = await getOperation(request.operationId);
    }
    expect(operation).toMatchObject({ state: OperationState.OPERATION_STATE_SUCCEEDED, bytesTotal: 5 });
    expect(readTree(path.join(dir, "state", "vol-1"))).toEqual({
      "a.txt": "file 644 alpha",
      b: "link -> a.txt",
    });
    await cancelOperation(request.operationId);
    await expect(getOperation(request.operationId)).rejects.toMatchObject({ code: GrpcCode.NOT_FOUND });
  });

  it("sends refusals with their status code and an ErrorDetail naming the reason and field", async () => {
    const error = await populate(populateRequest({ volumeHandle: "../../etc" })).catch(
      (e: ServiceError) => e,
    );
    expect(error).toMatchObject({ code: GrpcCode.INVALID_ARGUMENT });
    expect(errorDetailOf(error as ServiceError)).toEqual({
      reason: "InvalidVolumeHandle",
      field: "volume_handle",
    });

    const unserved = await populate(populateRequest({ csiDriver: "other.csi.k8s.io" })).catch(
      (e: ServiceError) => e,
    );
    expect(unserved).toMatchObject({ code: GrpcCode.UNIMPLEMENTED });
    expect(errorDetailOf(unserved as ServiceError)?.reason).toBe("UnsupportedCsiDriver");
  });

  badInputCase(
    {
      id: "fastpath-operation-id-too-long",
      component: "fastpath",
      input: "a Populate over the wire whose operation id is 129 bytes",
      expected: "INVALID_ARGUMENT",
      checks: ["volume-left-empty", "keeps-serving"],
    },
    async () => {
      const error = await populate(populateRequest({ operationId: "x".repeat(129) })).catch(
        (e: ServiceError) => e,
      );
      expect(error).toMatchObject({ code: GrpcCode.INVALID_ARGUMENT });
      contained("volume-left-empty", () => expect(readTree(path.join(dir, "state", "vol-1"))).toEqual({}));
      await contained("keeps-serving", async () =>
        expect(await getBackendInfo()).toMatchObject({ name: "hostpath-fastpath" }),
      );
    },
  );

  it("stops on its signal, removing the socket, with exit code 0", async () => {
    stop.abort();
    expect(await exited).toBe(0);
    expect(fs.existsSync(socket)).toBe(false);
  });
});

describe("runBackendDaemon's command line", () => {
  it("exits 2 with a hint on a usage error", async () => {
    let stderr = "";
    expect(await runBackendDaemon(["--state-dir=/x"], { stderr: (text) => (stderr += text) })).toBe(2);
    expect(stderr).toMatch(/--golden-dir is required/);
  });

  it("exits 1 when the state directory is missing", async () => {
    const code = await runBackendDaemon(["--state-dir=/nonexistent/state", "--golden-dir=/tmp"], {
      logger: createLogger({ name: "test", level: "silent" }),
    });
    expect(code).toBe(1);
  });

  it("refuses TCP without mutual TLS", async () => {
    const dir = temporaryDir();
    let log = "";
    try {
      const code = await runBackendDaemon(
        ["--endpoint=127.0.0.1:50999", `--state-dir=${dir}`, `--golden-dir=${dir}`],
        {
          logger: createLogger({
            name: "test",
            level: "error",
            destination: { write: (line) => (log += line) },
          }),
        },
      );
      expect(code).toBe(1);
      expect(log).toMatch(/is TCP: serve it with mutual TLS/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
