import { afterEach, describe, expect, it, vi } from "vitest";
import { parsePopulatorArgs } from "../cli.ts";
import { fakePopulator } from "../internal/fixtures.ts";
import { runPopulator } from "../run.ts";
import type { FlagCommand } from "./command.ts";
import { defineFlags, type FlagDeclarations } from "./declaration.ts";
import { httpEndpointFlags } from "./groups/http-endpoint.ts";
import { kubeconfigFlags } from "./groups/kubeconfig.ts";
import { leaderElectionCheck, leaderElectionFlags } from "./groups/leader-election.ts";
import { loggingFlags, logLevelOf } from "./groups/logging.ts";
import { parseFlags } from "./parse.ts";
import { CliUsageError } from "./usage-error.ts";

function command<S extends FlagDeclarations>(
  flags: S,
  checks: FlagCommand<S>["checks"] = [],
): FlagCommand<S> {
  return { program: "tool", synopsis: "[flags]", about: "Does things.", flags, checks };
}

function problem(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof CliUsageError) return error.message;
    throw error;
  }
  throw new Error("expected a usage error");
}

describe("leaderElectionFlags", () => {
  // The populator's wording of the Lease namespace's default, and the validator's.
  const populator = leaderElectionFlags({ namespaceDefault: "--namespace" });
  const sets = [
    { binary: "a populator", flags: populator },
    {
      binary: "the validator",
      flags: leaderElectionFlags({ namespaceDefault: "the namespace the validator runs in" }),
    },
  ];
  const parse = (flags: (typeof sets)[number]["flags"], ...argv: string[]) =>
    parseFlags(argv, command(flags, [leaderElectionCheck]));

  it.each(sets)("gives client-go's defaults in $binary", ({ flags }) => {
    expect(parse(flags)).toMatchObject({
      values: {
        "leader-election": false,
        "leader-election-namespace": undefined,
        "leader-election-lease-duration": 15_000,
        "leader-election-renew-deadline": 10_000,
        "leader-election-retry-period": 5_000,
      },
    });
  });

  it.each(
    sets.flatMap(({ binary, flags }) => [
      {
        binary,
        flags,
        argv: ["--leader-election-lease-duration=500ms"],
        message:
          "--leader-election-lease-duration must be at least 1s (a Lease counts whole seconds), not 500ms; --leader-election-lease-duration (500ms) must be greater than --leader-election-renew-deadline (10s)",
      },
      {
        binary,
        flags,
        argv: [
          "--leader-election-lease-duration=500ms",
          "--leader-election-renew-deadline=300ms",
          "-leader-election-retry-period=100ms",
        ],
        message:
          "--leader-election-lease-duration must be at least 1s (a Lease counts whole seconds), not 500ms",
      },
      {
        binary,
        flags,
        argv: ["--leader-election-renew-deadline=15s"],
        message:
          "--leader-election-lease-duration (15s) must be greater than --leader-election-renew-deadline (15s)",
      },
      {
        binary,
        flags,
        argv: ["--leader-election-retry-period=9s"],
        message:
          "--leader-election-renew-deadline (10s) must be greater than 1.2 × --leader-election-retry-period (9s)",
      },
    ]),
  )("refuses $argv in $binary with leader election on: $message", ({ flags, argv, message }) => {
    expect(problem(() => parse(flags, "--leader-election", ...argv))).toBe(message);
  });

  it.each(sets)(
    "leaves the timings alone in $binary while leader election is off, as client-go",
    ({ flags }) => {
      expect(parse(flags, "--leader-election-lease-duration=500ms", "--leader-election=false")).toMatchObject(
        {
          values: { "leader-election-lease-duration": 500 },
        },
      );
    },
  );

  it.each(["0", "-5s"])("refuses a duration of %s whether or not leader election is on", (text) => {
    expect(problem(() => parse(populator, `--leader-election-retry-period=${text}`))).toBe(
      `invalid --leader-election-retry-period ${JSON.stringify(text)}: must be positive`,
    );
  });

  it("refuses a 500 ms lease as a populator's usage error, before anything starts", () => {
    expect(
      problem(() =>
        parsePopulatorArgs(
          ["--mode=controller", "--leader-election", "--leader-election-lease-duration=500ms"],
          {
            namespace: "hello",
            version: "1.0.0",
          },
        ),
      ),
    ).toContain("--leader-election-lease-duration must be at least 1s");
  });

  describe("in a populator binary", () => {
    afterEach(() => vi.restoreAllMocks());

    it("exits 2 with the problem and the help for a 500 ms lease", async () => {
      const stderr = vi.spyOn(process.stderr, "write").mockReturnValue(true);
      const code = await runPopulator(
        {
          populator: fakePopulator(),
          version: "1.0.0",
          programName: "hello-populator",
          defaults: { namespace: "hello" },
          populate: async () => {},
        },
        ["--mode=controller", "--leader-election", "--leader-election-lease-duration=500ms"],
      );
      expect(code).toBe(2);
      expect(stderr).toHaveBeenCalledWith(
        expect.stringMatching(
          /^--leader-election-lease-duration must be at least 1s .*\n\nUsage: hello-populator --mode/,
        ),
      );
    });
  });
});

