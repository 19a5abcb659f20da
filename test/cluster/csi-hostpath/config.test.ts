import { describe, expect, it } from "vitest";
import { parseConfig } from "./config.ts";

const required = ["--endpoint", "/run/csi/csi.sock", "--nodeid", "node-1", "--statedir", "/var/lib/hostpath"];

describe("parseConfig", () => {
  it("fills in the defaults when only the required flags are given", () => {
    expect(parseConfig(required)).toEqual({
      endpoint: "/run/csi/csi.sock",
      driverName: "hostpath.csi.k8s.io",
      nodeId: "node-1",
      zone: undefined,
      stateDir: "/var/lib/hostpath",
      registrationSocket: undefined,
      maxVolumeSize: 10 * 2 ** 30,
    });
  });

  it("puts the registration socket in the registration dir, named after the driver", () => {
    const config = parseConfig([
      ...required,
      "--registration-dir",
      "/var/lib/kubelet/plugins_registry",
      "--drivername",
      "h.example.com",
    ]);
    expect(config).toMatchObject({
      registrationSocket: "/var/lib/kubelet/plugins_registry/h.example.com-reg.sock",
    });
  });

  it("accepts a unix:// endpoint as upstream drivers do", () => {
    const config = parseConfig(["--endpoint", "unix:///run/csi/csi.sock", ...required.slice(2)]);
    expect(config).toMatchObject({ endpoint: "/run/csi/csi.sock" });
  });

  it("reads --max-volume-size as a Kubernetes quantity", () => {
    expect(parseConfig([...required, "--max-volume-size", "2Gi"])).toMatchObject({
      maxVolumeSize: 2 * 2 ** 30,
    });
  });

  it("takes the node's zone, which must be a label value", () => {
    expect(parseConfig([...required, "--zone", "b"])).toMatchObject({ zone: "b" });
    expect(() => parseConfig([...required, "--zone", "zone b"])).toThrow(
      /--zone "zone b" cannot be a label value/,
    );
  });

  it("returns help for --help", () => {
    expect(parseConfig(["--help"])).toBe("help");
  });

  it.each([
    ["a missing endpoint", ["--nodeid", "n", "--statedir", "/s"], /--endpoint is required/],
    ["a missing node id", ["--endpoint", "/e.sock", "--statedir", "/s"], /--nodeid is required/],
    ["a missing state dir", ["--endpoint", "/e.sock", "--nodeid", "n"], /--statedir is required/],
    ["a relative endpoint", ["--endpoint", "csi.sock", "--nodeid", "n", "--statedir", "/s"], /absolute/],
    ["a relative state dir", ["--endpoint", "/e.sock", "--nodeid", "n", "--statedir", "s"], /absolute/],
    [
      "a socket path too long for unix sockets",
      ["--endpoint", `/${"x".repeat(120)}.sock`, "--nodeid", "n", "--statedir", "/s"],
      /longer than/,
    ],
    [
      "a node id that is no label value",
      [...required.slice(0, 2), "--nodeid", "node/1", "--statedir", "/s"],
      /label value/,
    ],
    ["an invalid driver name", [...required, "--drivername", "bad_"], /not a valid CSI driver name/],
    ["a bad size", [...required, "--max-volume-size", "lots"], /invalid size/],
    ["an unknown flag", [...required, "--kubeconfig", "x"], /Unknown option/],
  ])("rejects %s", (_, args, message) => {
    expect(() => parseConfig(args)).toThrow(message);
  });
});
