import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { cannotRead, exitCodeOf, FindingCode, finding, type Severity, sortFindings } from "./findings.ts";

const make = (severity: Severity, what: string) =>
  finding(severity, FindingCode.Unexplained, { what, why: "" });

describe("findings", () => {
  it("sorts errors, warnings, infos, oks, keeping the rules' order within each", () => {
    const sorted = sortFindings([
      make("ok", "a"),
      make("info", "b"),
      make("error", "c"),
      make("warning", "d"),
      make("error", "e"),
    ]);
    expect(sorted.map((f) => f.what)).toEqual(["c", "e", "d", "b", "a"]);
  });

  it.each([
    [["ok", "info"], 0],
    [["ok", "warning"], 1],
    [["error"], 1],
    [[], 0],
  ] as const)("gives exit code %s → %d", (severities, code) => {
    expect(exitCodeOf(severities.map((s) => make(s, s)))).toBe(code);
  });

  it("drops evidence lines that say nothing", () => {
    expect(
      finding("info", FindingCode.Populating, { what: "w", why: "y", evidence: ["a", undefined, "", "b"] })
        .evidence,
    ).toEqual(["a", "b"]);
  });

  it("lists what could not be read, or nothing when everything could", () => {
    expect(cannotRead([{ state: "found" }, { state: "absent" }])).toBeUndefined();
    expect(cannotRead([{ state: "unreadable", what: "Leases", reason: "403 Forbidden" }])?.evidence).toEqual([
      "Leases: 403 Forbidden",
    ]);
  });

  const page = readFileSync(path.resolve(import.meta.dirname, "../../../../docs/troubleshooting.md"), "utf8");
  /** The section of docs/troubleshooting.md under `heading`, up to the next one. */
  const section = (heading: string) => {
    const start = page.indexOf(`\n${heading}\n`);
    const end = page.indexOf("\n## ", start + 1);
    return page.slice(start, end === -1 ? undefined : end);
  };

  // Users look codes up there; a code the page does not list is a code nobody can act on.
  it("has every code documented in docs/troubleshooting.md's table, and no other", () => {
    const table = section("## Finding codes");
    const documented = [...table.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.values(FindingCode).sort());
  });

  it("says of every code whether an e2e test proves it on a live cluster, or why only unit tests do", () => {
    const proven = section("## Which codes are proven on a live cluster");
    const named = new Set([...proven.matchAll(/`([A-Z_]+)`/g)].map((m) => m[1]));
    expect(Object.values(FindingCode).filter((code) => !named.has(code))).toEqual([]);
  });
});
