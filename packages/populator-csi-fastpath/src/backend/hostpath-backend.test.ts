import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { DataMovement, GrpcCode, type Operation, OperationState, VolumeMode } from "@volpop/sdk/fastpath";
import { badInputCase, contained } from "@volpop/test-catalogue";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MARKER_NAME } from "../copy/marker.ts";
import { populateRequest, readTree, sourceJson, sparseFile, temporaryDir, writeTree } from "../fixtures.ts";
import { VERSION } from "../version.ts";
import { HostpathBackend, type HostpathBackendOptions } from "./hostpath-backend.ts";

const {
  OPERATION_STATE_SUCCEEDED,
  OPERATION_STATE_FAILED,
  OPERATION_STATE_RUNNING,
  OPERATION_STATE_PENDING,
} = OperationState;

describe("HostpathBackend", () => {
  let dir: string;
  let stateDir: string;
  let goldenDir: string;
  let backend: HostpathBackend;
  const volume = (handle: string) => path.join(stateDir, handle);

  const make = (options: Partial<HostpathBackendOptions> = {}) =>
    new HostpathBackend({ stateDir, goldenDir, nodeName: "node-a", ...options });

  beforeEach(() => {
    dir = temporaryDir();
    stateDir = path.join(dir, "state");
    goldenDir = path.join(dir, "golden");
    writeTree(goldenDir, { base: { dir: { "hello.txt": "hello", sub: { dir: { "x.bin": "xyz" } } } } });
    writeTree(stateDir, { "vol-1": { dir: {} }, "vol-2": { dir: {} } });
    backend = make();
  });
  afterEach(async () => {
    await backend.shutdown(0);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Polls GetOperation until the operation stops running. */
  async function finished(
    operationId = populateRequest().operationId,
    on = backend,
  ): Promise<Partial<Operation>> {
    for (let i = 0; i < 500; i++) {
      const operation = await on.getOperation(operationId);
      if (operation.state !== OPERATION_STATE_PENDING && operation.state !== OPERATION_STATE_RUNNING)
        return operation;
      await sleep(10);
    }
    throw new Error(`operation ${operationId} did not finish`);
  }

  /** Resolves once the operation has copied its first bytes. */
  async function copying(operationId = populateRequest().operationId): Promise<void> {
    for (let i = 0; i < 1000; i++) {
      if (((await backend.getOperation(operationId)).bytesDone ?? 0) > 0) return;
      await sleep(5);
    }
    throw new Error(`operation ${operationId} copied nothing`);
  }

  /** Golden content that takes a while to copy: a big sparse file moved in small chunks. */
  function slowGolden(): HostpathBackend {
    sparseFile(path.join(goldenDir, "base", "big.bin"), 512 * 1024 * 1024);
    return make({ wholeFileLimit: 0, chunkBytes: 16 * 1024, kernelCopy: false });
  }

  it("describes itself: driver, GoldenContent, both volume modes, COPY, its node", () => {
    expect(backend.getBackendInfo()).toEqual({
      name: "hostpath-fastpath",
      version: VERSION,
      csiDrivers: ["hostpath.csi.k8s.io"],
      sourceKinds: [{ group: "fastpath.volpop.dev", kind: "GoldenContent" }],
      volumeModes: [VolumeMode.VOLUME_MODE_FILESYSTEM, VolumeMode.VOLUME_MODE_BLOCK],
      dataMovements: [DataMovement.DATA_MOVEMENT_COPY],
      nodeName: "node-a",
    });
    expect(make({ canClone: true }).getBackendInfo().dataMovements).toEqual([
      DataMovement.DATA_MOVEMENT_COPY,
      DataMovement.DATA_MOVEMENT_CLONE,
    ]);
  });

  it("accepts a population, copies in the background, and reports SUCCEEDED with progress", async () => {
    const accepted = await backend.populate(populateRequest());
    expect(accepted).toMatchObject({
      operationId: populateRequest().operationId,
      attempt: 1,
      volumeHandle: "vol-1",
    });
    expect([OPERATION_STATE_PENDING, OPERATION_STATE_RUNNING]).toContain(accepted.state);
    expect(await finished()).toMatchObject({
      state: OPERATION_STATE_SUCCEEDED,
      bytesDone: 8,
      bytesTotal: 8,
      dataMovement: DataMovement.DATA_MOVEMENT_COPY,
      failureReason: "",
    });
    expect(readTree(volume("vol-1"))).toEqual(readTree(path.join(goldenDir, "base")));
  });

  it("fills a Block volume's image file", async () => {
    fs.writeFileSync(path.join(goldenDir, "base.img"), "BOOT");
    sparseFile(path.join(stateDir, "vol-3.img"), 1024 * 1024);
    await backend.populate(
      populateRequest({ volumeHandle: "vol-3", volumeMode: VolumeMode.VOLUME_MODE_BLOCK }),
    );
    expect(await finished()).toMatchObject({ state: OPERATION_STATE_SUCCEEDED, bytesDone: 4, bytesTotal: 4 });
    const image = fs.readFileSync(path.join(stateDir, "vol-3.img"));
    expect(image.length).toBe(1024 * 1024);
    expect(image.subarray(0, 5).toString()).toBe("BOOT\0");
  });

  it("returns the same operation for the same id and attempt instead of copying twice", async () => {
    await backend.populate(populateRequest());
    const done = await finished();
    fs.rmSync(path.join(volume("vol-1"), "hello.txt"));
    expect(await backend.populate(populateRequest())).toEqual(done);
    await sleep(20);
    expect(fs.existsSync(path.join(volume("vol-1"), "hello.txt"))).toBe(false);
  });

  badInputCase(
    {
      id: "fastpath-operation-id-reused",
      component: "fastpath",
      input: "a Populate reusing a running operation's id for another volume",
      expected: "FAILED_PRECONDITION OperationIdInUse",
      checks: ["volume-left-empty"],
    },
    async () => {
      await backend.populate(populateRequest());
      await expect(backend.populate(populateRequest({ volumeHandle: "vol-2" }))).rejects.toMatchObject({
        code: GrpcCode.FAILED_PRECONDITION,
        reason: "OperationIdInUse",
      });
      await finished();
      contained("volume-left-empty", () => expect(readTree(volume("vol-2"))).toEqual({}));
    },
  );

  it("refuses a second operation on a volume that is being written", async () => {
    backend = slowGolden();
    await backend.populate(populateRequest());
    await expect(backend.populate(populateRequest({ operationId: "another-pvc-uid" }))).rejects.toMatchObject(
      {
        code: GrpcCode.FAILED_PRECONDITION,
        reason: "VolumeBusy",
      },
    );
  });

  it("fails the operation with GoldenContentNotFound, and starts over on a higher attempt", async () => {
    const request = populateRequest({ sourceJson: sourceJson("later") });
    await backend.populate(request);
    expect(await finished()).toMatchObject({
      state: OPERATION_STATE_FAILED,
      failureReason: "GoldenContentNotFound",
    });
    writeTree(path.join(goldenDir, "later"), { "l.txt": "late" });
    expect(await backend.populate(request)).toMatchObject({ state: OPERATION_STATE_FAILED, attempt: 1 });
    expect(await backend.populate({ ...request, attempt: 2 })).toMatchObject({ attempt: 2 });
    expect(await finished()).toMatchObject({ state: OPERATION_STATE_SUCCEEDED, attempt: 2 });
    expect(readTree(volume("vol-1"))).toEqual({ "l.txt": "file 644 late" });
  });

  badInputCase(
    {
      id: "fastpath-volume-too-small",
      component: "fastpath",
      input: "a Populate whose capacity_bytes is smaller than the golden content",
      expected: "operation FAILED, reason VolumeTooSmall",
      checks: ["volume-left-empty"],
    },
    async () => {
      await backend.populate(populateRequest({ capacityBytes: 7 }));
      expect(await finished()).toMatchObject({
        state: OPERATION_STATE_FAILED,
        failureReason: "VolumeTooSmall",
      });
      contained("volume-left-empty", () => expect(readTree(volume("vol-1"))).toEqual({}));
    },
  );

  badInputCase(
    {
      id: "fastpath-volume-not-empty",
      component: "fastpath",
      input: "a Populate for a volume that already holds someone's data",
      expected: "operation FAILED, reason VolumeNotEmpty",
      checks: ["existing-data-kept"],
    },
    async () => {
      writeTree(volume("vol-1"), { "theirs.txt": "keep" });
      await backend.populate(populateRequest());
      expect(await finished()).toMatchObject({
        state: OPERATION_STATE_FAILED,
        failureReason: "VolumeNotEmpty",
      });
      contained("existing-data-kept", () =>
        expect(readTree(volume("vol-1"))).toEqual({ "theirs.txt": "file 644 keep" }),
      );
    },
  );

  it("answers NOT_FOUND for a handle that names no volume, and for a link in the state directory", async () => {
    await expect(backend.populate(populateRequest({ volumeHandle: "vol-9" }))).rejects.toMatchObject({
      code: GrpcCode.NOT_FOUND,
      reason: "VolumeNotFound",
    });
    fs.symlinkSync("/etc", path.join(stateDir, "sneaky"));
    await expect(backend.populate(populateRequest({ volumeHandle: "sneaky" }))).rejects.toMatchObject({
      code: GrpcCode.NOT_FOUND,
    });
  });

  badInputCase.each([
    { name: "..", handle: () => "../outside", code: GrpcCode.INVALID_ARGUMENT },
    { name: "absolute", handle: () => path.join(dir, "outside"), code: GrpcCode.INVALID_ARGUMENT },
    { name: "symlink out of the state directory", handle: () => "sneaky", code: GrpcCode.NOT_FOUND },
  ])(
    {
      id: "fastpath-hostile-volume-handle",
      component: "fastpath",
      input:
        "a volume handle that names a directory beside the state directory: ../outside, its absolute path, or a symlink to it",
      expected: "INVALID_ARGUMENT InvalidVolumeHandle, or NOT_FOUND for the symlink; no operation",
      checks: ["nothing-outside-volume"],
    },
    async ({ handle, code }) => {
      const outside = path.join(dir, "outside");
      fs.mkdirSync(outside);
      fs.symlinkSync(outside, path.join(stateDir, "sneaky"));
      await expect(backend.populate(populateRequest({ volumeHandle: handle() }))).rejects.toMatchObject({
        code,
      });
      await expect(backend.getOperation(populateRequest().operationId)).rejects.toMatchObject({
        code: GrpcCode.NOT_FOUND,
      });
      contained("nothing-outside-volume", () => expect(readTree(outside)).toEqual({}));
    },
  );

  it("answers NOT_FOUND for a missing volume before it looks at the source", async () => {
    const request = populateRequest({ volumeHandle: "vol-9", sourceJson: "{}" });
    await expect(backend.populate(request)).rejects.toMatchObject({ code: GrpcCode.NOT_FOUND });
  });

  it("answers FAILED_PRECONDITION when the volume exists in the other mode", async () => {
    const request = populateRequest({ volumeMode: VolumeMode.VOLUME_MODE_BLOCK });
    await expect(backend.populate(request)).rejects.toMatchObject({
      code: GrpcCode.FAILED_PRECONDITION,
      reason: "VolumeModeMismatch",
    });
  });

  it("answers NOT_FOUND for an operation it does not know", async () => {
    await expect(backend.getOperation("nope")).rejects.toMatchObject({ code: GrpcCode.NOT_FOUND });
  });

  it("cancels mid-copy: once Cancel returns the volume no longer changes and the operation is forgotten", async () => {
    backend = slowGolden();
    await backend.populate(populateRequest());
    await copying();
    await backend.cancelOperation(populateRequest().operationId);
    const after = fs.statSync(path.join(volume("vol-1"), "big.bin"));
    await sleep(50);
    expect(fs.statSync(path.join(volume("vol-1"), "big.bin")).mtimeMs).toBe(after.mtimeMs);
    expect(after.size).toBeLessThan(512 * 1024 * 1024);
    await expect(backend.getOperation(populateRequest().operationId)).rejects.toMatchObject({
      code: GrpcCode.NOT_FOUND,
    });
    await backend.cancelOperation(populateRequest().operationId);
    await backend.cancelOperation("never-heard-of");
  });

  it("passes its bandwidth limit to the copy, which a cancel still stops at once", async () => {
    // At 1 MiB/s this would take over a minute; only the first chunk is let through at once.
    sparseFile(path.join(goldenDir, "base", "big.bin"), 64 * 1024 * 1024);
    backend = make({ maxBytesPerSecond: 1024 * 1024, chunkBytes: 64 * 1024 });
    await backend.populate(populateRequest());
    await copying();
    await backend.cancelOperation(populateRequest().operationId);
    expect(fs.statSync(path.join(volume("vol-1"), "big.bin")).size).toBeLessThan(64 * 1024 * 1024);
    expect(fs.existsSync(path.join(volume("vol-1"), MARKER_NAME))).toBe(true);
  });

  it.each([-1, Number.NaN])("refuses a bandwidth limit of %s when it is made", (limit) => {
    expect(() => make({ maxBytesPerSecond: limit })).toThrow(RangeError);
  });

  it("starts over after a restart finds its marker, and recognises a volume it had finished", async () => {
    writeTree(volume("vol-1"), { [MARKER_NAME]: `${populateRequest().operationId}\n`, "hello.txt": "hel" });
    const restarted = make();
    await restarted.populate(populateRequest());
    expect(await finished(undefined, restarted)).toMatchObject({ state: OPERATION_STATE_SUCCEEDED });
    expect(readTree(volume("vol-1"))).toEqual(readTree(path.join(goldenDir, "base")));

    const restartedAgain = make();
    await restartedAgain.populate(populateRequest());
    expect(await finished(undefined, restartedAgain)).toMatchObject({
      state: OPERATION_STATE_SUCCEEDED,
      message: "the volume already holds golden content base",
    });
  });

  it("queues copies beyond its limit as PENDING", async () => {
    backend = make({ maxConcurrentCopies: 1, wholeFileLimit: 0, chunkBytes: 16 * 1024, kernelCopy: false });
    sparseFile(path.join(goldenDir, "base", "big.bin"), 512 * 1024 * 1024);
    await backend.populate(populateRequest({ operationId: "first" }));
    const second = await backend.populate(populateRequest({ operationId: "second", volumeHandle: "vol-2" }));
    expect(second.state).toBe(OPERATION_STATE_PENDING);
    await backend.cancelOperation("second");
    await backend.cancelOperation("first");
  });

  it("on shutdown, lets running copies finish within the grace period and refuses new ones", async () => {
    await backend.populate(populateRequest());
    await backend.shutdown(5000);
    expect(await backend.getOperation(populateRequest().operationId)).toMatchObject({
      state: OPERATION_STATE_SUCCEEDED,
    });
    await expect(
      backend.populate(populateRequest({ operationId: "late", volumeHandle: "vol-2" })),
    ).rejects.toMatchObject({ code: GrpcCode.UNAVAILABLE });
  });

  it("on shutdown, stops copies still running after the grace period", async () => {
    backend = slowGolden();
    await backend.populate(populateRequest());
    await copying();
    await backend.shutdown(10);
    expect(await backend.getOperation(populateRequest().operationId)).toMatchObject({
      state: OperationState.OPERATION_STATE_CANCELLED,
    });
    expect(fs.readFileSync(path.join(volume("vol-1"), MARKER_NAME), "utf8")).toBe(
      `${populateRequest().operationId}\n`,
    );
  });
});
