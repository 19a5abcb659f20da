/**
 * A doctor's report as text for people (colour only when asked: the CLI asks on a terminal that
 * wants it) or as JSON for scripts (the report itself, schema `volpop.dev/doctor/v1`).
 */
import { styleText } from "node:util";
import type { Severity } from "./findings.ts";
import { formatDuration } from "./kube-facts.ts";
import type { DoctorReport } from "./report.ts";

type Style = Parameters<typeof styleText>[0];

const MARK: Readonly<Record<Severity, { readonly mark: string; readonly style: Style }>> = {
  error: { mark: "✗ error  ", style: "red" },
  warning: { mark: "! warning", style: "yellow" },
  info: { mark: "i info   ", style: "cyan" },
  ok: { mark: "✓ ok     ", style: "green" },
};

/** Names of the facts, in the order shown. */
const FACT_LABELS: Readonly<Record<string, string>> = {
  phase: "phase",
  volume: "volume",
  dataSource: "data source",
  storageClass: "storage class",
  prefix: "populator prefix",
  populatorNamespace: "populator namespace",
  primePvc: "PVC'",
  pod: "populator pod",
  progress: "progress",
  server: "Kubernetes",
  volumePopulators: "VolumePopulators",
  populatedPvcs: "PVCs with a populator source",
  pendingPopulatedPvcs: "of them not Bound",
};

/** The report as text; `color` adds ANSI colours (the caller decides, see `colorWanted`). */
export function renderText(report: DoctorReport, options: { readonly color: boolean }): string {
  const paint = (style: Style, text: string) =>
    options.color ? styleText(style, text, { validateStream: false }) : text;
  const lines: string[] = [`${paint("bold", report.subject)}: ${report.summary}`, ""];
  const facts = Object.entries(FACT_LABELS).filter(([key]) => report.facts[key] !== undefined);
  const width = Math.max(0, ...facts.map(([, label]) => label.length));
  for (const [key, label] of facts)
    lines.push(`  ${paint("dim", label.padEnd(width))}  ${report.facts[key]}`);
  if (facts.length > 0) lines.push("");
  const indent = " ".repeat(11);
  for (const f of report.findings) {
    const { mark, style } = MARK[f.severity];
    lines.push(`${paint(style, mark)}  ${paint("bold", f.code)}  ${f.what}`);
    if (f.why) lines.push(`${indent}${paint("dim", "why:")}  ${f.why}`);
    if (f.fix) lines.push(`${indent}${paint("dim", "fix:")}  ${f.fix}`);
    f.evidence.forEach((line, i) => {
      lines.push(`${indent}${paint("dim", i === 0 ? "seen:" : "     ")} ${line}`);
    });
  }
  if (report.events.length > 0) {
    const now = Date.parse(report.generatedAt);
    lines.push("", paint("bold", "Recent events:"));
    let object = "";
    for (const event of report.events) {
      if (event.object !== object) {
        object = event.object;
        lines.push(`  ${object}`);
      }
      const age = event.time === undefined ? "?" : `${formatDuration(now - Date.parse(event.time))} ago`;
      const type = event.type === "Warning" ? paint("yellow", event.type) : event.type;
      const count = event.count > 1 ? ` (×${event.count})` : "";
      lines.push(`    ${age.padStart(8)}  ${type}  ${event.reason}${count}: ${event.message}`);
    }
  }
  return lines.join("\n");
}

/** The report as JSON: stable field names (docs/troubleshooting.md), two-space indented. */
export function renderJson(report: DoctorReport): string {
  return JSON.stringify(report, null, 2);
}
