/**
 * A translation keeps its original's commands and output: every code block the same, in the same
 * order, and the same sections. Prose is translated; what readers copy and paste is not.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { DOCS_DIR } from "./layout.ts";
import { docsPages } from "./pages.ts";

const translations = docsPages()
  .map((p) => p.source)
  .filter((source) => /\.[a-z]{2}\.md$/.test(source));

function codeBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```[^\n]*\n([\s\S]*?)^```$/gm)].map((m) => m[1] ?? "");
}

function headingLevels(markdown: string): number[] {
  const prose = markdown.replace(/^```[\s\S]*?^```$/gm, "");
  return [...prose.matchAll(/^(#+) /gm)].map((m) => m[1]?.length ?? 0);
}

describe("translations", () => {
  it("exist (the Chinese walkthrough at least)", () => {
    expect(translations).toContain("docs/walkthrough.zh.md");
  });

  it.each(translations)("%s keeps its original's code blocks and sections", (source) => {
    const translated = fs.readFileSync(path.join(DOCS_DIR, "..", source), "utf8");
    const original = fs.readFileSync(
      path.join(DOCS_DIR, "..", source.replace(/\.[a-z]{2}\.md$/, ".md")),
      "utf8",
    );
    expect(codeBlocks(original).length).toBeGreaterThan(0);
    expect(codeBlocks(translated)).toEqual(codeBlocks(original));
    expect(headingLevels(translated)).toEqual(headingLevels(original));
  });
});
