import type { Stats } from "node:fs";
import { lstat } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "@volpop/sdk";
import {
  type BackendImplementation,
  BackendRpcError,
  DataMovement,
  type GetBackendInfoResponse,
  GrpcCode,
  type Operation,
  OperationState,
  type PopulateRequest,
  VolumeMode,
} from "@volpop/sdk/fastpath";
import { fillBlock } from "../copy/fill-block.ts";
import { fillFilesystem } from "../copy/fill-filesystem.ts";
import type { FillResult } from "../copy/fill-result.ts";
import { isAbort, PopulationFailure, toPopulationFailure } from "../copy/population-failure.ts";
import { GOLDEN_CONTENT_GROUP, GOLDEN_CONTENT_KIND } from "../golden-content.ts";
import { locateGolden } from "../golden-path.ts";
import { VERSION } from "../version.ts";
import { CopySlots } from "./copy-slots.ts";
import { decidePopulate } from "./idempotency.ts";
import { newRecord, type OperationRecord, toOperation } from "./operation-record.ts";
import { OperationStore } from "./operation-store.ts";
import {
  type CheckedRequest,
  checkPopulateRequest,
  goldenContentName,
  type Served,
} from "./populate-request.ts";
import { RpcReason } from "./reasons.ts";

export const DEFAULT_DRIVER_NAME = "hostpath.csi.k8s.io";
export const BACKEND_NAME = "hostpath-fastpath";

export interface HostpathBackendOptions {
  /** The hostpath CSI driver's state directory: volumes are `<stateDir>/<handle>` and `<handle>.img`. */
  readonly stateDir: string;
  /** Golden content: trees `<goldenDir>/<name>/`, images `<goldenDir>/<name>.img`. Never written. */
  readonly goldenDir: string;
  /** The CSI driver whose volumes are filled. Default `hostpath.csi.k8s.io`. */
  readonly driverName?: string;
  /** The node whose volumes this backend reaches (hostpath volumes are node-local). */
  readonly nodeName?: string | undefined;
  /** Source kinds served. Default: GoldenContent (fastpath.volpop.dev). */
  readonly sourceKinds?: readonly { readonly group: string; readonly kind: string }[];
  /** Whether reflinks work from the golden directory into the state directory (see probeReflink). */
  readonly canClone?: boolean;
  /** Copies running at once; the rest wait PENDING. Default 2. */
  readonly maxConcurrentCopies?: number;
  /** Finished operations remembered. Default 1000. */
  readonly maxFinishedOperations?: number;
  /** Give copies the golden entries' owners. Default: when running as root. */
  readonly preserveOwnership?: boolean;
  readonly logger?: Logger | undefined;
  /**
   * Bytes per second each copy may move at most, so populating leaves the storage to other workloads
   * too (with several copies at once the node sees up to `maxConcurrentCopies` times this). Undefined
   * or 0: no limit. Reflinks are not limited: they move no data.
   */
  readonly maxBytesPerSecond?: number | undefined;
  /** Copy tuning, for tests: see copyRegularFile. */
  readonly wholeFileLimit?: number;
  readonly chunkBytes?: number;
  /** Large files through coreutils `cp` (copy_file_range) when present; default true. */
  readonly kernelCopy?: boolean;
}

/**
 * The reference fast-path backend: fills hostpath CSI volumes from golden content on the same node.
 * Copies run in the background; operations live in memory (a restart forgets them, and the controller
 * then asks again: see backend.proto, "Idempotency", and the volume marker in copy/marker.ts).
 */
export class HostpathBackend implements BackendImplementation {
  readonly #options: HostpathBackendOptions;
  readonly #stateDir: string;
  readonly #served: Served;
  readonly #store: OperationStore;
  readonly #slots: CopySlots;
  #stopping = false;

