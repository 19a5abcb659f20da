import { describe, expect, it } from "vitest";
import { NOW } from "../internal/fixtures.ts";
import { FindingCode, finding } from "./findings.ts";
import { renderJson, renderText } from "./render.ts";
import { report } from "./report.ts";

const example = report(
  NOW,
  "pvc",
  "PersistentVolumeClaim apps/data",
  [
    finding("ok", FindingCode.ControllerLeading, {
      what: "A controller leads for Hello (hello.example.com): hello-1",
      why: "It holds its leader election Lease and renews it in time.",
      evidence: ["Lease volpop/hello.example.com-populator: holder hello-1, renewed 2s ago, duration 15s"],
    }),
    finding("error", FindingCode.SourceNotFound, {
      what: "The data source Hello apps/hello does not exist",
      why: "The PVC's dataSourceRef names it.",
      fix: "Create it.",
    }),
  ],
  { phase: "Pending", dataSource: "Hello apps/hello (hello.example.com)" },
  [
    {
      object: "PersistentVolumeClaim apps/data",
      time: new Date(NOW - 30_000).toISOString(),
      type: "Warning",
      reason: "PopulatorDataSourceNotFound",
      message: "Hello apps/hello not found; waiting for it to be created",
      count: 3,
    },
  ],
);

describe("renderText", () => {
  it("shows the summary, the facts, each finding with why, fix and evidence, then the events", () => {
    expect(renderText(example, { color: false })).toMatchInlineSnapshot(`
      "PersistentVolumeClaim apps/data: The data source Hello apps/hello does not exist

        phase        Pending
        data source  Hello apps/hello (hello.example.com)

      ✗ error    SOURCE_NOT_FOUND  The data source Hello apps/hello does not exist
                 why:  The PVC's dataSourceRef names it.
                 fix:  Create it.
      ✓ ok       CONTROLLER_LEADING  A controller leads for Hello (hello.example.com): hello-1
                 why:  It holds its leader election Lease and renews it in time.
                 seen: Lease volpop/hello.example.com-populator: holder hello-1, renewed 2s ago, duration 15s

      Recent events:
        PersistentVolumeClaim apps/data
           30s ago  Warning  PopulatorDataSourceNotFound (×3): Hello apps/hello not found; waiting for it to be created"
    `);
  });

  it("colours only when asked", () => {
    expect(renderText(example, { color: false })).not.toContain("\u001b[");
    const coloured = renderText(example, { color: true });
    expect(coloured).toContain("\u001b[31m✗ error  \u001b[39m");
    expect(coloured).toContain("\u001b[32m✓ ok     \u001b[39m");
  });
});

describe("renderJson", () => {
  it("prints the report itself, most serious finding first", () => {
    const parsed = JSON.parse(renderJson(example));
    expect(parsed).toEqual(JSON.parse(JSON.stringify(example)));
    expect(parsed).toMatchObject({
      schema: "volpop.dev/doctor/v1",
      kind: "pvc",
      subject: "PersistentVolumeClaim apps/data",
      summary: "The data source Hello apps/hello does not exist",
      exitCode: 1,
      generatedAt: "2025-01-01T00:00:00.000Z",
      findings: [
        { severity: "error", code: "SOURCE_NOT_FOUND" },
        { severity: "ok", code: "CONTROLLER_LEADING" },
      ],
    });
  });
});
