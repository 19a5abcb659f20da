import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { projectOptions } from "./options.ts";
import { renderProject } from "./render.ts";
import { pinnedVersions } from "./versions.ts";

// docs/write-a-populator.md walks through what the scaffolder makes by default: it must stay true.
const tutorial = fs.readFileSync(
  path.join(import.meta.dirname, "../../../docs/write-a-populator.md"),
  "utf8",
);
const files = renderProject(projectOptions({ name: "tape-archive", sdkVersion: "1.0.0" }), pinnedVersions());

describe("docs/write-a-populator.md", () => {
  it("lists exactly the files of `create-volpop-populator tape-archive`", () => {
    const section = tutorial.slice(tutorial.indexOf("## 2. What you get"));
    const block = section.slice(
      section.indexOf("```\n") + 4,
      section.indexOf("\n```", section.indexOf("```\n") + 4),
    );
    expect(block.split("\n").map((line) => line.split(" ")[0])).toEqual([...files.keys()]);
  });

  it("runs only scripts the project has", () => {
    const { scripts } = JSON.parse(files.get("package.json") ?? "{}");
    const used = [...new Set([...tutorial.matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1]))];
    expect(used.filter((script) => !((script ?? "") in scripts))).toEqual([]);
    expect(used.length).toBeGreaterThan(4);
  });

  it("fills a folder by hand with the command the project's README gives", () => {
    const command = (files.get("README.md") ?? "")
      .split("\n")
      .find((line) => line.includes("--mode=populate"));
    expect(command).toBeDefined();
    expect(tutorial).toContain(command);
  });
});
