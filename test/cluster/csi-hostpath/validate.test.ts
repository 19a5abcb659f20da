import { describe, expect, it } from "vitest";
import { blockCapability, mountCapability } from "./fixtures.ts";
import type { VolumeCapability } from "./messages.ts";
import {
  capabilityKind,
  requireCapabilities,
  requireTargetPath,
  requireVolumeId,
  requireVolumeName,
} from "./validate.ts";

const invalid = (message: RegExp) =>
  expect.objectContaining({ code: "INVALID_ARGUMENT", message: expect.stringMatching(message) });

describe("requireVolumeName", () => {
  it("accepts the names external-provisioner generates", () => {
    expect(requireVolumeName("pvc-6a3f0c1e-8f6b-4a51-9e0d-0c3bdbd1f0a2")).toBe(
      "pvc-6a3f0c1e-8f6b-4a51-9e0d-0c3bdbd1f0a2",
    );
  });

  it.each([
    ["an empty name", "", /name is required/],
    ["a name over 128 bytes", "x".repeat(129), /limit is 128/],
    ["a name over 128 bytes once UTF-8 encoded", "é".repeat(65), /limit is 128/],
  ])("refuses %s", (_, name, message) => {
    expect(() => requireVolumeName(name)).toThrow(invalid(message));
  });
});

describe("requireVolumeId", () => {
  it("accepts a UUID", () => {
    expect(requireVolumeId("0b7c4f3e-2d1a-4c5b-9e8f-7a6b5c4d3e2f")).toBe(
      "0b7c4f3e-2d1a-4c5b-9e8f-7a6b5c4d3e2f",
    );
  });

  it.each([
    ["an empty id", "", /volume_id is required/],
    ["a path", "/etc/passwd", /not a volume id/],
    ["a parent reference", "..", /not a volume id/],
    ["a UUID with a path suffix", "0b7c4f3e-2d1a-4c5b-9e8f-7a6b5c4d3e2f/..", /not a volume id/],
    ["a traversal disguised as a UUID prefix", "../0b7c4f3e-2d1a-4c5b-9e8f-7a6b5c4d3e2f", /not a volume id/],
    ["an uppercase UUID", "0B7C4F3E-2D1A-4C5B-9E8F-7A6B5C4D3E2F", /not a volume id/],
    ["another driver's handle", "pvc-123", /not a volume id/],
  ])("refuses %s", (_, id, message) => {
    expect(() => requireVolumeId(id)).toThrow(invalid(message));
  });
});

describe("requireTargetPath", () => {
  it("accepts kubelet's pod volume paths", () => {
    const path = "/var/lib/kubelet/pods/4f1e/volumes/kubernetes.io~csi/pvc-1/mount";
    expect(requireTargetPath(path)).toBe(path);
  });

  it.each([
    ["an empty path", "", /target_path is required/],
    ["a relative path", "pods/x/mount", /not an absolute path/],
    ["a path with ..", "/var/lib/kubelet/../../etc", /not a normalised path/],
    ["a path with .", "/var/./lib", /not a normalised path/],
    ["a doubled slash", "/var//lib", /not a normalised path/],
    ["a trailing slash", "/var/lib/", /not a normalised path/],
    ["the root", "/", /not a normalised path/],
    ["a NUL byte", "/var/lib\0x", /NUL/],
  ])("refuses %s", (_, path, message) => {
    expect(() => requireTargetPath(path)).toThrow(invalid(message));
  });
});

describe("capabilityKind", () => {
  it("maps mount access to a filesystem volume and block access to a block volume", () => {
    expect(capabilityKind(mountCapability(), "c")).toBe("filesystem");
    expect(capabilityKind(blockCapability("MULTI_NODE_MULTI_WRITER"), "c")).toBe("block");
  });

  it.each<[string, VolumeCapability | null, RegExp]>([
    ["a missing capability", null, /c is required/],
    ["no access mode", { ...mountCapability(), access_mode: null }, /access_mode must be set/],
    ["the UNKNOWN access mode", mountCapability("UNKNOWN"), /access_mode must be set/],
    ["no access type", { access_mode: { mode: "SINGLE_NODE_WRITER" } }, /access_type: block or mount/],
  ])("refuses %s", (_, capability, message) => {
    expect(() => capabilityKind(capability, "c")).toThrow(invalid(message));
  });
});

describe("requireCapabilities", () => {
  it("returns the kind every capability agrees on", () => {
    expect(requireCapabilities([mountCapability(), mountCapability("SINGLE_NODE_READER_ONLY")])).toBe(
      "filesystem",
    );
  });

  it("refuses an empty list", () => {
    expect(() => requireCapabilities([])).toThrow(invalid(/must not be empty/));
  });

  it("refuses a mix of block and mount", () => {
    expect(() => requireCapabilities([mountCapability(), blockCapability()])).toThrow(
      invalid(/mixes block and mount/),
    );
  });

  it("names the index of a bad capability", () => {
    expect(() => requireCapabilities([mountCapability(), mountCapability("UNKNOWN")])).toThrow(
      invalid(/volume_capabilities\[1\]\.access_mode/),
    );
  });
});
