import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Registry } from "prom-client";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { PVC_UID } from "../../internal/fixtures.ts";
import { MemoryBackend } from "../../internal/memory-backend.ts";
import { createLogger } from "../../logger.ts";
import { createPopulatorMetrics, type PopulatorMetrics } from "../../metrics.ts";
import { GrpcCode } from "./backend-error.ts";
import { type BackendEndpoint, describeEndpoint } from "./endpoint.ts";
import { FastPathOperations, type FastPathOperationsOptions } from "./operations.ts";
import { PopulateRequest, VolumeMode } from "./protocol.ts";
import { BackendRpcError, type ServingBackend, serveBackend } from "./server.ts";
import type { FastPathAction } from "./vocabulary.ts";

// FastPathOperations against real gRPC servers on unix sockets, polling every 20 ms.

const POLL_MS = 20;
const WAIT = { timeout: 3_000, interval: 5 };

let dir: string;
let sockets = 0;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "volpop-operations-"));
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function socket(): BackendEndpoint {
  sockets += 1;
  return { transport: "unix", path: path.join(dir, `${sockets}`, "backend.sock") };
}

async function serve(backend: MemoryBackend, endpoint: BackendEndpoint): Promise<ServingBackend> {
  const serving = await serveBackend(backend, { endpoint });
  cleanups.push(async () => {
    backend.release();
    await serving.stop(100);
  });
  return serving;
}

interface Harness {
  readonly operations: FastPathOperations;
  readonly requeued: string[];
  readonly registry: Registry;
  readonly metrics: PopulatorMetrics;
  readonly abort: AbortController;
}

/** Starts FastPathOperations for `endpoints` (first one first), quick to poll and to give up. */
async function started(
  endpoints: readonly BackendEndpoint[],
  options: Partial<FastPathOperationsOptions> = {},
): Promise<Harness> {
  const registry = new Registry();
  const metrics = createPopulatorMetrics(registry, { processMetrics: false });
  const requeued: string[] = [];
  const abort = new AbortController();
  const operations = new FastPathOperations({
    backends: endpoints.map((endpoint) => ({ endpoint })),
    pollIntervalMs: POLL_MS,
    callTimeoutMs: 1_000,
    attempts: 1,
    ...options,
  });
  await operations.start({
    signal: abort.signal,
    requeue: (uid) => requeued.push(uid),
    logger: createLogger({ level: "silent", name: "test" }),
    metrics,
  });
  cleanups.push(async () => {
    abort.abort();
    await operations.stop();
  });
  return { operations, requeued, registry, metrics, abort };
}

function populate(endpoint: BackendEndpoint, attempt = 1): FastPathAction {
  return {
    kind: "populate",
    endpoint: describeEndpoint(endpoint),
    request: PopulateRequest.fromPartial({
      operationId: PVC_UID,
      attempt,
      csiDriver: "hostpath.csi.k8s.io",
      volumeHandle: "vol-1",
      capacityBytes: 1024,
      volumeMode: VolumeMode.VOLUME_MODE_FILESYSTEM,
    }),
  };
}

const cancel = (endpoint: BackendEndpoint): FastPathAction => ({
  kind: "cancel",
  endpoint: describeEndpoint(endpoint),
});

describe("FastPathOperations.start", () => {
  it("asks every backend who it is: ready with its info, or unavailable with the reason", async () => {
    const up = socket();
    const down = socket();
    await serve(new MemoryBackend(), up);
    const { operations } = await started([up, down]);

    const { backends, operation } = operations.observe(PVC_UID);
    expect(operation).toBeUndefined();
    // In the order they answered: the strategy sorts them by the configured order itself.
    expect(backends).toHaveLength(2);
    expect(backends).toEqual(
      expect.arrayContaining([
        { endpoint: describeEndpoint(up), state: "ready", info: expect.objectContaining({ name: "memory" }) },
        {
          endpoint: describeEndpoint(down),
          state: "unavailable",
          info: undefined,
          error: expect.stringContaining("UNAVAILABLE"),
        },
      ]),
    );
  });

  it("lists every backend on /readyz without ever failing it", async () => {
    const up = socket();
    const down = socket();
    await serve(new MemoryBackend(), up);
    const { operations } = await started([up, down]);
    expect(operations.health()).toHaveLength(2);
    expect(operations.health()).toEqual(
      expect.arrayContaining([
        { name: `fastpath-backend ${describeEndpoint(up)}`, ok: true },
        {
          name: `fastpath-backend ${describeEndpoint(down)}`,
          ok: true,
          reason: expect.stringMatching(/^unavailable \(populations fall back to pods\): .*UNAVAILABLE/),
        },
      ]),
    );
  });

  it("notices a backend that comes up later at the next info refresh", async () => {
    const late = socket();
    const { operations } = await started([late], { infoRefreshMs: 30 });
    expect(operations.observe(PVC_UID).backends[0]?.state).toBe("unavailable");
    await serve(new MemoryBackend(), late);
    await vi.waitFor(() => expect(operations.observe(PVC_UID).backends[0]?.state).toBe("ready"), WAIT);
  });

  it("times every call in volpop_fastpath_backend_call_seconds by method and code", async () => {
    const up = socket();
    const down = socket();
    await serve(new MemoryBackend(), up);
    const { registry } = await started([up, down]);
    const text = await registry.metrics();
    expect(text).toContain('volpop_fastpath_backend_call_seconds_count{method="GetBackendInfo",code="OK"} 1');
    expect(text).toContain(
      'volpop_fastpath_backend_call_seconds_count{method="GetBackendInfo",code="UNAVAILABLE"} 1',
    );
  });
  it("counts each decision it is told of in volpop_fastpath_decisions_total", async () => {
    const { operations, registry } = await started([socket()]);
    await operations.perform({ kind: "decided", decision: "fastpath", reason: "FastPath" }, PVC_UID);
    await operations.perform({ kind: "decided", decision: "fallback", reason: "NotCsi" }, PVC_UID);
    const text = await registry.metrics();
    expect(text).toContain('volpop_fastpath_decisions_total{decision="fastpath",reason="FastPath"} 1');
    expect(text).toContain('volpop_fastpath_decisions_total{decision="fallback",reason="NotCsi"} 1');
  });

  it("starts again on the same registry, as with a new leadership term, and keeps counting", async () => {
    const { operations, registry, metrics, abort } = await started([socket()]);
    await operations.stop();
    await operations.start({
      signal: abort.signal,
      requeue: () => undefined,
      logger: createLogger({ level: "silent", name: "test" }),
      metrics,
    });
    await operations.perform({ kind: "decided", decision: "fastpath", reason: "FastPath" }, PVC_UID);
    expect(await registry.metrics()).toContain(
      'volpop_fastpath_decisions_total{decision="fastpath",reason="FastPath"} 1',
    );
  });
});