describe("httpEndpointFlags", () => {
  const parse = (...argv: string[]) => parseFlags(argv, command(httpEndpointFlags()));

  it.each([
    { argv: [], values: { "http-endpoint": undefined, "metrics-path": "/metrics" } },
    {
      argv: ["--http-endpoint=:8080", "--metrics-path=/m"],
      values: { "http-endpoint": ":8080", "metrics-path": "/m" },
    },
    { argv: ["--http-endpoint="], values: { "http-endpoint": "" } },
  ])("reads $argv", ({ argv, values }) => {
    expect(parse(...argv)).toMatchObject({ values });
  });

  it.each([
    { argv: ["--http-endpoint=8080"], message: '--http-endpoint: invalid HTTP endpoint address "8080"' },
    { argv: ["--metrics-path=metrics"], message: 'invalid --metrics-path "metrics": must start with "/"' },
  ])("refuses $argv: $message", ({ argv, message }) => {
    expect(problem(() => parse(...argv))).toContain(message);
  });
});

describe("loggingFlags and logLevelOf", () => {
  const plain = loggingFlags();
  const klog = loggingFlags({ klogVerbosity: true });

  it.each([
    { argv: [], level: "info" },
    { argv: ["--log-level=debug"], level: "debug" },
    { argv: ["--log-level=silent"], level: "silent" },
  ])("reads the level of $argv as $level", ({ argv, level }) => {
    const parsed = parseFlags(argv, command(plain));
    expect(parsed.action === "run" && logLevelOf(parsed.values)).toBe(level);
  });

  it.each([
    { argv: ["--v=4"], level: "debug" },
    { argv: ["-v", "9"], level: "debug" },
    { argv: ["--v=3"], level: "info" },
    { argv: ["--v=5", "--log-level=error"], level: "error" },
    { argv: ["--log-level=info", "--v=5"], level: "info" },
  ])("raises the level for klog's $argv only when --log-level is not given: $level", ({ argv, level }) => {
    const parsed = parseFlags(argv, command(klog));
    expect(parsed.action === "run" && logLevelOf(parsed.values)).toBe(level);
  });

  it("has no -v unless asked for it", () => {
    expect(problem(() => parseFlags(["--v=4"], command(plain)))).toContain('unknown flag "--v"');
  });

  it.each([
    { argv: ["--log-level=loud"], message: 'invalid --log-level "loud": must be one of fatal, error, warn' },
    { argv: ["--v=high"], message: 'invalid --v "high": must be a whole number' },
  ])("refuses $argv: $message", ({ argv, message }) => {
    expect(problem(() => parseFlags(argv, command(klog)))).toContain(message);
  });
});

describe("kubeconfigFlags", () => {
  it.each([
    { name: "alone", flags: kubeconfigFlags(), names: ["kubeconfig"] },
    { name: "with --master", flags: kubeconfigFlags({ master: true }), names: ["kubeconfig", "master"] },
  ])("declares $names $name", ({ flags, names }) => {
    expect(Object.keys(flags)).toEqual(names);
    expect(
      parseFlags(
        names.map((n) => `--${n}=x`),
        command(defineFlags(flags)),
      ),
    ).toMatchObject({
      values: Object.fromEntries(names.map((n) => [n, "x"])),
    });
  });
});
