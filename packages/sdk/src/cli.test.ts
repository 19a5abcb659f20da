import { describe, expect, expectTypeOf, it } from "vitest";
import {
  type CliParseResult,
  CliUsageError,
  DEFAULT_WORKERS,
  type PopulatorCliOptions,
  parseGoDuration,
  parsePopulatorArgs,
} from "./cli.ts";
import { VolpopError } from "./errors.ts";

const defaults = {
  namespace: "hello",
  version: "1.2.3",
  prefix: "hello.example.com",
  imageName: "hello:1.2.3",
};

function run(argv: string[]): PopulatorCliOptions {
  const result = parsePopulatorArgs(argv, defaults);
  if (result.action !== "run") throw new Error(`expected to run, got ${result.action}`);
  return result.options;
}

function usageError(argv: string[]): CliUsageError {
  try {
    parsePopulatorArgs(argv, defaults);
  } catch (error) {
    if (error instanceof CliUsageError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(argv)} to be rejected`);
}

describe("parsePopulatorArgs", () => {
  it("fills every option with upstream's defaults when only --mode is given", () => {
    expect(run(["--mode=controller"])).toEqual({
      mode: "controller",
      kubeconfig: undefined,
      master: undefined,
      imageName: "hello:1.2.3",
      httpEndpoint: undefined,
      metricsPath: "/metrics",
      namespace: "hello",
      workers: DEFAULT_WORKERS,
      leaderElection: {
        enabled: false,
        namespace: "hello",
        leaseDurationMs: 15_000,
        renewDeadlineMs: 10_000,
        retryPeriodMs: 5_000,
      },
      logLevel: "info",
      fastPath: { endpoints: [], tlsDir: undefined, fallback: "pod" },
      extra: {},
      rest: [],
    });
  });

  it.each([
    { form: "--flag=value", argv: ["--mode=populate", "--namespace=ns1"] },
    { form: "--flag value", argv: ["--mode", "populate", "--namespace", "ns1"] },
    { form: "-flag=value (Go)", argv: ["-mode=populate", "-namespace=ns1"] },
    { form: "-flag value (Go)", argv: ["-mode", "populate", "-namespace", "ns1"] },
  ])("reads values written as $form", ({ argv }) => {
    expect(run(argv)).toMatchObject({ mode: "populate", namespace: "ns1" });
  });

  it.each([
    { argv: ["--kubeconfig=/k/config"], expected: { kubeconfig: "/k/config" } },
    { argv: ["--master", "https://10.0.0.1:6443"], expected: { master: "https://10.0.0.1:6443" } },
    { argv: ["--image-name=registry.local/hello:2"], expected: { imageName: "registry.local/hello:2" } },
    { argv: ["--http-endpoint=:8080"], expected: { httpEndpoint: ":8080" } },
    { argv: ["--http-endpoint="], expected: { httpEndpoint: undefined } },
    { argv: ["--metrics-path=/m"], expected: { metricsPath: "/m" } },
    { argv: ["--workers=3"], expected: { workers: 3 } },
    { argv: ["--log-level=debug"], expected: { logLevel: "debug" } },
    { argv: ["--namespace="], expected: { namespace: "hello" } },
    { argv: ["--image-name", "-odd"], expected: { imageName: "-odd" } },
    { argv: ["--mode=populate"], expected: { mode: "populate" } },
    { argv: ["--namespace=a", "--namespace=b"], expected: { namespace: "b" } },
  ])("reads $argv", ({ argv, expected }) => {
    expect(run(["--mode=controller", ...argv])).toMatchObject(expected);
  });

  it.each([
    { argv: ["--leader-election"], enabled: true },
    { argv: ["-leader-election"], enabled: true },
    { argv: ["--leader-election=true"], enabled: true },
    { argv: ["--leader-election=1"], enabled: true },
    { argv: ["--leader-election=false"], enabled: false },
    { argv: ["--leader-election", "--leader-election=F"], enabled: false },
    { argv: [], enabled: false },
  ])("reads the boolean $argv as Go does: $enabled", ({ argv, enabled }) => {
    expect(run(["--mode=controller", ...argv]).leaderElection.enabled).toBe(enabled);
  });

  it("reads leader election settings, defaulting the Lease namespace to --namespace", () => {
    expect(
      run([
        "--mode=controller",
        "--leader-election",
        "--namespace=pop",
        "--leader-election-lease-duration=1m30s",
        "--leader-election-renew-deadline",
        "1m",
        "--leader-election-retry-period=2.5s",
      ]).leaderElection,
    ).toEqual({
      enabled: true,
      namespace: "pop",
      leaseDurationMs: 90_000,
      renewDeadlineMs: 60_000,
      retryPeriodMs: 2_500,
    });
    expect(
      run(["--mode=controller", "--leader-election-namespace=kube-system"]).leaderElection.namespace,
    ).toBe("kube-system");
  });

  it("passes everything after -- through untouched", () => {
    expect(run(["--mode=controller", "--", "--unknown", "-x", "plain"]).rest).toEqual([
      "--unknown",
      "-x",
      "plain",
    ]);
  });

  it.each([
    { argv: ["--version"], action: "version" },
    { argv: ["-version", "--mode=bogus"], action: "version" },
    { argv: ["--help"], action: "help" },
    { argv: ["-help"], action: "help" },
    { argv: ["-h"], action: "help" },
    { argv: ["--mode=controller", "--help", "--bogus"], action: "help" },
  ])("answers $argv with the $action action", ({ argv, action }) => {
    expect(parsePopulatorArgs(argv, defaults).action).toBe(action);
  });

  it("gives the version and a printable version line", () => {
    expect(parsePopulatorArgs(["--version"], { ...defaults, programName: "hello-populator" })).toEqual({
      action: "version",
      version: "1.2.3",
      text: "hello-populator 1.2.3",
    });
  });

  it("describes every flag with its default in the help text", () => {
    const result = parsePopulatorArgs(["--help"], defaults);
    if (result.action !== "help") throw new Error("expected help");
    expect(result.text).toMatch(/^Usage: populator --mode=controller\|populate/);
    expect(result.text).toContain("hello.example.com, version 1.2.3");
    for (const flag of [
      "--mode value",
      "--kubeconfig value",
      "--master value",
      "--image-name value",
      "--http-endpoint value",
      "--metrics-path value",
      "--namespace value",
      "--workers value",
      "--leader-election ",
      "--leader-election-namespace value",
      "--leader-election-lease-duration value",
      "--leader-election-renew-deadline value",
      "--leader-election-retry-period value",
      "--log-level value",
      "--version",
      "-h, --help",
    ]) {
      expect(result.text).toContain(flag);
    }
    expect(result.text).toMatch(/--namespace value +Namespace .* \(default hello\)/);
    expect(result.text).toMatch(/--leader-election-lease-duration value .* \(default 15s\)/);
  });

  it.each([
    { argv: [], message: "--mode is required: one of controller, populate" },
    { argv: ["--mode=sidecar"], message: 'invalid --mode "sidecar": must be one of controller, populate' },
    { argv: ["--mode=controller", "--bogus=1"], message: 'unknown flag "--bogus"; see --help' },
    { argv: ["-bogus", "--mode=controller"], message: 'unknown flag "--bogus"; see --help' },
    { argv: ["--no-leader-election", "--mode=controller"], message: 'unknown flag "--no-leader-election"' },
    {
      argv: ["--mode=controller", "extra"],
      message: 'unexpected argument "extra"; arguments for the populator go after "--"',
    },
    { argv: ["--mode"], message: "flag --mode needs a value" },
    { argv: ["---mode=controller"], message: "bad flag syntax: ---mode=controller" },
    {
      argv: ["--mode=controller", "--leader-election=yes"],
      message: "invalid boolean in --leader-election=yes",
    },
    {
      argv: ["--mode=controller", "--workers=0"],
      message: 'invalid --workers "0": must be a whole number of at least 1',
    },
    { argv: ["--mode=controller", "--workers=2.5"], message: 'invalid --workers "2.5"' },
    { argv: ["--mode=controller", "--workers=many"], message: 'invalid --workers "many"' },
    {
      argv: ["--mode=controller", "--log-level=loud"],
      message: 'invalid --log-level "loud": must be one of fatal',
    },
    { argv: ["--mode=controller", "--metrics-path=metrics"], message: 'invalid --metrics-path "metrics"' },
    {
      argv: ["--mode=controller", "--http-endpoint=8080"],
      message: '--http-endpoint: invalid HTTP endpoint address "8080"',
    },
    {
      argv: ["--mode=controller", "--leader-election-lease-duration=15"],
      message: '--leader-election-lease-duration: invalid duration "15": missing unit',
    },
    {
      argv: ["--mode=controller", "--leader-election-retry-period=5 s"],
      message: '--leader-election-retry-period: invalid duration "5 s": unknown unit " s"',
    },
    {
      argv: ["--mode=controller", "--leader-election-retry-period=-5s"],
      message: 'invalid --leader-election-retry-period "-5s": must be positive',
    },
    {
      argv: ["--mode=controller", "--leader-election", "--leader-election-renew-deadline=15s"],
      message:
        "--leader-election-lease-duration (15s) must be greater than --leader-election-renew-deadline (15s)",
    },
    {
      argv: ["--mode=controller", "--leader-election", "--leader-election-retry-period=9s"],
      message:
        "--leader-election-renew-deadline (10s) must be greater than 1.2 × --leader-election-retry-period (9s)",
    },
  ])("rejects $argv: $message", ({ argv, message }) => {
    const error = usageError(argv);
    expect(error.message).toContain(message);
    expect(error.code).toBe("USAGE");
    expect(error).toBeInstanceOf(VolpopError);
    expect(error.usage).toMatch(/^Usage: /);
  });

  describe("fast-path flags", () => {
    it("reads backends in the order given, their TLS directory and the fallback", () => {
      const options = run([
        "--mode=controller",
        "--fastpath-endpoint=unix:///run/volpop-fastpath/backend.sock,backend.storage.svc:7443",
        "--fastpath-tls-dir",
        "/etc/volpop/fastpath-tls",
        "--fastpath-fallback=fail",
      ]);
      expect(options.fastPath).toEqual({
        endpoints: [
          { transport: "unix", path: "/run/volpop-fastpath/backend.sock" },
          { transport: "tcp", host: "backend.storage.svc", port: 7443 },
        ],
        tlsDir: "/etc/volpop/fastpath-tls",
        fallback: "fail",
      });
    });

    it.each([
      { argv: ["--fastpath-endpoint="], endpoints: [] },
      {
        argv: ["--fastpath-endpoint= /run/a.sock , ,"],
        endpoints: [{ transport: "unix", path: "/run/a.sock" }],
      },
      { argv: ["--fastpath-tls-dir=", "--fastpath-fallback=pod"], endpoints: [] },
    ])("reads $argv, skipping empty entries", ({ argv, endpoints }) => {
      expect(run(["--mode=controller", ...argv]).fastPath).toMatchObject({
        endpoints,
        tlsDir: undefined,
        fallback: "pod",
      });
    });

    it("lists the fast-path flags in the help text", () => {
      const result = parsePopulatorArgs(["--help"], defaults);
      expect(result.action === "help" && result.text).toMatch(
        /--fastpath-endpoint value +CSI fast-path backends/,
      );
      expect(result.action === "help" && result.text).toContain("--fastpath-tls-dir value");
      expect(result.action === "help" && result.text).toMatch(/--fastpath-fallback value .* \(default pod\)/);
    });

    it.each([
      {
        argv: ["--fastpath-endpoint=unix:///run/a.sock,backend"],
        message:
          '--fastpath-endpoint: fast-path endpoint "backend" is neither unix:///path/to.sock nor host:port',
      },
      {
        argv: ["--fastpath-fallback=retry"],
        message: 'invalid --fastpath-fallback "retry": must be pod or fail',
      },
      {
        argv: ["--fastpath-endpoint=unix:///run/a.sock,backend:7443"],
        message: "--fastpath-endpoint names a TCP backend: give --fastpath-tls-dir (mutual TLS) too",
      },
    ])("rejects $argv: $message", ({ argv, message }) => {
      const error = usageError(["--mode=controller", ...argv]);
      expect(error.message).toContain(message);
      expect(error.code).toBe("USAGE");
    });
  });

  describe("populator-specific flags", () => {
    const extra = {
      "file-name": { type: "string", description: "File to write" },
      "file-contents": { type: "string" },
      verbose: { type: "boolean", short: "v" },
      tag: { type: "string", multiple: true },
      retries: { type: "string", default: "3" },
    } as const;

    it.each([
      {
        argv: ["--file-name=/mnt/a", "-file-contents", "hi"],
        values: { "file-name": "/mnt/a", "file-contents": "hi", retries: "3" },
      },
      { argv: ["-v", "--retries=5"], values: { verbose: true, retries: "5" } },
      { argv: ["--verbose=false"], values: { verbose: false } },
      { argv: ["--tag=a", "--tag", "b"], values: { tag: ["a", "b"] } },
    ])("returns $argv in extra", ({ argv, values }) => {
      const result = parsePopulatorArgs(["--mode=populate", ...argv], defaults, extra);
      if (result.action !== "run") throw new Error("expected run");
      expect(result.options.extra).toMatchObject(values);
    });

    it("types extra from the spec", () => {
      const result = parsePopulatorArgs(["--mode=populate"], defaults, extra);
      expectTypeOf(result).toEqualTypeOf<
        CliParseResult<{
          "file-name": string | undefined;
          "file-contents": string | undefined;
          verbose: boolean | undefined;
          tag: string[] | undefined;
          retries: string;
        }>
      >();
    });

    it("lists them in the help text", () => {
      const result = parsePopulatorArgs(["-h"], defaults, extra);
      expect(result.action === "help" && result.text).toMatch(
        /Populator flags:\n {2}--file-name value +File to write\n/,
      );
      expect(result.action === "help" && result.text).toMatch(/--retries value +\(default 3\)/);
    });

    it.each([{ mode: { type: "string" } }, { help: { type: "boolean" } }])(
      "refuses a spec that redefines a built-in flag",
      (spec) => {
        expect(() => parsePopulatorArgs([], defaults, spec as never)).toThrow(TypeError);
      },
    );
  });
});

describe("parseGoDuration", () => {
  it.each([
    ["0", 0],
    ["15s", 15_000],
    ["1m30s", 90_000],
    ["500ms", 500],
    ["1.5h", 5_400_000],
    [".5s", 500],
    ["1.s", 1_000],
    ["2h45m", 9_900_000],
    ["1000us", 1],
    ["1000µs", 1],
    ["1000000ns", 1],
    ["+3s", 3_000],
    ["-2s", -2_000],
  ])("reads %s as %d ms", (text, ms) => {
    expect(parseGoDuration(text)).toBeCloseTo(ms, 9);
  });

  it.each([
    ["", "expected a number and a unit"],
    ["15", "missing unit"],
    ["s", "expected a number"],
    [".s", "expected a number"],
    ["1d", 'unknown unit "d"'],
    ["1m 30s", 'unknown unit "m "'],
    ["1.2.3s", 'unexpected ".3s"'],
  ])("rejects %j: %s", (text, problem) => {
    expect(() => parseGoDuration(text)).toThrow(RangeError);
    expect(() => parseGoDuration(text)).toThrow(problem);
  });
});
