import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readCatalogue } from "./extract.ts";
import { DOC_FILE, outcomesInSection, renderSection, sectionOf } from "./render.ts";
import { COMPONENTS } from "./vocabulary.ts";

const repoRoot = path.resolve(import.meta.dirname, "../../..");
const cases = readCatalogue(repoRoot);
const section = sectionOf(fs.readFileSync(path.join(repoRoot, DOC_FILE), "utf8"));
const outcomes = outcomesInSection(section);

describe(`${DOC_FILE}'s bad-input catalogue`, () => {
  it("lists exactly the cases the tests register, in their words, with the figure of the run it shows", () => {
    // Rendered again from the test files and the outcomes the page shows: a case added, removed or
    // reworded in a test, or a hand-edited row or figure, shows here.
    expect(section, `out of date: run \`pnpm catalogue\` (and \`pnpm catalogue --e2e\` on a cluster)`).toBe(
      renderSection(cases, outcomes),
    );
  });

  it("shows a run in which no case was lost or mishandled", () => {
    const failed = [...outcomes].filter(([, outcome]) => outcome !== "handled" && outcome !== "not tried");
    expect(failed).toEqual([]);
  });

  it("covers every component with at least 40 cases", () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
    expect(COMPONENTS.filter((component) => !cases.some((c) => c.component === component))).toEqual([]);
  });
});
