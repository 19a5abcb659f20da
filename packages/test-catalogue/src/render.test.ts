import { describe, expect, it } from "vitest";
import type { CatalogueCase } from "./extract.ts";
import {
  BEGIN_MARKER,
  END_MARKER,
  figure,
  outcomesInSection,
  renderSection,
  sectionOf,
  withSection,
} from "./render.ts";
import { type Outcome, outcomesOf } from "./results.ts";

const unit = (id: string): CatalogueCase => ({
  id,
  component: "image",
  input: "an entry named ../x | a pipe <b>",
  expected: "UNSAFE_LAYER_ENTRY",
  checks: ["nothing-outside-volume", "volume-left-empty"],
  file: "packages/oci/src/a.test.ts",
  tier: "unit",
});
const e2e = (id: string): CatalogueCase => ({
  ...unit(id),
  component: "sdk",
  file: "test/e2e/x.e2e.ts",
  tier: "e2e",
});

describe("renderSection", () => {
  it("writes the figure, then one row per case, its outcome last", () => {
    const text = renderSection([unit("image-a"), e2e("sdk-b")], new Map([["image-a", "handled"]]));
    expect(text.split("\n")).toEqual([
      "**2 cases. Last generated run: 1 tried, 1 handled, 0 lost.** 1 e2e case was not tried in that run: they need a cluster (`pnpm catalogue --e2e`).",
      "",
      "| case | component | bad input | expected outcome | also asserted | test | last run |",
      "| --- | --- | --- | --- | --- | --- | --- |",
      "| `image-a` | image | an entry named ../x \\| a pipe &lt;b&gt; | UNSAFE_LAYER_ENTRY | nothing written outside the volume; the volume left empty (nothing of the bad input stays) | [packages/oci/src/a.test.ts](../packages/oci/src/a.test.ts) | handled |",
      "| `sdk-b` | sdk (e2e) | an entry named ../x \\| a pipe &lt;b&gt; | UNSAFE_LAYER_ENTRY | nothing written outside the volume; the volume left empty (nothing of the bad input stays) | [test/e2e/x.e2e.ts](../test/e2e/x.e2e.ts) | not tried |",
    ]);
  });

  it("gives back, row by row, the outcomes it was given", () => {
    const outcomes = new Map<string, Outcome>([
      ["image-a", "handled"],
      ["image-b", "lost: volume-left-empty"],
      ["image-c", "not handled"],
      ["image-d", "not tried"],
    ]);
    const cases = [...outcomes.keys()].map(unit);
    expect(outcomesInSection(renderSection(cases, outcomes))).toEqual(outcomes);
  });
});

describe("figure", () => {
  it("counts what the run tried, handled and lost, and says what it did not try", () => {
    const cases = [
      unit("image-a"),
      unit("image-b"),
      unit("image-c"),
      unit("image-d"),
      e2e("sdk-e"),
      e2e("sdk-f"),
    ];
    const outcomes = new Map<string, Outcome>([
      ["image-a", "handled"],
      ["image-b", "lost: nothing-outside-volume"],
      ["image-c", "not handled"],
    ]);
    expect(figure(cases, outcomes)).toBe(
      "**6 cases. Last generated run: 3 tried, 1 handled, 1 lost, 1 not handled.** 2 e2e cases were not tried in that run: they need a cluster (`pnpm catalogue --e2e`). 1 unit case was skipped on the machine that ran it.",
    );
  });
});

describe("the section in the page", () => {
  const page = `# Reliability\n\nbefore\n\n${BEGIN_MARKER}\n\nold table\n\n${END_MARKER}\n\nafter\n`;

  it("is replaced between the markers, the rest of the page kept", () => {
    const updated = withSection(page, "new table");
    expect(updated).toBe(
      `# Reliability\n\nbefore\n\n${BEGIN_MARKER}\n\nnew table\n\n${END_MARKER}\n\nafter\n`,
    );
    expect(sectionOf(updated)).toBe("new table");
  });

  it("must be there", () => {
    expect(() => sectionOf("# Reliability\n")).toThrow(/has no <!-- bad-input-catalogue:begin/);
  });
});

describe("outcomesOf", () => {
  const test = (id: string, status: string, lost?: string) => ({
    status,
    meta: { badInput: id, ...(lost ? { badInputLost: lost } : {}) },
  });

  it("reads every test of a case: lost over not handled over handled; not tried when none ran", () => {
    const report = {
      testResults: [
        { assertionResults: [test("a-rows", "passed"), test("a-rows", "skipped"), { status: "failed" }] },
        {
          assertionResults: [
            test("b-lost", "failed", "no-leftovers"),
            test("b-lost", "failed"),
            test("c-failed", "passed"),
            test("c-failed", "failed"),
            test("d-skipped", "skipped"),
            test("e-odd-lost", "failed", "not-a-check"),
          ],
        },
      ],
    };
    expect(outcomesOf(report)).toEqual(
      new Map([
        ["a-rows", "handled"],
        ["b-lost", "lost: no-leftovers"],
        ["c-failed", "not handled"],
        ["d-skipped", "not tried"],
        ["e-odd-lost", "not handled"],
      ]),
    );
  });
});
