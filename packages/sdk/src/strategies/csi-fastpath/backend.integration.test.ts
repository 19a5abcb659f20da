import { execFileSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ChannelCredentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { badInputCase, contained } from "@volpop/test-catalogue";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../errors.ts";
import { CSI_DRIVER, PVC_UID, SOURCE_KIND } from "../../internal/fixtures.ts";
import { MemoryBackend } from "../../internal/memory-backend.ts";
import { BackendCallError, BackendClient, type BackendClientOptions } from "./backend-client.ts";
import { GrpcCode } from "./backend-error.ts";
import type { BackendEndpoint, MutualTls } from "./endpoint.ts";
import {
  DataMovement,
  OperationState,
  PopulateRequest,
  PopulatorBackendClient,
  VolumeMode,
} from "./protocol.ts";
import { BackendRpcError, type ServingBackend, serveBackend } from "./server.ts";

// Everything here talks gRPC for real, over a unix socket in a private temporary directory or over
// TCP on localhost with certificates made for the run.

let dir: string;
let socketCount = 0;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "volpop-fastpath-"));
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function socket(): BackendEndpoint {
  socketCount += 1;
  return { transport: "unix", path: path.join(dir, `sockets-${socketCount}`, "backend.sock") };
}

async function serve(
  backend: MemoryBackend,
  endpoint: BackendEndpoint = socket(),
  tls?: MutualTls,
  onError?: (method: string, error: unknown) => void,
): Promise<ServingBackend> {
  const serving = await serveBackend(backend, { endpoint, tls, ...(onError ? { onError } : {}) });
  cleanups.push(async () => {
    backend.release();
    await serving.stop(100);
  });
  return serving;
}

/** A client that records each try as `method code`, retrying quickly. */
function client(endpoint: BackendEndpoint, options: Partial<BackendClientOptions> = {}) {
  const tries: string[] = [];
  const created = new BackendClient({
    endpoint,
    retryBaseDelayMs: 20,
    onCall: (method, code) => tries.push(`${method} ${code}`),
    ...options,
  });
  cleanups.push(() => created.close());
  return { client: created, tries };
}

function request(overrides: Partial<PopulateRequest> = {}): PopulateRequest {
  return PopulateRequest.fromPartial({
    operationId: PVC_UID,
    attempt: 1,
    csiDriver: CSI_DRIVER,
    volumeHandle: "vol-1",
    volumeAttributes: { pool: "fast" },
    capacityBytes: 1024 ** 3,
    volumeMode: VolumeMode.VOLUME_MODE_FILESYSTEM,
    sourceKind: { group: SOURCE_KIND.group, kind: SOURCE_KIND.kind },
    sourceJson: '{"spec":{}}',
    parameters: { compression: "zstd" },
    ...overrides,
  });
}

async function callError(call: Promise<unknown>): Promise<BackendCallError> {
  try {
    await call;
  } catch (error) {
    if (error instanceof BackendCallError) return error;
    throw error;
  }
  throw new Error("expected the call to fail");
}

describe("serveBackend on a unix socket", () => {
  it("creates the socket readable and writable by its owner only, and removes it when stopped", async () => {
    const serving = await serveBackend(new MemoryBackend(), { endpoint: socket() });
    const { path: socketPath } = serving.endpoint as { path: string };
    expect(statSync(socketPath).isSocket()).toBe(true);
    expect(statSync(socketPath).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(socketPath)).mode & 0o777).toBe(0o700);
    await serving.stop(100);
    expect(() => statSync(socketPath)).toThrow(/ENOENT/);
  });

  it("replaces a socket file a previous run left behind", async () => {
    const endpoint = socket();
    const stale = await serveBackend(new MemoryBackend(), { endpoint });
    // A crash leaves the file; stopping removes it, so put one back by hand.
    await stale.stop(100);
    const { path: socketPath } = endpoint as { path: string };
    writeFileSync(socketPath, "");
    await serve(new MemoryBackend(), endpoint);
    expect(statSync(socketPath).isSocket()).toBe(true);
  });
});