describe("FastPathOperations.perform", () => {
  it("starts the operation, shows it, follows it until it succeeds and requeues the PVC at each change", async () => {
    const endpoint = socket();
    const backend = new MemoryBackend();
    await serve(backend, endpoint);
    const { operations, requeued, registry } = await started([endpoint]);

    await operations.perform(populate(endpoint), PVC_UID);
    expect(operations.observe(PVC_UID).operation).toEqual({
      endpoint: describeEndpoint(endpoint),
      attempt: 1,
      phase: "running",
      bytesDone: 0,
      bytesTotal: 1024,
      message: "copying",
      reason: "",
    });
    expect(requeued).toEqual([PVC_UID]);

    backend.finish(PVC_UID);
    await vi.waitFor(() => expect(operations.observe(PVC_UID).operation?.phase).toBe("succeeded"), WAIT);
    expect(operations.observe(PVC_UID).operation).toMatchObject({ bytesDone: 1024, message: "done" });
    expect(requeued).toEqual([PVC_UID, PVC_UID]);

    // A finished operation is no longer polled.
    const polls = backend.count("GetOperation");
    await new Promise((resolve) => setTimeout(resolve, POLL_MS * 4));
    expect(backend.count("GetOperation")).toBe(polls);
    expect(await registry.metrics()).toMatch(
      /volpop_fastpath_backend_call_seconds_count\{method="GetOperation",code="OK"\} [1-9]/,
    );
  });

  it("reports a failed operation with the backend's reason", async () => {
    const endpoint = socket();
    const backend = new MemoryBackend();
    await serve(backend, endpoint);
    const { operations } = await started([endpoint]);

    await operations.perform(populate(endpoint), PVC_UID);
    backend.finish(PVC_UID, { reason: "SourceNotFound", message: "no such bucket" });
    await vi.waitFor(
      () =>
        expect(operations.observe(PVC_UID).operation).toMatchObject({
          phase: "failed",
          reason: "SourceNotFound",
          message: "no such bucket",
        }),
      WAIT,
    );
  });

  it("forgets the operation and requeues the PVC when the backend answers NOT_FOUND (it restarted)", async () => {
    const endpoint = socket();
    const backend = new MemoryBackend();
    await serve(backend, endpoint);
    const { operations, requeued } = await started([endpoint]);

    await operations.perform(populate(endpoint), PVC_UID);
    backend.operations.clear();
    await vi.waitFor(() => expect(operations.observe(PVC_UID).operation).toBeUndefined(), WAIT);
    expect(requeued).toEqual([PVC_UID, PVC_UID]);
  });

  it("marks an operation unreachable while its backend is down, and follows it again once it is back", async () => {
    const endpoint = socket();
    const backend = new MemoryBackend();
    const serving = await serve(backend, endpoint);
    const { operations, requeued } = await started([endpoint], { infoRefreshMs: 30 });

    await operations.perform(populate(endpoint), PVC_UID);
    await serving.stop(100);
    await vi.waitFor(
      () => expect(operations.observe(PVC_UID).operation?.unreachableSince).toBeTypeOf("number"),
      WAIT,
    );
    expect(operations.observe(PVC_UID).operation?.phase).toBe("running");
    expect(requeued).toEqual([PVC_UID, PVC_UID]);
    await vi.waitFor(() => expect(operations.observe(PVC_UID).backends[0]?.state).toBe("unavailable"), WAIT);

    // The same backend with its records back (a network outage, not a restart).
    await serve(backend, endpoint);
    await vi.waitFor(
      () => expect(operations.observe(PVC_UID).operation?.unreachableSince).toBeUndefined(),
      WAIT,
    );
    expect(requeued).toEqual([PVC_UID, PVC_UID, PVC_UID]);
    await vi.waitFor(() => expect(operations.observe(PVC_UID).backends[0]?.state).toBe("ready"), WAIT);
  });

  it("records a Populate the backend rejects, with the status name, its reason and message", async () => {
    const endpoint = socket();
    const backend = new MemoryBackend();
    backend.failures.push({
      method: "Populate",
      error: new BackendRpcError(GrpcCode.UNIMPLEMENTED, "UnsupportedVolumeMode", "no Block volumes"),
    });
    await serve(backend, endpoint);
    const { operations, requeued } = await started([endpoint]);

    await operations.perform(populate(endpoint), PVC_UID);
    expect(operations.observe(PVC_UID).operation).toMatchObject({
      endpoint: describeEndpoint(endpoint),
      attempt: 1,
      phase: "rejected",
      grpcCode: "UNIMPLEMENTED",
      reason: "UnsupportedVolumeMode",
      message: "no Block volumes",
    });
    expect(requeued).toEqual([PVC_UID]);
    expect(operations.observe(PVC_UID).backends[0]?.state).toBe("ready");
  });

  it("marks the backend unavailable when Populate cannot reach it", async () => {
    const endpoint = socket();
    const backend = new MemoryBackend();
    const serving = await serve(backend, endpoint);
    const { operations } = await started([endpoint]);
    await serving.stop(100);

    await operations.perform(populate(endpoint), PVC_UID);
    expect(operations.observe(PVC_UID).operation).toMatchObject({
      phase: "rejected",
      grpcCode: "UNAVAILABLE",
    });
    expect(operations.observe(PVC_UID).backends[0]).toMatchObject({
      state: "unavailable",
      info: expect.objectContaining({ name: "memory" }),
    });
  });

  it("rejects a Populate for a backend that is not configured (any more) without calling anything", async () => {
    const { operations } = await started([]);
    const elsewhere = socket();
    await operations.perform(populate(elsewhere, 2), PVC_UID);
    expect(operations.observe(PVC_UID).operation).toMatchObject({
      endpoint: describeEndpoint(elsewhere),
      attempt: 2,
      phase: "rejected",
      grpcCode: "NOT_CONFIGURED",
    });
  });

  it("starts a failed operation over for the next attempt", async () => {
    const endpoint = socket();
    const backend = new MemoryBackend();
    await serve(backend, endpoint);
    const { operations } = await started([endpoint]);

    await operations.perform(populate(endpoint), PVC_UID);
    backend.finish(PVC_UID, { reason: "Io", message: "read error" });
    await vi.waitFor(() => expect(operations.observe(PVC_UID).operation?.phase).toBe("failed"), WAIT);
    await operations.perform(populate(endpoint, 2), PVC_UID);
    expect(operations.observe(PVC_UID).operation).toMatchObject({ attempt: 2, phase: "running" });
    backend.finish(PVC_UID);
    await vi.waitFor(() => expect(operations.observe(PVC_UID).operation?.phase).toBe("succeeded"), WAIT);
  });

  it("cancels the operation at the backend and forgets it", async () => {
    const endpoint = socket();
    const backend = new MemoryBackend();
    await serve(backend, endpoint);
    const { operations } = await started([endpoint]);

    await operations.perform(populate(endpoint), PVC_UID);
    await operations.perform(cancel(endpoint), PVC_UID);
    expect(backend.calls.at(-1)).toEqual({ method: "CancelOperation", operationId: PVC_UID });
    expect(backend.operations.size).toBe(0);
    expect(operations.observe(PVC_UID).operation).toBeUndefined();

    // Nothing polls a cancelled operation.
    const polls = backend.count("GetOperation");
    await new Promise((resolve) => setTimeout(resolve, POLL_MS * 4));
    expect(backend.count("GetOperation")).toBe(polls);
  });

  it("forgets the operation without throwing when the backend to cancel at is down or not configured", async () => {
    const endpoint = socket();
    const serving = await serve(new MemoryBackend(), endpoint);
    const { operations } = await started([endpoint]);
    await operations.perform(populate(endpoint), PVC_UID);
    await serving.stop(100);

    await expect(operations.perform(cancel(endpoint), PVC_UID)).resolves.toBeUndefined();
    expect(operations.observe(PVC_UID).operation).toBeUndefined();
    await expect(operations.perform(cancel(socket()), PVC_UID)).resolves.toBeUndefined();
  });

  it("stops polling once stopped", async () => {
    const endpoint = socket();
    const backend = new MemoryBackend();
    await serve(backend, endpoint);
    const { operations } = await started([endpoint]);

    await operations.perform(populate(endpoint), PVC_UID);
    await operations.stop();
    const polls = backend.count("GetOperation");
    await new Promise((resolve) => setTimeout(resolve, POLL_MS * 4));
    expect(backend.count("GetOperation")).toBe(polls);
  });
});
