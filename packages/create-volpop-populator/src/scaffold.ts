import path from "node:path";
import { type ProjectOptions, projectOptions, type ScaffoldChoices } from "./options.ts";
import { renderProject } from "./render.ts";
import { type PinnedVersions, pinnedVersions } from "./versions.ts";
import { writeProject } from "./write.ts";

export interface ScaffoldOptions extends Omit<ScaffoldChoices, "sdkVersion"> {
  /** Where to write the project. Default: `./<name>`. */
  readonly dir?: string;
  /** Write into a folder that is not empty. */
  readonly force?: boolean;
  /** Default: the SDK version this scaffolder was released with. */
  readonly sdkVersion?: string;
  /** Default: {@link pinnedVersions} of this package. */
  readonly versions?: PinnedVersions;
}

/** What {@link scaffold} made. */
export interface Scaffolded {
  readonly dir: string;
  readonly options: ProjectOptions;
  readonly files: readonly string[];
}

/** Checks the choices, renders the project and writes it. */
export function scaffold(choices: ScaffoldOptions): Scaffolded {
  const versions = choices.versions ?? pinnedVersions();
  const options = projectOptions({ ...choices, sdkVersion: choices.sdkVersion ?? versions["@volpop/sdk"] });
  const dir = path.resolve(choices.dir ?? options.name);
  const files = renderProject(options, versions);
  writeProject(dir, files, { force: choices.force ?? false });
  return { dir, options, files: [...files.keys()] };
}
