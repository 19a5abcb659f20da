import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parsePopulatorArgs } from "./cli.ts";
import { strategyFor } from "./controller-mode.ts";
import { ConfigError } from "./errors.ts";
import { fakePopulator, fakeStrategy } from "./internal/fixtures.ts";
import type { PopulatorProgram } from "./run.ts";
import { FastPathOperations } from "./strategies/csi-fastpath/operations.ts";
import { FAST_PATH } from "./strategies/csi-fastpath/strategy.ts";
import type { Strategy } from "./strategy.ts";

function program(strategy?: Strategy): PopulatorProgram<unknown, Record<never, never>> {
  return {
    populator: fakePopulator(),
    version: "1.0.0",
    programName: "hello-populator",
    defaults: { namespace: "hello" },
    populate: async () => {},
    ...(strategy ? { strategy } : {}),
  };
}

function options(...argv: string[]) {
  const parsed = parsePopulatorArgs(["--mode=controller", ...argv], {
    namespace: "hello",
    version: "1.0.0",
    prefix: "hello.example.com",
  });
  if (parsed.action !== "run") throw new Error("expected to run");
  return parsed.options;
}

describe("strategyFor", () => {
  let tlsDir: string;
  beforeAll(() => {
    tlsDir = mkdtempSync(path.join(tmpdir(), "volpop-run-tls-"));
    for (const name of ["ca.crt", "tls.crt", "tls.key"]) writeFileSync(path.join(tlsDir, name), "pem");
  });
  afterAll(() => rmSync(tlsDir, { recursive: true, force: true }));

  it("leaves the controller's default (Pod) when no fast-path backend is given", async () => {
    expect(await strategyFor(program(), options())).toBeUndefined();
  });

  it.each<[string, () => string[]]>([
    ["a unix socket", () => ["--fastpath-endpoint=unix:///run/b.sock"]],
    [
      "TCP backends with a TLS directory",
      () => ["--fastpath-endpoint=b:7443,c:7443", `--fastpath-tls-dir=${tlsDir}`],
    ],
  ])("uses the CSI fast path for %s", async (_, argv) => {
    const strategy = await strategyFor(program(), options(...argv()));
    expect(strategy?.name).toBe(FAST_PATH);
    expect(strategy?.runtime).toBeInstanceOf(FastPathOperations);
  });

  it("keeps the program's own strategy when no fast-path flag is given", async () => {
    const own = fakeStrategy();
    expect(await strategyFor(program(own), options())).toBe(own);
  });

  it("refuses fast-path flags for a program that brings its own strategy, rather than ignoring them", async () => {
    await expect(
      strategyFor(program(fakeStrategy()), options("--fastpath-endpoint=unix:///run/b.sock")),
    ).rejects.toThrow(/brings its own strategy .*--fastpath-endpoint cannot change it/);
  });

  it("refuses a TLS directory without the Secret's files before anything starts", async () => {
    const empty = mkdtempSync(path.join(tmpdir(), "volpop-run-empty-"));
    try {
      await expect(
        strategyFor(program(), options("--fastpath-endpoint=b:7443", `--fastpath-tls-dir=${empty}`)),
      ).rejects.toThrow(ConfigError);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
