import { isRunning } from "./idempotency.ts";
import type { OperationRecord } from "./operation-record.ts";

/** Finished operations kept for GetOperation; the controller forgets them with CancelOperation. */
export const DEFAULT_MAX_FINISHED = 1000;

/**
 * The backend's operations by id, in memory. Running ones are always kept; finished ones up to a
 * bound, oldest first out, so a controller that never calls CancelOperation cannot grow it forever.
 * An evicted operation answers NOT_FOUND, upon which the controller asks again (see backend.proto).
 */
export class OperationStore {
  readonly #records = new Map<string, OperationRecord>();
  /** Ids of finished operations, oldest first (a Set keeps insertion order). */
  readonly #finished = new Set<string>();
  readonly #maxFinished: number;

  constructor(maxFinished = DEFAULT_MAX_FINISHED) {
    this.#maxFinished = maxFinished;
  }

  get(operationId: string): OperationRecord | undefined {
    return this.#records.get(operationId);
  }

  /** Records a new operation, replacing any under the same id. */
  put(record: OperationRecord): void {
    this.#finished.delete(record.operationId);
    this.#records.set(record.operationId, record);
  }

  /** Call once the operation has reached a final state. */
  finished(record: OperationRecord): void {
    if (this.#records.get(record.operationId) !== record) return;
    this.#finished.add(record.operationId);
    for (const oldest of this.#finished) {
      if (this.#finished.size <= this.#maxFinished) break;
      this.#finished.delete(oldest);
      this.#records.delete(oldest);
    }
  }

  delete(operationId: string): void {
    this.#finished.delete(operationId);
    this.#records.delete(operationId);
  }

  /** The operation still writing to `volumeHandle`, if any. */
  writing(volumeHandle: string): OperationRecord | undefined {
    for (const record of this.#records.values()) {
      if (record.volumeHandle === volumeHandle && isRunning(record.state)) return record;
    }
    return undefined;
  }

  running(): OperationRecord[] {
    return this.all().filter((record) => isRunning(record.state));
  }

  all(): OperationRecord[] {
    return [...this.#records.values()];
  }

  get size(): number {
    return this.#records.size;
  }
}
