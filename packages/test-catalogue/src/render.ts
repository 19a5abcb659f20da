/**
 * The catalogue's section of docs/reliability.md: the figure of the last run and one row per case,
 * between two markers. Rendering is a pure function of the cases and their outcomes, so the drift
 * test renders again with the outcomes the page shows and compares.
 */
import type { CatalogueCase } from "./extract.ts";
import { type Outcome, parseOutcome } from "./results.ts";
import { CHECKS } from "./vocabulary.ts";

export const DOC_FILE = "docs/reliability.md";
export const BEGIN_MARKER =
  "<!-- bad-input-catalogue:begin (written by `pnpm catalogue` from the tests and a run of them; do not edit) -->";
export const END_MARKER = "<!-- bad-input-catalogue:end -->";

const HEADER = [
  "| case | component | bad input | expected outcome | also asserted | test | last run |",
  "| --- | --- | --- | --- | --- | --- | --- |",
];

/** The section's text between the markers (without them). */
export function renderSection(
  cases: readonly CatalogueCase[],
  outcomes: ReadonlyMap<string, Outcome>,
): string {
  const rows = cases.map((c) =>
    [
      `\`${c.id}\``,
      c.tier === "e2e" ? `${c.component} (e2e)` : c.component,
      cell(c.input),
      cell(c.expected),
      cell(c.checks.map((check) => CHECKS[check]).join("; ")),
      `[${c.file}](../${c.file})`,
      outcomes.get(c.id) ?? "not tried",
    ].join(" | "),
  );
  return [figure(cases, outcomes), "", ...HEADER, ...rows.map((row) => `| ${row} |`)].join("\n");
}

/** "N tried, N handled, 0 lost", and what was not tried. */
export function figure(cases: readonly CatalogueCase[], outcomes: ReadonlyMap<string, Outcome>): string {
  const of = (c: CatalogueCase) => outcomes.get(c.id) ?? "not tried";
  const count = (test: (o: Outcome) => boolean) => cases.filter((c) => test(of(c))).length;
  const tried = count((o) => o !== "not tried");
  const parts = [
    `${tried} tried`,
    `${count((o) => o === "handled")} handled`,
    `${count((o) => o.startsWith("lost"))} lost`,
  ];
  const notHandled = count((o) => o === "not handled");
  if (notHandled > 0) parts.push(`${notHandled} not handled`);
  let text = `**${cases.length} cases. Last generated run: ${parts.join(", ")}.**`;
  const untried = cases.filter((c) => of(c) === "not tried");
  const e2e = untried.filter((c) => c.tier === "e2e").length;
  const unit = untried.length - e2e;
  if (e2e > 0) {
    text += ` ${e2e} e2e ${e2e === 1 ? "case was" : "cases were"} not tried in that run: they need a cluster (\`pnpm catalogue --e2e\`).`;
  }
  if (unit > 0) {
    text += ` ${unit} unit ${unit === 1 ? "case was" : "cases were"} skipped on the machine that ran it.`;
  }
  return text;
}

/** The section between the markers of `doc`; fails when the markers are missing. */
export function sectionOf(doc: string): string {
  const begin = doc.indexOf(BEGIN_MARKER);
  const end = doc.indexOf(END_MARKER);
  if (begin < 0 || end < begin) throw new Error(`${DOC_FILE} has no ${BEGIN_MARKER} … ${END_MARKER} section`);
  return doc.slice(begin + BEGIN_MARKER.length, end).trim();
}

/** `doc` with its section replaced by `section`. */
export function withSection(doc: string, section: string): string {
  sectionOf(doc);
  const begin = doc.indexOf(BEGIN_MARKER) + BEGIN_MARKER.length;
  return `${doc.slice(0, begin)}\n\n${section}\n\n${doc.slice(doc.indexOf(END_MARKER))}`;
}

/** The outcome each row of a rendered section shows, by case id. */
export function outcomesInSection(section: string): Map<string, Outcome> {
  const outcomes = new Map<string, Outcome>();
  for (const line of section.split("\n")) {
    const id = /^\| `([^`]+)` \|/.exec(line)?.[1];
    const outcome = parseOutcome(line.slice(line.lastIndexOf(" | ") + 3, -2).trim());
    if (id && outcome) outcomes.set(id, outcome);
  }
  return outcomes;
}

/** Text as one table cell: pipes escaped, and angle brackets, which Markdown would take for HTML. */
function cell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll("\n", " ");
}
