import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { casesInSource } from "./extract.ts";
import { type JsonReport, outcomesOf } from "./results.ts";

const packageDir = path.resolve(import.meta.dirname, "..");
const repoRoot = path.resolve(packageDir, "../..");
const FIXTURE = "fixtures/cases.fixture.ts";

/** Runs the fixture's cases in a vitest of their own and returns its JSON report. */
function runFixture(): JsonReport {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "volpop-catalogue-test-"));
  try {
    const output = path.join(scratch, "report.json");
    // The child must not take this run's worker settings for its own.
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([key]) => !/^(VITEST|NODE_OPTIONS)/.test(key)),
    );
    spawnSync(
      path.join(repoRoot, "node_modules/.bin/vitest"),
      ["run", "--config", "fixtures/vitest.config.ts", "--reporter=json", `--outputFile.json=${output}`],
      { cwd: packageDir, env, encoding: "utf8" },
    );
    return JSON.parse(fs.readFileSync(output, "utf8")) as JsonReport;
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

describe("a bad-input case in a real vitest run", () => {
  const outcomes = outcomesOf(runFixture());

  it("is handled when its test passes, every listed check asserted, a file's afterEach check included", () => {
    expect(outcomes.get("sdk-handled")).toBe("handled");
  });

  it("is lost when a containment check fails, naming the check", () => {
    expect(outcomes.get("sdk-lost")).toBe("lost: nothing-outside-volume");
  });

  it("is not handled when its test never asserts a check it lists, or asserts one it does not list", () => {
    expect(outcomes.get("sdk-unasserted")).toBe("not handled");
    expect(outcomes.get("sdk-undeclared")).toBe("not handled");
  });

  it("is not handled when the expected outcome does not come", () => {
    expect(outcomes.get("sdk-wrong-outcome")).toBe("not handled");
  });

  it("is handled once for all the rows of badInputCase.each, and once per row of badInputCases", () => {
    expect(outcomes.get("sdk-rows")).toBe("handled");
    expect(outcomes.get("sdk-table-first")).toBe("handled");
    expect(outcomes.get("sdk-table-second")).toBe("handled");
  });

  it("is every case the catalogue reads from the same file, and no other", () => {
    const listed = casesInSource(FIXTURE, fs.readFileSync(path.join(packageDir, FIXTURE), "utf8"), []);
    expect([...outcomes.keys()].sort()).toEqual(listed.map(({ found }) => found.id).sort());
  });
});
