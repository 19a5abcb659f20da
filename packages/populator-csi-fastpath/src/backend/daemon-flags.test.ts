import { describe, expect, it } from "vitest";
import { DaemonUsageError, parseDaemonArgs } from "./daemon-flags.ts";

const required = ["--state-dir=/var/lib/csi-hostpath", "--golden-dir=/var/lib/golden"];

describe("parseDaemonArgs", () => {
  it("fills in the defaults, the node name from NODE_NAME", () => {
    expect(parseDaemonArgs(required, { NODE_NAME: "node-a" }, "1.0.0")).toEqual({
      action: "run",
      config: {
        endpoint: "unix:///run/volpop-fastpath/backend.sock",
        stateDir: "/var/lib/csi-hostpath",
        goldenDir: "/var/lib/golden",
        driverName: "hostpath.csi.k8s.io",
        nodeName: "node-a",
        tlsDir: undefined,
        logLevel: "info",
        httpEndpoint: undefined,
        maxConcurrentCopies: 2,
        maxBytesPerSecond: 0,
        shutdownGraceMs: 20_000,
      },
    });
  });

  it("takes every flag", () => {
    const parsed = parseDaemonArgs(
      [
        ...required,
        "--endpoint=0.0.0.0:9443",
        "--driver-name=other.csi.k8s.io",
        "--node-name=node-b",
        "--tls-dir=/tls",
        "--log-level=debug",
        "--http-endpoint=:8081",
        "--max-concurrent-copies=4",
        "--max-bytes-per-second=50Mi",
        "--shutdown-grace=1m",
      ],
      { NODE_NAME: "ignored" },
      "1.0.0",
    );
    expect(parsed).toMatchObject({
      config: {
        endpoint: "0.0.0.0:9443",
        driverName: "other.csi.k8s.io",
        nodeName: "node-b",
        tlsDir: "/tls",
        logLevel: "debug",
        httpEndpoint: ":8081",
        maxConcurrentCopies: 4,
        maxBytesPerSecond: 50 * 1024 * 1024,
        shutdownGraceMs: 60_000,
      },
    });
  });

  it.each([
    ["0", 0],
    ["1048576", 1024 * 1024],
    ["50Mi", 50 * 1024 * 1024],
    ["100M", 100_000_000],
    ["1.5Ki", 1536],
    ["2e6", 2_000_000],
  ])("reads --max-bytes-per-second=%s as %d bytes a second", (value, bytes) => {
    expect(parseDaemonArgs([...required, `--max-bytes-per-second=${value}`], {}, "1.0.0")).toMatchObject({
      config: { maxBytesPerSecond: bytes },
    });
  });

  it("documents --max-bytes-per-second in its help", () => {
    expect(parseDaemonArgs(["--help"], {}, "1.0.0")).toMatchObject({
      text: expect.stringContaining("--max-bytes-per-second=QUANTITY"),
    });
  });

  it("prints help and the version", () => {
    expect(parseDaemonArgs(["--help"], {}, "1.0.0")).toMatchObject({ action: "print" });
    expect(parseDaemonArgs(["--version"], {}, "1.0.0")).toEqual({ action: "print", text: "1.0.0" });
  });

  it.each([
    [[], "--state-dir is required"],
    [["--state-dir=/s"], "--golden-dir is required"],
    [[...required, "--log-level=loud"], "--log-level must be one of"],
    [[...required, "--max-concurrent-copies=0"], "--max-concurrent-copies must be a whole number"],
    [[...required, "--shutdown-grace=soon"], "--shutdown-grace"],
    [[...required, "--max-bytes-per-second=fast"], "--max-bytes-per-second must be a byte count"],
    [[...required, "--max-bytes-per-second=-1Mi"], "--max-bytes-per-second must be a byte count"],
    [[...required, "--max-bytes-per-second=50MiB"], "--max-bytes-per-second must be a byte count"],
    [[...required, "--max-bytes-per-second="], "--max-bytes-per-second must be a byte count"],
    [[...required, "--max-bytes-per-second=1e30"], "--max-bytes-per-second must be a byte count"],
    [[...required, "--frobnicate"], "Unknown option"],
  ])("refuses %j", (argv, message) => {
    expect(() => parseDaemonArgs(argv, {}, "1.0.0")).toThrow(DaemonUsageError);
    expect(() => parseDaemonArgs(argv, {}, "1.0.0")).toThrow(message);
  });
});