describe("serveBackend on a unix socket someone else prepared", () => {
  const socketPathOf = (endpoint: BackendEndpoint) => (endpoint as { path: string }).path;
  const refusal = (endpoint: BackendEndpoint) =>
    serveBackend(new MemoryBackend(), { endpoint }).then(
      async (serving) => {
        await serving.stop(100);
        return undefined;
      },
      (error: unknown) => error as Error,
    );

  it("takes back a socket directory others may write into: 0700 before the socket is made", async () => {
    const endpoint = socket();
    const directory = path.dirname(socketPathOf(endpoint));
    mkdirSync(directory);
    chmodSync(directory, 0o777);
    await serve(new MemoryBackend(), endpoint);
    expect(statSync(directory).mode & 0o7777).toBe(0o700);
    expect(statSync(socketPathOf(endpoint)).mode & 0o777).toBe(0o600);
  });

  badInputCase(
    {
      id: "fastpath-socket-symlink",
      component: "fastpath",
      input: "a symlink planted at the backend's socket path, pointing at someone's file",
      expected: "refused: cannot listen: it is a symlink, which is never followed or removed",
      checks: ["existing-data-kept"],
    },
    async () => {
      const endpoint = socket();
      const target = path.join(dir, `precious-${socketCount}`);
      writeFileSync(target, "precious");
      chmodSync(target, 0o644);
      mkdirSync(path.dirname(socketPathOf(endpoint)), { mode: 0o700 });
      symlinkSync(target, socketPathOf(endpoint));
      const error = await refusal(endpoint);
      expect(error?.message).toBe(
        `cannot listen on unix://${socketPathOf(endpoint)}: it is a symlink, which is never followed or removed`,
      );
      contained("existing-data-kept", () => {
        expect(lstatSync(socketPathOf(endpoint)).isSymbolicLink()).toBe(true);
        expect(statSync(target).mode & 0o7777).toBe(0o644);
        expect(readFileSync(target, "utf8")).toBe("precious");
      });
    },
  );

  it("refuses a socket directory that is a symlink", async () => {
    const endpoint = socket();
    const elsewhere = path.join(dir, `elsewhere-${socketCount}`);
    mkdirSync(elsewhere, { mode: 0o777 });
    chmodSync(elsewhere, 0o777);
    symlinkSync(elsewhere, path.dirname(socketPathOf(endpoint)));
    const error = await refusal(endpoint);
    expect(error?.message).toBe(
      `cannot listen on unix://${socketPathOf(endpoint)}: its directory is a symlink, which is never followed`,
    );
    expect(readdirSync(elsewhere)).toEqual([]);
    expect(statSync(elsewhere).mode & 0o7777).toBe(0o777);
  });

  it.runIf(process.getuid?.() === 0)("refuses a socket directory another user owns", async () => {
    const endpoint = socket();
    const directory = path.dirname(socketPathOf(endpoint));
    mkdirSync(directory, { mode: 0o700 });
    chownSync(directory, 65532, 65532);
    const error = await refusal(endpoint);
    expect(error?.message).toBe(
      `cannot listen on unix://${socketPathOf(endpoint)}: its directory belongs to uid 65532, not to this process (uid 0)`,
    );
    expect(readdirSync(directory)).toEqual([]);
  });
});

