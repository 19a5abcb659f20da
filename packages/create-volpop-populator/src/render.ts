/** Every file of a new populator project, by path: what {@link scaffold} writes. */
import type { ProjectOptions } from "./options.ts";
import { templateContext } from "./templates/context.ts";
import { helmChart, kustomizeBase } from "./templates/deploy.ts";
import { containerfile, gitignore, packageJson, tsconfigs, vitestConfigs } from "./templates/project.ts";
import { exampleYaml, readme } from "./templates/readme.ts";
import {
  backendSource,
  mainSource,
  populateSource,
  populatorSource,
  storageSource,
  versionSource,
} from "./templates/source.ts";
import { crdSources, specSource } from "./templates/spec.ts";
import { backendTest, e2eTest, populateTest, specTests, storageTest } from "./templates/tests.ts";
import type { PinnedVersions } from "./versions.ts";

/** The project's files (relative paths, `/`-separated) and their text, sorted by path. */
export function renderProject(options: ProjectOptions, versions: PinnedVersions): Map<string, string> {
  const ctx = templateContext(options, versions);
  const files: Record<string, string> = {
    "package.json": packageJson(ctx),
    ...tsconfigs(),
    ...vitestConfigs(),
    ".gitignore": gitignore(),
    "README.md": readme(ctx),
    Containerfile: containerfile(ctx),
    "src/spec.ts": specSource(ctx),
    ...crdSources(ctx),
    "src/populate.ts": populateSource(ctx),
    "src/populator.ts": populatorSource(ctx),
    "src/main.ts": mainSource(ctx),
    "src/version.ts": versionSource(),
    ...specTests(ctx),
    "src/populate.test.ts": populateTest(ctx),
    ...(ctx.strategy === "pod"
      ? {}
      : { "src/storage.ts": storageSource(ctx), "src/storage.test.ts": storageTest(ctx) }),
    ...(ctx.strategy === "fastpath"
      ? { "src/backend.ts": backendSource(ctx), "src/backend.test.ts": backendTest(ctx) }
      : {}),
    "e2e/populate.e2e.ts": e2eTest(ctx),
    ...kustomizeBase(ctx),
    ...helmChart(ctx),
    "examples/source.yaml": exampleYaml(ctx),
  };
  return new Map(Object.entries(files).sort(([a], [b]) => (a < b ? -1 : 1)));
}
