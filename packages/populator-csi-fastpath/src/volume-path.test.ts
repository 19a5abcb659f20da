import { describe, expect, it } from "vitest";
import { locateVolume, VolumeHandleError } from "./volume-path.ts";

describe("locateVolume", () => {
  it("places a volume directly inside the state directory", () => {
    expect(locateVolume("/var/lib/csi/", "5d7c1d8e-0b7e-4a8f-9c7b-1f2e3d4c5b6a")).toEqual({
      filesystemDir: "/var/lib/csi/5d7c1d8e-0b7e-4a8f-9c7b-1f2e3d4c5b6a",
      blockFile: "/var/lib/csi/5d7c1d8e-0b7e-4a8f-9c7b-1f2e3d4c5b6a.img",
    });
  });

  it.each(["..", "../etc", "a/b", "/abs", "", ".hidden", "x".repeat(129), "a\0b"])(
    "refuses the hostile handle %j",
    (handle) => {
      expect(() => locateVolume("/var/lib/csi", handle)).toThrow(VolumeHandleError);
    },
  );
});
