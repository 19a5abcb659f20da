import fs from "node:fs";
import path from "node:path";
import { Counter, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { EventReason } from "../../../packages/sdk/src/events.ts";
import { FastPathEventReason } from "../../../packages/sdk/src/strategies/csi-fastpath/names.ts";
import { EventReason as ValidatorEventReason } from "../../../packages/validator/src/events.ts";
import { REFERENCE_DIR, REPO_ROOT } from "../layout.ts";
import { EVENT_SOURCES, readEventReasons } from "./events.ts";
import { FLAG_BINARIES, renderFlagBinary, valueText } from "./flags.ts";
import { renderReferences } from "./generate.ts";
import { cell, code, table } from "./markdown.ts";
import { describeMetrics, METRIC_SETS } from "./metrics.ts";

describe("the generated reference pages", () => {
  it.each(Object.entries(renderReferences()))(
    "docs/reference/%s matches the code (else: pnpm docs:generate)",
    (file, content) => {
      const committed = fs.readFileSync(path.join(REFERENCE_DIR, file), "utf8");
      expect(committed, `docs/reference/${file} is stale: run pnpm docs:generate and commit it`).toBe(
        content,
      );
    },
  );
});

describe("the events reference", () => {
  const read = (file: string) => fs.readFileSync(path.join(REPO_ROOT, file), "utf8");

  it("reads every reason of each constant, as the code defines it", () => {
    const constants = [EventReason, FastPathEventReason, ValidatorEventReason];
    EVENT_SOURCES.forEach((source, i) => {
      const parsed = readEventReasons(source.file, read(source.file), source.constant);
      expect(Object.fromEntries(parsed.map((r) => [r.key, r.reason]))).toEqual(constants[i]);
    });
  });

  it("gives every reason volpop records a type, and says of the others that it never records them", () => {
    for (const source of EVENT_SOURCES) {
      for (const reason of readEventReasons(source.file, read(source.file), source.constant)) {
        if (reason.type === undefined) expect(reason.meaning).toMatch(/does not record it|Reserved/);
        expect(reason.meaning.length).toBeGreaterThan(20);
      }
    }
  });

  it("takes the type from the comment's first word and shows {@link}ed reasons by their string", () => {
    const source = `export const R = {
      /** Warning: it broke. */
      Broke: "ThingBroke",
      /** Upstream's; never recorded (see {@link R.Broke}). */
      Old: "OldThing",
    } as const;`;
    expect(readEventReasons("r.ts", source, "R")).toEqual([
      { key: "Broke", reason: "ThingBroke", type: "Warning", meaning: "it broke." },
      {
        key: "Old",
        reason: "OldThing",
        type: undefined,
        meaning: "Upstream's; never recorded (see `ThingBroke`).",
      },
    ]);
  });

  it.each([
    [
      "a reason without a doc comment",
      `export const R = { Bare: "Bare" } as const;`,
      /R\.Bare has no doc comment/,
    ],
    [
      "a reason that is not a string literal",
      `export const R = { /** Normal: x */ N: 1 } as const;`,
      /R\.N is not a string literal/,
    ],
    ["no such constant", `export const Other = {};`, /no exported object constant R/],
    [
      "a {@link} to no reason",
      `export const R = {\n  /** Normal: see {@link R.Gone} */\n  A: "A",\n};`,
      /names no reason of R/,
    ],
  ])("refuses %s, naming the file", (_, source, message) => {
    expect(() => readEventReasons("r.ts", source, "R")).toThrow(message);
    expect(() => readEventReasons("r.ts", source, "R")).toThrow(/^r\.ts: /);
  });
});

describe("the flags reference", () => {
  it("lists every flag of each binary, the built-in --help (and --version, with a version) included", () => {
    for (const { command } of FLAG_BINARIES) {
      const page = renderFlagBinary({ title: command.program, command });
      const listed = [...page.matchAll(/^\| (?:`-\w`, )?`--([\w-]+)`/gm)].map((m) => m[1]);
      const builtin = command.version === undefined ? ["help"] : ["help", "version"];
      expect(listed.sort()).toEqual([...Object.keys(command.flags), ...builtin].sort());
    }
  });

  it("words each kind of value", () => {
    expect(valueText({ type: "boolean", description: "" })).toBe("boolean");
    expect(valueText({ type: "int", min: 1, description: "" })).toBe("integer (≥ 1)");
    expect(valueText({ type: "string", multiple: true, required: true, description: "" })).toBe(
      "text; repeatable; **required**",
    );
    expect(valueText({ type: "enum", values: ["pod", "fail"], description: "" })).toBe(
      "one of `pod`, `fail`",
    );
    expect(valueText({ type: "duration", description: "" })).toBe("Go duration (`30s`, `1m30s`)");
  });

  it("refuses a default in words for a flag the binary does not have", () => {
    const [populator] = FLAG_BINARIES;
    expect(() =>
      renderFlagBinary({ ...(populator as (typeof FLAG_BINARIES)[0]), defaultsInWords: { "no-such": "x" } }),
    ).toThrow("Populator controller: defaultsInWords names flags <populator> does not have: no-such");
  });
});

describe("the metrics reference", () => {
  it("reads name, type, labels, help and buckets back from a registry", () => {
    const registry = new Registry();
    new Histogram({
      name: "h_seconds",
      help: "H",
      labelNames: ["a"],
      buckets: [1, 5],
      registers: [registry],
    });
    new Counter({ name: "c_total", help: "C", registers: [registry] });
    expect(describeMetrics(registry)).toEqual([
      { name: "c_total", type: "counter", labels: [], help: "C" },
      { name: "h_seconds", type: "histogram", labels: ["a"], help: "H", buckets: [1, 5] },
    ]);
  });

  it("lists upstream's populator metrics with the populator label every volpop controller sets", () => {
    const [populator] = METRIC_SETS;
    const metrics = describeMetrics((populator as (typeof METRIC_SETS)[0]).register());
    expect(metrics.find((m) => m.name === "volume_populator_operation_seconds")?.labels).toEqual([
      "result",
      "populator",
    ]);
    expect(metrics.map((m) => m.name)).toContain("workqueue_depth");
  });
});

describe("Markdown of the generated pages", () => {
  it("escapes what would break a table cell or read as HTML, but not inside code", () => {
    expect(cell("a | b\n  c")).toBe("a \\| b c");
    expect(cell("names <service>.<namespace>.svc, see `<prefix>/x`")).toBe(
      "names &lt;service&gt;.&lt;namespace&gt;.svc, see `<prefix>/x`",
    );
  });

  it("fences code with more backticks than it holds", () => {
    expect(code("plain")).toBe("`plain`");
    expect(code("a`b")).toBe("`` a`b ``");
  });

  it("writes a header, a rule and one line per row", () => {
    expect(table(["A", "B"], [["1", "2|3"]])).toBe("| A | B |\n| --- | --- |\n| 1 | 2\\|3 |");
  });
});
