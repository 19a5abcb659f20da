/**
 * Writes the generated reference pages, `docs/reference/*.md`, from the code. They are committed:
 * readable on GitHub beside the other docs, and a change to a flag, metric or event shows in review
 * as a change to its page. `references.test.ts` fails when a page no longer matches the code.
 *
 * Run: `pnpm docs:generate` (`node --conditions=volpop-source site/references/generate.ts` in docs/).
 */
import fs from "node:fs";
import path from "node:path";
import { REFERENCE_DIR } from "../layout.ts";
import { renderEventsReference } from "./events.ts";
import { renderFlagsReference } from "./flags.ts";
import { renderMetricsReference } from "./metrics.ts";

/** Each generated page's file name under `docs/reference/`, and its content. */
export function renderReferences(): Record<string, string> {
  return {
    "events.md": renderEventsReference(),
    "flags.md": renderFlagsReference(),
    "metrics.md": renderMetricsReference(),
  };
}

if (import.meta.main) {
  fs.mkdirSync(REFERENCE_DIR, { recursive: true });
  for (const [file, content] of Object.entries(renderReferences())) {
    fs.writeFileSync(path.join(REFERENCE_DIR, file), content);
    console.log(`wrote ${path.relative(process.cwd(), path.join(REFERENCE_DIR, file))}`);
  }
}