describe("BackendClient against serveBackend", () => {
  it("round-trips every call: backend info, Populate with all its fields, GetOperation, CancelOperation", async () => {
    const backend = new MemoryBackend();
    backend.info = { ...backend.info, nodeName: "node-a", dataMovements: [DataMovement.DATA_MOVEMENT_CLONE] };
    const { endpoint } = await serve(backend);
    const { client: c } = client(endpoint);

    expect(await c.getBackendInfo()).toEqual({
      name: "memory",
      version: "0.0.1",
      csiDrivers: [CSI_DRIVER],
      sourceKinds: [{ group: SOURCE_KIND.group, kind: SOURCE_KIND.kind }],
      volumeModes: [VolumeMode.VOLUME_MODE_FILESYSTEM],
      dataMovements: [DataMovement.DATA_MOVEMENT_CLONE],
      nodeName: "node-a",
    });
    const accepted = await c.populate(request());
    expect(accepted).toMatchObject({
      operationId: PVC_UID,
      attempt: 1,
      volumeHandle: "vol-1",
      state: OperationState.OPERATION_STATE_RUNNING,
      bytesTotal: 1024 ** 3,
    });
    expect(backend.calls.find((call) => call.method === "Populate")?.request).toEqual(request());

    backend.finish(PVC_UID);
    expect(await c.getOperation(PVC_UID)).toMatchObject({
      state: OperationState.OPERATION_STATE_SUCCEEDED,
      bytesDone: 1024 ** 3,
    });
    await c.cancelOperation(PVC_UID);
    expect(backend.operations.size).toBe(0);
    expect(c.endpoint).toBe(`unix://${(endpoint as { path: string }).path}`);
  });

  it("turns a BackendRpcError into a BackendCallError with the status, the reason and the field", async () => {
    const backend = new MemoryBackend();
    backend.failures.push({
      method: "Populate",
      error: new BackendRpcError(
        GrpcCode.INVALID_ARGUMENT,
        "InvalidVolumeHandle",
        "handle has ..",
        "volume_handle",
      ),
    });
    const { endpoint } = await serve(backend);
    const { client: c, tries } = client(endpoint);

    const error = await callError(c.populate(request()));
    expect(error).toMatchObject({
      code: "FASTPATH_INVALID_ARGUMENT",
      grpcCode: GrpcCode.INVALID_ARGUMENT,
      reason: "InvalidVolumeHandle",
      field: "volume_handle",
    });
    expect(error.message).toBe(
      `Populate on fast-path backend ${c.endpoint}: INVALID_ARGUMENT: handle has ..`,
    );
    expect(tries).toEqual(["Populate INVALID_ARGUMENT"]);
  });

  it("answers anything else a backend throws with INTERNAL, and tells the backend's log", async () => {
    const backend = new MemoryBackend();
    backend.failures.push({ method: "GetOperation", error: new Error("disk on fire") });
    const told: string[] = [];
    const { endpoint } = await serve(backend, socket(), undefined, (method, error) =>
      told.push(`${method}: ${(error as Error).message}`),
    );
    const { client: c } = client(endpoint);

    const error = await callError(c.getOperation(PVC_UID));
    expect(error).toMatchObject({ code: "FASTPATH_INTERNAL", reason: "Internal", field: undefined });
    expect(error.message).toContain("INTERNAL: disk on fire");
    expect(told).toEqual(["GetOperation: disk on fire"]);
  });

  it("reports NOT_FOUND for an operation the backend does not know", async () => {
    const { endpoint } = await serve(new MemoryBackend());
    const error = await callError(client(endpoint).client.getOperation("unknown"));
    expect(error).toMatchObject({
      code: "FASTPATH_NOT_FOUND",
      grpcCode: GrpcCode.NOT_FOUND,
      reason: "OperationNotFound",
    });
  });

  it("retries a call the backend answers UNAVAILABLE until it answers", async () => {
    const backend = new MemoryBackend();
    const busy = () => new BackendRpcError(GrpcCode.UNAVAILABLE, "Starting", "still starting");
    backend.failures.push(
      { method: "GetBackendInfo", error: busy() },
      { method: "GetBackendInfo", error: busy() },
    );
    const { endpoint } = await serve(backend);
    const { client: c, tries } = client(endpoint);

    expect((await c.getBackendInfo()).name).toBe("memory");
    expect(tries).toEqual(["GetBackendInfo UNAVAILABLE", "GetBackendInfo UNAVAILABLE", "GetBackendInfo OK"]);
  });

  it("reaches a backend that starts listening while the client retries", async () => {
    // Tries at about 0, 100, 300 and 700 ms: gRPC's own reconnect backoff (1 s by default) must not
    // make the retries fail without dialling.
    const endpoint = socket();
    const { client: c, tries } = client(endpoint, { attempts: 4, retryBaseDelayMs: 100 });
    const backend = new MemoryBackend();
    const late = sleep(150).then(() => serve(backend, endpoint));

    const info = await c.getBackendInfo();
    await late;
    expect(info.name).toBe("memory");
    expect(tries.at(0)).toBe("GetBackendInfo UNAVAILABLE");
    expect(tries.at(-1)).toBe("GetBackendInfo OK");
  });

  it("gives up with FASTPATH_UNAVAILABLE after the configured tries when nothing ever listens", async () => {
    const { client: c, tries } = client(socket(), { attempts: 3 });
    const error = await callError(c.getBackendInfo());
    expect(error).toMatchObject({ code: "FASTPATH_UNAVAILABLE", grpcCode: GrpcCode.UNAVAILABLE });
    expect(tries).toEqual(Array(3).fill("GetBackendInfo UNAVAILABLE"));
  });

  badInputCase(
    {
      id: "fastpath-slow-backend",
      component: "fastpath",
      input: "a backend that answers GetOperation 2 s late, past the call deadline",
      expected: "FASTPATH_DEADLINE_EXCEEDED at the deadline, not retried",
      checks: ["keeps-serving"],
    },
    async () => {
      const backend = new MemoryBackend();
      backend.getOperationDelayMs = 2_000;
      const { endpoint } = await serve(backend);
      const { client: c, tries } = client(endpoint, { callTimeoutMs: 100 });

      const started = performance.now();
      const error = await callError(c.getOperation(PVC_UID));
      expect(performance.now() - started).toBeLessThan(1_000);
      expect(error).toMatchObject({
        code: "FASTPATH_DEADLINE_EXCEEDED",
        grpcCode: GrpcCode.DEADLINE_EXCEEDED,
      });
      expect(tries).toEqual(["GetOperation DEADLINE_EXCEEDED"]);
      // The timed-out call leaves the client usable: the next call goes through.
      await contained("keeps-serving", async () => expect((await c.getBackendInfo()).name).toBe("memory"));
    },
  );
});

