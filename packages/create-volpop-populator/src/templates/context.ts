import type { ProjectOptions } from "../options.ts";
import type { PinnedVersions } from "../versions.ts";

/** What every template reads: the checked options, the pinned versions, and names made from them. */
export interface TemplateContext extends ProjectOptions {
  readonly versions: PinnedVersions;
  /** `tapeArchiveSpec`: the spec definition's variable in the generated code. */
  readonly specVar: string;
  /** `TapeArchiveSpec`: its type. */
  readonly specType: string;
  /** Whether the volume holds a filesystem (a file is written) rather than a raw device (bytes). */
  readonly filesystem: boolean;
  /** The image's name in the manifests until the user sets theirs: the package's name and version. */
  readonly image: string;
  /** The example source and PVC's name. */
  readonly example: string;
}

/** The package version a new project starts at (its image tag too). */
export const PROJECT_VERSION = "0.1.0";

export function templateContext(options: ProjectOptions, versions: PinnedVersions): TemplateContext {
  const lowerKind = (options.kind[0]?.toLowerCase() ?? "") + options.kind.slice(1);
  return {
    ...options,
    versions,
    specVar: `${lowerKind}Spec`,
    specType: `${options.kind}Spec`,
    filesystem: options.volumeMode === "Filesystem",
    image: `${options.name}:${PROJECT_VERSION}`,
    example: `example-${options.kind.toLowerCase()}`.slice(0, 63).replace(/-+$/, ""),
  };
}

/** Lines joined with newlines, ending with one: every generated file ends so. */
export function lines(...parts: readonly (string | false | undefined)[]): string {
  return `${parts.filter((part): part is string => typeof part === "string").join("\n")}\n`;
}
