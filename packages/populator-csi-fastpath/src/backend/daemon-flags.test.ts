import { CliUsageError } from "@volpop/sdk";
import { describe, expect, it } from "vitest";
import { parseDaemonArgs } from "./daemon-flags.ts";

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
      text: expect.stringMatching(
        /--max-bytes-per-second value +Bytes a second each copy may move, .*50Mi.* \(default 0\)/,
      ),
    });
  });

  it("takes the node name from the command line over NODE_NAME, and says so in its help", () => {
    expect(
      parseDaemonArgs([...required, "--node-name=node-b"], { NODE_NAME: "node-a" }, "1.0.0"),
    ).toMatchObject({
      config: { nodeName: "node-b" },
    });
    expect(parseDaemonArgs(required, { NODE_NAME: "" }, "1.0.0")).toMatchObject({
      config: { nodeName: undefined },
    });
    expect(parseDaemonArgs(["--help"], {}, "1.0.0")).toMatchObject({
      text: expect.stringMatching(/--node-name value +Node whose volumes .* \(default \$NODE_NAME\)/),
    });
  });

  it("reads Go's flag syntax, as the SDK's other binaries", () => {
    expect(
      parseDaemonArgs(["-state-dir", "/s", "--golden-dir", "/g", "-max-concurrent-copies=3"], {}, "1.0.0"),
    ).toMatchObject({ config: { stateDir: "/s", goldenDir: "/g", maxConcurrentCopies: 3 } });
  });

  it("prints help and the version", () => {
    expect(parseDaemonArgs(["--help"], {}, "1.0.0")).toMatchObject({
      action: "help",
      text: expect.stringMatching(/^Usage: csi-fastpath-populator backend --state-dir=DIR --golden-dir=DIR/),
    });
    expect(parseDaemonArgs(["--version"], {}, "1.0.0")).toEqual({
      action: "version",
      text: "csi-fastpath-populator backend 1.0.0",
    });
  });

  it.each([
    [[], "--state-dir is required"],
    [["--state-dir=/s"], "--golden-dir is required"],
    [["--state-dir=", "--golden-dir=/g"], 'invalid --state-dir "": must not be empty'],
    [["--state-dir=/s", "--golden-dir="], 'invalid --golden-dir "": must not be empty'],
    [[...required, "--log-level=loud"], 'invalid --log-level "loud": must be one of'],
    [
      [...required, "--max-concurrent-copies=0"],
      'invalid --max-concurrent-copies "0": must be a whole number',
    ],
    [
      [...required, "--max-concurrent-copies=2.5"],
      'invalid --max-concurrent-copies "2.5": must be a whole number',
    ],
    [[...required, "--shutdown-grace=soon"], '--shutdown-grace: invalid duration "soon"'],
    [[...required, "--shutdown-grace=-1s"], 'invalid --shutdown-grace "-1s": must not be negative'],
    [
      [...required, "--max-bytes-per-second=fast"],
      'invalid --max-bytes-per-second "fast": must be a byte count',
    ],
    [
      [...required, "--max-bytes-per-second=-1Mi"],
      'invalid --max-bytes-per-second "-1Mi": must be a byte count',
    ],
    [
      [...required, "--max-bytes-per-second=50MiB"],
      'invalid --max-bytes-per-second "50MiB": must be a byte count',
    ],
    [[...required, "--max-bytes-per-second="], 'invalid --max-bytes-per-second "": must be a byte count'],
    [
      [...required, "--max-bytes-per-second=1e30"],
      'invalid --max-bytes-per-second "1e30": must be a byte count',
    ],
    [[...required, "--http-endpoint=nowhere"], "--http-endpoint"],
    [[...required, "--frobnicate"], 'unknown flag "--frobnicate"'],
    [[...required, "stray"], 'unexpected argument "stray"'],
  ])("refuses %j", (argv, message) => {
    expect(() => parseDaemonArgs(argv, {}, "1.0.0")).toThrow(CliUsageError);
    expect(() => parseDaemonArgs(argv, {}, "1.0.0")).toThrow(message);
  });
});
