/**
 * `pnpm catalogue [--e2e]`: runs every test that registers a bad-input case (the unit tier; with
 * --e2e the e2e tier too, on the embedded cluster or $KUBECONFIG), reads what became of each case
 * from vitest's JSON report, and writes the table and the figure into docs/reliability.md.
 * Exits 1 when a case was not handled or lost, after writing the page as it is.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type CatalogueCase, CatalogueError, readCatalogue } from "./extract.ts";
import { DOC_FILE, figure, renderSection, withSection } from "./render.ts";
import { type JsonReport, outcomesOf } from "./results.ts";
import { TITLE_PREFIX } from "./vocabulary.ts";

const repoRoot = path.resolve(import.meta.dirname, "../../..");

/** The vitest project a test file belongs to: a package's own name, or the e2e tier. */
function projectOf(file: string): string {
  if (file.startsWith("test/")) return "e2e";
  const config = fs.readFileSync(
    path.join(repoRoot, file.split("/").slice(0, 2).join("/"), "vitest.config.ts"),
    "utf8",
  );
  const name = /\bname: "([^"]+)"/.exec(config)?.[1];
  if (!name) throw new Error(`cannot tell the vitest project of ${file}`);
  return name;
}

/** Runs the cases' tests, only those, and returns vitest's JSON report and whether all passed. */
function run(cases: readonly CatalogueCase[]): { report: JsonReport; passed: boolean } {
  const files = [...new Set(cases.map((c) => c.file))];
  const projects = [...new Set(files.map(projectOf))];
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "volpop-catalogue-"));
  const output = path.join(scratch, "report.json");
  try {
    const vitest = spawnSync(
      path.join(repoRoot, "node_modules/.bin/vitest"),
      [
        "run",
        ...projects.flatMap((p) => ["--project", p]),
        ...files,
        `--testNamePattern=${TITLE_PREFIX}[a-z][a-z0-9-]*:`,
        "--reporter=default",
        "--reporter=json",
        `--outputFile.json=${output}`,
      ],
      { cwd: repoRoot, stdio: "inherit" },
    );
    if (!fs.existsSync(output))
      throw new Error(`vitest wrote no report (exit ${vitest.status ?? vitest.signal})`);
    return { report: JSON.parse(fs.readFileSync(output, "utf8")) as JsonReport, passed: vitest.status === 0 };
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

function main(argv: readonly string[]): number {
  const unknown = argv.filter((arg) => arg !== "--e2e");
  if (unknown.length > 0) {
    process.stderr.write(`usage: pnpm catalogue [--e2e]\nunknown argument: ${unknown.join(" ")}\n`);
    return 2;
  }
  let cases: CatalogueCase[];
  try {
    cases = readCatalogue(repoRoot);
  } catch (error) {
    if (!(error instanceof CatalogueError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 1;
  }
  const tried = argv.includes("--e2e") ? cases : cases.filter((c) => c.tier === "unit");
  const { report, passed } = run(tried);
  const outcomes = outcomesOf(report);
  const docPath = path.join(repoRoot, DOC_FILE);
  fs.writeFileSync(docPath, withSection(fs.readFileSync(docPath, "utf8"), renderSection(cases, outcomes)));
  process.stdout.write(`${DOC_FILE}: ${figure(cases, outcomes).replaceAll("**", "")}\n`);
  return passed ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
