import { CliUsageError } from "@volpop/sdk";
import { describe, expect, it } from "vitest";
import { parseValidatorArgs, type ValidatorCliOptions } from "./cli.ts";

function options(...argv: string[]): ValidatorCliOptions {
  const parsed = parseValidatorArgs(argv, "1.2.3");
  if (parsed.action !== "run") throw new Error(`expected run, got ${parsed.action}`);
  return parsed.options;
}

function usageError(...argv: string[]): string {
  try {
    parseValidatorArgs(argv, "1.2.3");
  } catch (error) {
    if (error instanceof CliUsageError) return error.message;
    throw error;
  }
  throw new Error("expected a usage error");
}

describe("parseValidatorArgs", () => {
  it("applies upstream's defaults", () => {
    expect(options()).toEqual({
      kubeconfig: undefined,
      workerThreads: 10,
      resyncPeriodMs: 60_000,
      leaderElection: {
        enabled: false,
        namespace: undefined,
        leaseDurationMs: 15_000,
        renewDeadlineMs: 10_000,
        retryPeriodMs: 5_000,
      },
      httpEndpoint: undefined,
      metricsPath: "/metrics",
      logLevel: "info",
      watchNamespace: undefined,
      webhook: {
        port: undefined,
        service: "volume-data-source-validator-webhook",
        namespace: undefined,
        configurationName: "volume-data-source-validator",
        secretName: "volume-data-source-validator-webhook-tls",
      },
    });
  });

  it("reads every flag in the forms Go's flag package accepts", () => {
    const read = options(
      "-kubeconfig",
      "/k",
      "--worker-threads=3",
      "--resync-period",
      "0",
      "-leader-election",
      "--leader-election-namespace=kube-system",
      "--leader-election-lease-duration=30s",
      "--leader-election-renew-deadline",
      "20s",
      "-leader-election-retry-period=2s",
      "--http-endpoint=:8080",
      "--metrics-path=/m",
      "--log-level=warn",
      "--watch-namespace=team-a",
      "--webhook-port=9443",
      "--webhook-service",
      "validator-hook",
      "-webhook-namespace=volpop-system",
      "--webhook-configuration-name=validator.example.com",
      "--webhook-secret=validator-hook-tls",
    );
    expect(read).toEqual({
      kubeconfig: "/k",
      workerThreads: 3,
      resyncPeriodMs: 0,
      leaderElection: {
        enabled: true,
        namespace: "kube-system",
        leaseDurationMs: 30_000,
        renewDeadlineMs: 20_000,
        retryPeriodMs: 2_000,
      },
      httpEndpoint: ":8080",
      metricsPath: "/m",
      logLevel: "warn",
      watchNamespace: "team-a",
      webhook: {
        port: 9443,
        service: "validator-hook",
        namespace: "volpop-system",
        configurationName: "validator.example.com",
        secretName: "validator-hook-tls",
      },
    });
  });

  it("runs upstream's example arguments unchanged", () => {
    const read = options("--v=5", "--leader-election=false");
    expect(read.leaderElection.enabled).toBe(false);
    expect(read.logLevel).toBe("debug");
  });

  it("lets --log-level win over --v, and keeps info for low verbosity", () => {
    expect(options("--v=5", "--log-level=error").logLevel).toBe("error");
    expect(options("--v=2").logLevel).toBe("info");
  });

  it("treats an empty --http-endpoint as off, as upstream", () => {
    expect(options("--http-endpoint=").httpEndpoint).toBeUndefined();
  });

  it("leaves the webhook off for --webhook-port=0", () => {
    expect(options("--webhook-port=0").webhook.port).toBeUndefined();
  });

  it("answers --version and --help", () => {
    expect(parseValidatorArgs(["--version"], "1.2.3")).toEqual({
      action: "version",
      text: "volume-data-source-validator 1.2.3",
    });
    const help = parseValidatorArgs(["-h"], "1.2.3");
    expect(help.action).toBe("help");
    expect(help.action === "help" && help.text).toContain("--worker-threads value");
  });

  it.each<[string[], string]>([
    [["--workers=3"], 'unknown flag "--workers"'],
    [["extra"], 'unexpected argument "extra"'],
    [["--worker-threads=0"], "invalid --worker-threads"],
    [["--worker-threads"], "flag --worker-threads needs a value"],
    [["--resync-period=soon"], "--resync-period: invalid duration"],
    [["--http-endpoint=8080"], "--http-endpoint: invalid HTTP endpoint address"],
    [["--metrics-path=metrics"], "must start with"],
    [["--log-level=loud"], "invalid --log-level"],
    [["--v=high"], "invalid --v"],
    [["--leader-election=maybe"], "invalid boolean"],
    [["--webhook-port=https"], "invalid --webhook-port"],
    [["--webhook-port=70000"], "invalid --webhook-port"],
    [["--webhook-service=Hook"], "invalid --webhook-service"],
    [["--webhook-service="], "--webhook-service must not be empty"],
    [["--webhook-namespace=a.b"], "invalid --webhook-namespace"],
    [["--webhook-configuration-name=x_y"], "invalid --webhook-configuration-name"],
    [["--webhook-secret="], "invalid --webhook-secret"],
    [["--watch-namespace=-x"], "invalid --watch-namespace"],
    [
      ["--leader-election", "--leader-election-lease-duration=10s"],
      "must be greater than --leader-election-renew-deadline",
    ],
    [
      ["--leader-election", "--leader-election-retry-period=9s"],
      "must be greater than 1.2 × --leader-election-retry-period",
    ],
  ])("rejects %j", (argv, message) => {
    expect(usageError(...argv)).toContain(message);
  });

  it("checks leader election timings only when leader election is on", () => {
    expect(options("--leader-election-lease-duration=1s").leaderElection.leaseDurationMs).toBe(1000);
  });
});
