import { OperationState } from "@volpop/sdk/fastpath";
import { describe, expect, it } from "vitest";
import { newRecord, type OperationRecord } from "./operation-record.ts";
import { OperationStore } from "./operation-store.ts";

function record(
  operationId: string,
  state: OperationState,
  volumeHandle = `vol-${operationId}`,
): OperationRecord {
  const r = newRecord({ operationId, attempt: 1, volumeHandle });
  r.state = state;
  return r;
}

describe("OperationStore", () => {
  it("keeps finished operations up to its bound, evicting the oldest first", () => {
    const store = new OperationStore(2);
    for (const id of ["a", "b", "c"]) {
      const r = record(id, OperationState.OPERATION_STATE_SUCCEEDED);
      store.put(r);
      store.finished(r);
    }
    expect(store.get("a")).toBeUndefined();
    expect(store.get("b")?.operationId).toBe("b");
    expect(store.get("c")?.operationId).toBe("c");
  });

  it("never evicts a running operation", () => {
    const store = new OperationStore(1);
    const running = record("run", OperationState.OPERATION_STATE_RUNNING);
    store.put(running);
    for (const id of ["x", "y", "z"]) {
      const r = record(id, OperationState.OPERATION_STATE_FAILED);
      store.put(r);
      store.finished(r);
    }
    expect(store.get("run")).toBe(running);
    expect(store.size).toBe(2);
  });

  it("finds the operation writing a volume, and only while it runs", () => {
    const store = new OperationStore();
    const r = record("a", OperationState.OPERATION_STATE_PENDING, "vol");
    store.put(r);
    expect(store.writing("vol")).toBe(r);
    r.state = OperationState.OPERATION_STATE_SUCCEEDED;
    expect(store.writing("vol")).toBeUndefined();
  });

  it("ignores the end of a record that was replaced meanwhile", () => {
    const store = new OperationStore(0);
    const first = record("a", OperationState.OPERATION_STATE_FAILED);
    store.put(first);
    const second = record("a", OperationState.OPERATION_STATE_RUNNING);
    store.put(second);
    store.finished(first);
    expect(store.get("a")).toBe(second);
  });
});
