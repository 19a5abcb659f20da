import { describe, expect, it } from "vitest";
import { gitIgnored, gitLsFiles, readTooling, recipeFiles, referencesIn, untracked } from "./repo-files.ts";

// A fresh clone holds only what git tracks. These tests fail on the machine that forgot to commit
// something, before CI's warm cache or a local ignored file can hide it.
const tracked = gitLsFiles();

describe("what a fresh clone needs is tracked by git", () => {
  it("finds every kind of reference the tooling makes", () => {
    const source = [
      `const a = path.join(layout.clusterSource, "build", "go-build.sh");`,
      `const b = new URL("../../packages/validator/deploy/crd.yaml", import.meta.url);`,
      `const c = path.resolve(import.meta.dirname, "csi-hostpath", "main.ts");`,
      `const d = path.join(layout.repoRoot, "images", "node-base", "Containerfile");`,
      `const e = path.join(layout.clusterSource, someVariable);`,
    ].join("\n");
    expect(referencesIn("test/e2e/x.ts", source).map((r) => r.path)).toEqual([
      "test/cluster/build/go-build.sh",
      "images/node-base/Containerfile",
      "test/e2e/csi-hostpath/main.ts",
      "packages/validator/deploy/crd.yaml",
    ]);
    const shell = `source "$(dirname "$0")/bootstrap.sh"\nexec node test/cluster/demo.ts\n./scripts/test\n`;
    expect(referencesIn("scripts/demo", shell).map((r) => r.path)).toEqual([
      "test/cluster/demo.ts",
      "scripts/test",
      "scripts/bootstrap.sh",
    ]);
  });

  it("reports a reference to a file git does not track (the go-build.sh that no clone had)", () => {
    const refs = referencesIn(
      "test/cluster/build.ts",
      `path.join(layout.clusterSource, "build", "go-build.sh")`,
    );
    expect(untracked(refs, tracked)).toEqual([
      { path: "test/cluster/build/go-build.sh", from: "test/cluster/build.ts" },
    ]);
  });

  it("every file the scripts and the cluster tooling spawn, source or read is in git ls-files", () => {
    const references = readTooling(tracked);
    // Guards the guard: if the scanner stopped finding references it would pass on anything.
    expect(references.length).toBeGreaterThan(12);
    expect(references.map((r) => r.path)).toContain("test/cluster/csi-hostpath/main.ts");
    expect(untracked(references, tracked)).toEqual([]);
  });

  it("every Kubernetes release's build recipe is in git ls-files", () => {
    const recipes = recipeFiles();
    expect(recipes).toContain("test/cluster/go/kubernetes-v1.35/go.mod");
    expect(recipes.filter((f) => !tracked.includes(f))).toEqual([]);
  });

  it("git ignores nothing in the work tree but generated output", () => {
    // bench/results/: what `pnpm bench` measured on this machine, kept out of git on purpose;
    // build/readme-example/: the SDK README's example, written out to be compiled by its test;
    // docs/api/ and docs/build/: the docs site's TypeDoc pages and build (site, cache, screenshots).
    const generated =
      /(^|\/)node_modules\/$|^packages\/[^/]+\/dist\/$|^(packages\/[^/]+|test|bench|docs)\/build\/(tsc\/|readme-example\/)?$|^bench\/results\/$|^docs\/api\/$|^\.env$/;
    expect(gitIgnored().filter((p) => !generated.test(p))).toEqual([]);
  });
});
