import fs from "node:fs";
import path from "node:path";
import { stripVTControlCharacters } from "node:util";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { consumerEnv, Transcript } from "./packages.ts";
import { binOf, installProject, installScaffolder, scaffoldWith } from "./scaffolding.ts";

// What `npm create volpop-populator` gives a user: the packed scaffolder, installed with npm outside
// the workspace, scaffolds a project for each strategy; the project installs @volpop/sdk and
// @volpop/images from their tarballs and passes its own type check, its unit tests and its CRD drift
// test, the CRD it shipped with is what its `crd` script writes, and its program runs (populate mode
// into a folder; the fast path's backend). Its image is bundled by `volpop-images context` (no
// buildah here: the e2e tier builds and deploys one, test/e2e/scaffold.e2e.ts).

const packs = inject("packaging");
const transcript = new Transcript({ $WORK: packs.work });
let scaffolder: string;
/** The first project's folder: the others share its node_modules (same dependencies, one install). */
let installed: string;
/** What it declared before npm install rewrote the tarballs' entries. */
let declaredByInstalled: unknown;
const declared = (dir: string) => {
  const { dependencies, devDependencies } = JSON.parse(
    fs.readFileSync(path.join(dir, "package.json"), "utf8"),
  );
  return { dependencies, devDependencies };
};

beforeAll(async () => {
  scaffolder = await installScaffolder(packs.work, packs, transcript);
});

afterAll(() => {
  console.log(`scaffolding transcript:\n${transcript}`);
});

const cases = [
  { name: "tape-archive", strategy: "pod", volumeMode: "Filesystem", populates: true },
  { name: "snapshot-restore", strategy: "function", volumeMode: "Block", populates: false },
  { name: "golden-disk", strategy: "fastpath", volumeMode: "Filesystem", populates: true },
] as const;

describe.each(cases)(
  "a $strategy-strategy populator for $volumeMode volumes, scaffolded outside the workspace",
  ({ name, strategy, volumeMode, populates }) => {
    let project: string;
    const run = (file: string, args: string[], shown: Record<string, string> = {}) =>
      transcript.run(file, args, { cwd: project, env: consumerEnv(shown), shown });

    beforeAll(async () => {
      project = await scaffoldWith(
        scaffolder,
        packs.work,
        [name, "--strategy", strategy, "--volume-mode", volumeMode],
        name,
        transcript,
      );
      if (installed === undefined) {
        declaredByInstalled = declared(project);
        await installProject(project, packs, transcript);
        installed = project;
      } else {
        // The dependencies every scaffolded project declares are the same; one install serves all.
        expect(declared(project)).toEqual(declaredByInstalled);
        fs.symlinkSync(path.join(installed, "node_modules"), path.join(project, "node_modules"));
        transcript.note(`node_modules → ${installed}/node_modules`);
      }
    });

    it("type-checks (strict, nodenext), sources, tests and e2e test", async () => {
      await run("npm", ["run", "typecheck"]);
    });

    it("passes its unit tests, the CRD drift test among them", async () => {
      // npm exits non-zero when a test fails, and run() throws with its output.
      const output = await run("npm", ["test"]);
      expect(stripVTControlCharacters(output)).toMatch(/src\/crd\.test\.ts \(4 tests\)/);
    });

    it("ships the CRD its `crd` script writes from the spec's definition", async () => {
      const crds = [
        "deploy/crd.yaml",
        `chart/crds/${fs.readdirSync(path.join(project, "chart", "crds"))[0]}`,
      ];
      const before = crds.map((file) => fs.readFileSync(path.join(project, file), "utf8"));
      await run("npm", ["run", "crd"]);
      expect(crds.map((file) => fs.readFileSync(path.join(project, file), "utf8"))).toEqual(before);
    });

    // The pod project runs its build (tsc); the others run their sources, as Node can, to save a build.
    const program = strategy === "pod" ? "dist/src/main.js" : "src/main.ts";

    it.runIf(populates)("fills a folder in populate mode (the pod project from its build)", async () => {
      if (strategy === "pod") await run("npm", ["run", "build"]);
      const target = path.join(packs.work, `target-${name}`);
      fs.mkdirSync(target);
      const spec = { fileName: "greeting.txt", contents: "Hello from outside the workspace\n" };
      await run(process.execPath, [program, "--mode=populate"], {
        VOLPOP_SPEC: JSON.stringify(spec),
        VOLPOP_TARGET: target,
      });
      expect(fs.readdirSync(target)).toEqual(["greeting.txt"]);
      expect(fs.readFileSync(path.join(target, "greeting.txt"), "utf8")).toBe(spec.contents);
    });

    it.runIf(strategy === "fastpath")("runs its fast-path backend's command", async () => {
      expect(await run(process.execPath, [program, "backend", "--help"])).toMatch(
        /--endpoint value +Where to serve the fast-path protocol \(default unix:\/\/\/run\/golden-disk\/backend\.sock\)/,
      );
    });

    it.runIf(strategy === "pod")(
      "has its image's build context made by volpop-images: the program bundled, and it runs",
      async () => {
        const context = path.join(packs.work, `context-${name}`);
        await run(binOf(project, "volpop-images"), ["context", "--package", ".", "--out", context]);
        expect(fs.readdirSync(context).sort()).toEqual(["Containerfile", "dist"]);
        expect(fs.readFileSync(path.join(context, "Containerfile"), "utf8")).toContain(
          'ENTRYPOINT ["node", "/app/main.js"]',
        );
        // No node_modules beside it, as in the image.
        expect(await run(process.execPath, [path.join(context, "dist", "main.js"), "--version"])).toBe(
          `${name} 0.1.0\n`,
        );
      },
    );
  },
);

describe("volpop-images installed in a project", () => {
  it("asks for --package outside a volpop checkout, instead of building volpop's own images", async () => {
    const refused = transcript.run(binOf(installed, "volpop-images"), ["build"], {
      cwd: installed,
      env: consumerEnv(),
    });
    await expect(refused).rejects.toThrow(/not in a volpop checkout: give --package <folder>/);
  });
});
