import {
  BackendRpcError,
  GrpcCode,
  type PopulateRequest,
  PROTOCOL_LIMITS,
  VolumeMode,
} from "@volpop/sdk/fastpath";
import { describe, expect, it } from "vitest";
import { populateRequest, sourceJson } from "../fixtures.ts";
import { checkPopulateRequest, goldenContentName, type Served } from "./populate-request.ts";

const served: Served = {
  csiDriver: "hostpath.csi.k8s.io",
  sourceKinds: [{ group: "fastpath.volpop.dev", kind: "GoldenContent" }],
};

function refusal(overrides: Partial<PopulateRequest>) {
  try {
    checkPopulateRequest(populateRequest(overrides), served, "/state");
  } catch (error) {
    if (error instanceof BackendRpcError)
      return { code: error.code, reason: error.reason, field: error.field };
    throw error;
  }
  throw new Error("the request was accepted");
}

const invalid = (reason: string, field: string) => ({ code: GrpcCode.INVALID_ARGUMENT, reason, field });
const unimplemented = (reason: string, field: string) => ({ code: GrpcCode.UNIMPLEMENTED, reason, field });

describe("checkPopulateRequest", () => {
  it("accepts a well-formed request and locates its volume", () => {
    expect(checkPopulateRequest(populateRequest(), served, "/state/")).toEqual({
      operationId: "5f0c6a6e-3b7c-4f8e-9a1d-000000000001",
      attempt: 1,
      volumeHandle: "vol-1",
      volumeMode: "Filesystem",
      capacityBytes: 1024 * 1024 * 1024,
      volume: { filesystemDir: "/state/vol-1", blockFile: "/state/vol-1.img" },
    });
  });

  it.each<[string, Partial<PopulateRequest>, ReturnType<typeof invalid>]>([
    ["an empty operation id", { operationId: "" }, invalid("MissingField", "operation_id")],
    [
      "an operation id over 128 bytes",
      { operationId: "é".repeat(65) },
      invalid("FieldTooLong", "operation_id"),
    ],
    [
      "an operation id with a newline",
      { operationId: "a\nb" },
      invalid("InvalidOperationId", "operation_id"),
    ],
    ["attempt 0", { attempt: 0 }, invalid("MissingField", "attempt")],
    ["an empty CSI driver", { csiDriver: "" }, invalid("MissingField", "csi_driver")],
    ["an empty volume handle", { volumeHandle: "" }, invalid("MissingField", "volume_handle")],
    ["a 2 KB volume handle", { volumeHandle: "v".repeat(2048) }, invalid("FieldTooLong", "volume_handle")],
    [
      "129 volume attributes",
      { volumeAttributes: Object.fromEntries(Array.from({ length: 129 }, (_, i) => [`k${i}`, "v"])) },
      invalid("TooManyEntries", "volume_attributes"),
    ],
    [
      "a parameter over 4 KiB",
      { parameters: { big: "x".repeat(PROTOCOL_LIMITS.mapValueBytes + 1) } },
      invalid("FieldTooLong", "parameters"),
    ],
    ["no capacity", { capacityBytes: 0 }, invalid("InvalidCapacity", "capacity_bytes")],
    ["a negative capacity", { capacityBytes: -1 }, invalid("InvalidCapacity", "capacity_bytes")],
    [
      "no volume mode",
      { volumeMode: VolumeMode.VOLUME_MODE_UNSPECIFIED },
      invalid("MissingField", "volume_mode"),
    ],
    ["no source kind", { sourceKind: undefined }, invalid("MissingField", "source_kind")],
    ["an empty source", { sourceJson: "" }, invalid("MissingField", "source_json")],
    [
      "source_json over 1 MiB",
      { sourceJson: JSON.stringify({ pad: "x".repeat(PROTOCOL_LIMITS.sourceJsonBytes) }) },
      invalid("FieldTooLong", "source_json"),
    ],
    ["the handle ..", { volumeHandle: ".." }, invalid("InvalidVolumeHandle", "volume_handle")],
    ["a handle with /", { volumeHandle: "a/../../b" }, invalid("InvalidVolumeHandle", "volume_handle")],
    ["an absolute handle", { volumeHandle: "/etc/passwd" }, invalid("InvalidVolumeHandle", "volume_handle")],
    ["a handle with NUL", { volumeHandle: "vol\u0000ume" }, invalid("InvalidVolumeHandle", "volume_handle")],
    ["a hidden handle", { volumeHandle: ".volumes.json" }, invalid("InvalidVolumeHandle", "volume_handle")],
  ])("refuses %s with INVALID_ARGUMENT", (_, overrides, expected) => {
    expect(refusal(overrides)).toEqual(expected);
  });

  it.each<[string, Partial<PopulateRequest>, ReturnType<typeof unimplemented>]>([
    [
      "another CSI driver",
      { csiDriver: "ebs.csi.aws.com" },
      unimplemented("UnsupportedCsiDriver", "csi_driver"),
    ],
    [
      "another source kind",
      { sourceKind: { group: "hello.example.com", kind: "Hello" } },
      unimplemented("UnsupportedSourceKind", "source_kind"),
    ],
    [
      "a kind of another group",
      { sourceKind: { group: "evil.example.com", kind: "GoldenContent" } },
      unimplemented("UnsupportedSourceKind", "source_kind"),
    ],
    [
      "an unknown volume mode",
      { volumeMode: 7 as VolumeMode },
      unimplemented("UnsupportedVolumeMode", "volume_mode"),
    ],
  ])("answers UNIMPLEMENTED for %s, so the controller falls back to pods", (_, overrides, expected) => {
    expect(refusal(overrides)).toEqual(expected);
  });

  it("says UNIMPLEMENTED rather than judging another driver's handle format", () => {
    expect(refusal({ csiDriver: "other.csi.example.com", volumeHandle: "projects/p/disks/d" })).toMatchObject(
      {
        code: GrpcCode.UNIMPLEMENTED,
      },
    );
  });
});

describe("goldenContentName", () => {
  it("reads spec.content from the GoldenContent", () => {
    expect(goldenContentName(sourceJson("ubuntu-24.04"))).toBe("ubuntu-24.04");
  });

  it.each([
    "not json",
    "[]",
    "null",
    JSON.stringify({ spec: {} }),
    sourceJson("../etc"),
    sourceJson("x.img"),
  ])("refuses the source %j with INVALID_ARGUMENT", (json) => {
    expect(() => goldenContentName(json)).toThrow(
      expect.objectContaining({
        code: GrpcCode.INVALID_ARGUMENT,
        reason: "InvalidSource",
        field: "source_json",
      }),
    );
  });
});
