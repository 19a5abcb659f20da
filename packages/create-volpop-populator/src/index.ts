/**
 * `create-volpop-populator`: scaffolds a volume populator project on `@volpop/sdk` (the
 * `create-volpop-populator` command, `npm create volpop-populator`). The same as a library: check the
 * choices, render the files, write them.
 */
export {
  defaultKind,
  groupProblem,
  kindProblem,
  nameProblem,
  type ProjectOptions,
  pluralOf,
  projectOptions,
  type ScaffoldChoices,
  ScaffoldOptionError,
  STRATEGIES,
  type StrategyName,
  VOLUME_MODES,
  type VolumeMode,
} from "./options.ts";
export { renderProject } from "./render.ts";
export { type Scaffolded, type ScaffoldOptions, scaffold } from "./scaffold.ts";
export { type PinnedVersions, pinnedVersions } from "./versions.ts";
export { NonEmptyDirectoryError, writeProject } from "./write.ts";