describe("TCP with mutual TLS", () => {
  let certs: string;
  /** PEM files by name: ca, server, controller, and stranger (signed by another CA). */
  const pem = (name: string) => readFileSync(path.join(certs, name), "utf8");
  const serverTls = (): MutualTls => ({ ca: pem("ca.crt"), cert: pem("server.crt"), key: pem("server.key") });
  const controllerTls = (): MutualTls => ({
    ca: pem("ca.crt"),
    cert: pem("controller.crt"),
    key: pem("controller.key"),
  });
  const loopback = (port = 0): BackendEndpoint => ({ transport: "tcp", host: "localhost", port });

  beforeAll(() => {
    certs = mkdtempSync(path.join(tmpdir(), "volpop-fastpath-tls-"));
    const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: certs, stdio: "pipe" });
    const key = (name: string) =>
      openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", `${name}.key`);
    const authority = (name: string) => {
      key(name);
      openssl(
        "req",
        "-x509",
        "-new",
        "-key",
        `${name}.key`,
        "-subj",
        `/CN=${name}`,
        "-days",
        "1",
        "-out",
        `${name}.crt`,
      );
    };
    const leaf = (name: string, ca: string, extensions: string) => {
      key(name);
      openssl("req", "-new", "-key", `${name}.key`, "-subj", `/CN=${name}`, "-out", `${name}.csr`);
      writeFileSync(path.join(certs, `${name}.ext`), extensions);
      openssl(
        "x509",
        "-req",
        "-in",
        `${name}.csr`,
        "-CA",
        `${ca}.crt`,
        "-CAkey",
        `${ca}.key`,
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        `${name}.ext`,
        "-out",
        `${name}.crt`,
      );
    };
    authority("ca");
    authority("other-ca");
    leaf("server", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
    leaf("controller", "ca", "extendedKeyUsage=clientAuth\n");
    leaf("stranger", "other-ca", "extendedKeyUsage=clientAuth\n");
  });
  afterAll(() => rmSync(certs, { recursive: true, force: true }));

  it("serves a controller that proves who it is", async () => {
    const { endpoint } = await serve(new MemoryBackend(), loopback(), serverTls());
    expect(endpoint).toMatchObject({ transport: "tcp", host: "localhost", port: expect.any(Number) });
    expect((endpoint as { port: number }).port).toBeGreaterThan(0);
    const { client: c } = client(endpoint, { tls: controllerTls() });
    expect((await c.getBackendInfo()).name).toBe("memory");
  });

  it.each<[string, () => ChannelCredentials]>([
    ["no certificate", () => ChannelCredentials.createSsl(Buffer.from(pem("ca.crt")))],
    [
      "a certificate of another CA",
      () =>
        ChannelCredentials.createSsl(
          Buffer.from(pem("ca.crt")),
          Buffer.from(pem("stranger.key")),
          Buffer.from(pem("stranger.crt")),
        ),
    ],
  ])("refuses a client with %s", async (_, credentials) => {
    const backend = new MemoryBackend();
    const { endpoint } = await serve(backend, loopback(), serverTls());
    const raw = new PopulatorBackendClient(`localhost:${(endpoint as { port: number }).port}`, credentials());
    cleanups.push(() => raw.close());
    const error = await new Promise<ServiceError | null>((resolve) =>
      raw.getBackendInfo({}, new Metadata(), { deadline: Date.now() + 5_000 }, (e) => resolve(e)),
    );
    expect(error?.code).toBe(GrpcCode.UNAVAILABLE);
    expect(backend.calls).toEqual([]);
  });

  it("refuses a backend whose certificate another CA signed", async () => {
    const { endpoint } = await serve(new MemoryBackend(), loopback(), serverTls());
    const { client: c } = client(endpoint, {
      attempts: 1,
      tls: { ...controllerTls(), ca: pem("other-ca.crt") },
    });
    expect(await callError(c.getBackendInfo())).toMatchObject({ code: "FASTPATH_UNAVAILABLE" });
  });

  it("refuses plain TCP on both sides: configuration, not a runtime failure", async () => {
    expect(() => new BackendClient({ endpoint: loopback(7443) })).toThrow(ConfigError);
    await expect(serveBackend(new MemoryBackend(), { endpoint: loopback() })).rejects.toThrow(ConfigError);
  });
});