  constructor(options: HostpathBackendOptions) {
    this.#options = options;
    this.#stateDir = path.resolve(options.stateDir);
    this.#served = {
      csiDriver: options.driverName ?? DEFAULT_DRIVER_NAME,
      sourceKinds: options.sourceKinds ?? [{ group: GOLDEN_CONTENT_GROUP, kind: GOLDEN_CONTENT_KIND }],
    };
    const rate = options.maxBytesPerSecond;
    // Checked here rather than failing every copy later with CopyFailed.
    if (rate !== undefined && !(Number.isFinite(rate) && rate >= 0)) {
      throw new RangeError(`maxBytesPerSecond must be a positive number or 0, got ${rate}`);
    }
    this.#store = new OperationStore(options.maxFinishedOperations);
    this.#slots = new CopySlots(options.maxConcurrentCopies ?? 2);
  }

  getBackendInfo(): Partial<GetBackendInfoResponse> {
    return {
      name: BACKEND_NAME,
      version: VERSION,
      csiDrivers: [this.#served.csiDriver],
      sourceKinds: this.#served.sourceKinds.map((kind) => ({ ...kind })),
      volumeModes: [VolumeMode.VOLUME_MODE_FILESYSTEM, VolumeMode.VOLUME_MODE_BLOCK],
      dataMovements: this.#options.canClone
        ? [DataMovement.DATA_MOVEMENT_COPY, DataMovement.DATA_MOVEMENT_CLONE]
        : [DataMovement.DATA_MOVEMENT_COPY],
      nodeName: this.#options.nodeName ?? "",
    };
  }

  async populate(request: PopulateRequest): Promise<Partial<Operation>> {
    const checked = checkPopulateRequest(request, this.#served, this.#stateDir);
    const first = this.#decide(checked);
    if (first) return first;
    await this.#requireVolume(checked);
    const content = goldenContentName(request.sourceJson);
    // The checks above awaited: another call may have started this operation meanwhile.
    const again = this.#decide(checked);
    if (again) return again;
    if (this.#stopping) {
      throw new BackendRpcError(GrpcCode.UNAVAILABLE, RpcReason.ShuttingDown, "the backend is shutting down");
    }
    const record = newRecord(checked);
    this.#store.put(record);
    record.finished = this.#run(record, checked, content);
    return toOperation(record);
  }

  async getOperation(operationId: string): Promise<Partial<Operation>> {
    const record = this.#store.get(operationId);
    if (!record) {
      throw new BackendRpcError(
        GrpcCode.NOT_FOUND,
        RpcReason.OperationNotFound,
        `no operation ${JSON.stringify(operationId.slice(0, 200))}`,
        "operation_id",
      );
    }
    return toOperation(record);
  }

  async cancelOperation(operationId: string): Promise<void> {
    const record = this.#store.get(operationId);
    if (!record) return;
    record.abort.abort();
    // The protocol promises that after Cancel returns, the volume is no longer written.
    await record.finished;
    // A retry (higher attempt) may have replaced the record meanwhile: that one was not cancelled.
    if (this.#store.get(operationId) === record) this.#store.delete(operationId);
  }

  /**
   * Stops accepting operations, lets running copies finish for up to `graceMs`, then stops the rest
   * at their next chunk. Stopped copies leave their marker, so the next backend starts them over.
   */
  async shutdown(graceMs: number): Promise<void> {
    this.#stopping = true;
    const running = this.#store.running();
    const all = Promise.all(running.map((record) => record.finished));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), graceMs);
    });
    const outcome = await Promise.race([all, timeout]);
    clearTimeout(timer);
    if (outcome === "timeout") {
      for (const record of running) record.abort.abort();
      await all;
    }
  }

  /** Operations by state, for metrics. */
  countByState(): Map<OperationState, number> {
    const counts = new Map<OperationState, number>();
    for (const state of Object.values(OperationState)) if (state > 0) counts.set(state, 0);
    for (const record of this.#store.all()) counts.set(record.state, (counts.get(record.state) ?? 0) + 1);
    return counts;
  }

  #decide(checked: CheckedRequest): Operation | undefined {
    const decision = decidePopulate(
      checked,
      this.#store.get(checked.operationId),
      this.#store.writing(checked.volumeHandle),
    );
    if (decision.kind === "refuse") throw decision.error;
    if (decision.kind === "existing") return toOperation(decision.operation as OperationRecord);
    return undefined;
  }

  /** NOT_FOUND unless the handle names a volume of the requested mode; links in the state dir are not volumes. */
  async #requireVolume(checked: CheckedRequest): Promise<void> {
    const wanted =
      checked.volumeMode === "Filesystem" ? checked.volume.filesystemDir : checked.volume.blockFile;
    const other =
      checked.volumeMode === "Filesystem" ? checked.volume.blockFile : checked.volume.filesystemDir;
    const isVolume = (stats: Stats | undefined, mode: "Filesystem" | "Block") =>
      mode === "Filesystem" ? stats?.isDirectory() === true : stats?.isFile() === true;
    if (isVolume(await lstat(wanted).catch(() => undefined), checked.volumeMode)) return;
    const otherMode = checked.volumeMode === "Filesystem" ? "Block" : "Filesystem";
    if (isVolume(await lstat(other).catch(() => undefined), otherMode)) {
      throw new BackendRpcError(
        GrpcCode.FAILED_PRECONDITION,
        RpcReason.VolumeModeMismatch,
        `volume ${checked.volumeHandle} is a ${otherMode} volume, not ${checked.volumeMode}`,
        "volume_mode",
      );
    }
    throw new BackendRpcError(
      GrpcCode.NOT_FOUND,
      RpcReason.VolumeNotFound,
      `${this.#served.csiDriver} has no volume ${checked.volumeHandle} here`,
      "volume_handle",
    );
  }

  /** The background part of an operation; settles (never rejects) once it no longer writes. */
  async #run(record: OperationRecord, checked: CheckedRequest, content: string): Promise<void> {
    const signal = record.abort.signal;
    const log = this.#options.logger?.child({ operationId: record.operationId, attempt: record.attempt });
    let release: (() => void) | undefined;
    try {
      release = await this.#slots.acquire(signal);
      record.state = OperationState.OPERATION_STATE_RUNNING;
      record.message = `measuring golden content ${content}`;
      log?.info(
        { volumeHandle: record.volumeHandle, content, volumeMode: checked.volumeMode },
        "population started",
      );
      const began = performance.now();
      const result = await this.#fill(record, checked, content);
      const seconds = (performance.now() - began) / 1000;
      record.state = OperationState.OPERATION_STATE_SUCCEEDED;
      record.dataMovement =
        result.movement === "clone" ? DataMovement.DATA_MOVEMENT_CLONE : DataMovement.DATA_MOVEMENT_COPY;
      record.message =
        result.movement === "none"
          ? `the volume already holds golden content ${content}`
          : `${result.movement === "clone" ? "cloned" : "copied"} golden content ${content} (${result.bytes} bytes)`;
      log?.info(
        { bytes: result.bytes, movement: result.movement, seconds: Number(seconds.toFixed(3)) },
        "population succeeded",
      );
    } catch (error) {
      if (isAbort(error)) {
        record.state = OperationState.OPERATION_STATE_CANCELLED;
        record.message = "cancelled";
        log?.info("population cancelled");
      } else {
        const failure =
          error instanceof PopulationFailure ? error : toPopulationFailure(error, "populating the volume");
        record.state = OperationState.OPERATION_STATE_FAILED;
        record.failureReason = failure.reason;
        record.message = failure.message;
        log?.warn({ reason: failure.reason, err: failure.cause ?? failure }, "population failed");
      }
    } finally {
      release?.();
      this.#store.finished(record);
    }
  }

  #fill(record: OperationRecord, checked: CheckedRequest, content: string): Promise<FillResult> {
    const golden = locateGolden(this.#options.goldenDir, content);
    const onProgress = (progress: { bytesDone: number; bytesTotal: number | undefined }) => {
      record.bytesDone = progress.bytesDone;
      record.bytesTotal = progress.bytesTotal ?? 0;
      record.message = `copying golden content ${content}`;
    };
    const common = {
      capacityBytes: checked.capacityBytes,
      signal: record.abort.signal,
      onProgress,
      chunkBytes: this.#options.chunkBytes,
      maxBytesPerSecond: this.#options.maxBytesPerSecond,
    };
    if (checked.volumeMode === "Block") {
      return fillBlock({ ...common, goldenImage: golden.imageFile, target: checked.volume.blockFile });
    }
    return fillFilesystem({
      ...common,
      goldenTree: golden.treeDir,
      volumeDir: checked.volume.filesystemDir,
      operationId: record.operationId,
      preserveOwnership: this.#options.preserveOwnership ?? process.getuid?.() === 0,
      wholeFileLimit: this.#options.wholeFileLimit,
      kernelCopy: this.#options.kernelCopy,
    });
  }
}
