/**
 * What a scaffolded populator is made of: the choices on the command line, checked, and the names
 * derived from them (the source kind, its plural, the API group).
 */

/** How the generated populator fills a volume. */
export const STRATEGIES = ["pod", "function", "fastpath"] as const;
export type StrategyName = (typeof STRATEGIES)[number];

/** The volume mode the generated populator writes: a file in a filesystem, or bytes on a raw device. */
export const VOLUME_MODES = ["Filesystem", "Block"] as const;
export type VolumeMode = (typeof VOLUME_MODES)[number];

/** A bad name or flag value; its message says which and why, for the user. */
export class ScaffoldOptionError extends Error {
  override name = "ScaffoldOptionError";
}

/** What the user chose; everything but `name` has a default. */
export interface ScaffoldChoices {
  /** The project's name: npm package, image, namespace and the objects it deploys (DNS-1123 label). */
  readonly name: string;
  readonly strategy?: StrategyName;
  readonly volumeMode?: VolumeMode;
  /** The source's API group. Default: `<name>.example.com`. */
  readonly group?: string;
  /** The source's kind. Default: the name in PascalCase, without a trailing `-populator`. */
  readonly kind?: string;
  /** The `@volpop/sdk` version the project depends on. */
  readonly sdkVersion: string;
}

/** Everything the templates need, checked. */
export interface ProjectOptions {
  readonly name: string;
  readonly strategy: StrategyName;
  readonly volumeMode: VolumeMode;
  readonly group: string;
  readonly version: "v1alpha1";
  readonly kind: string;
  /** Lowercase plural of the kind: the resource name in the CRD and RBAC. */
  readonly plural: string;
  readonly sdkVersion: string;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Why `name` cannot name a project, or undefined: it becomes a namespace, so a DNS-1123 label. */
export function nameProblem(name: string): string | undefined {
  if (name === "") return "give the populator a name, e.g. `create-volpop-populator tape-archive`";
  if (name.length > 63) return `the name ${JSON.stringify(name)} is longer than 63 characters`;
  if (!DNS_LABEL.test(name))
    return `the name ${JSON.stringify(name)} is not a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit (it names the namespace, the image and the npm package)`;
  if (/^[0-9]/.test(name))
    return `the name ${JSON.stringify(name)} must start with a letter (it gives the kind's name)`;
  return undefined;
}

/** Why `group` cannot be a CRD's API group, or undefined: a DNS subdomain with at least one dot. */
export function groupProblem(group: string): string | undefined {
  const labels = group.split(".");
  if (group.length > 253 || labels.some((label) => !DNS_LABEL.test(label)))
    return `--group ${JSON.stringify(group)} is not a DNS subdomain (lowercase labels separated by ".")`;
  if (labels.length < 2)
    return `--group ${JSON.stringify(group)} needs a dot: a custom resource's group is a domain, e.g. ${group}.example.com`;
  return undefined;
}

/** Why `kind` cannot be a kind, or undefined: UpperCamelCase letters and digits. */
export function kindProblem(kind: string): string | undefined {
  if (!/^[A-Z][A-Za-z0-9]*$/.test(kind) || kind.length > 63)
    return `--kind ${JSON.stringify(kind)} must be UpperCamelCase letters and digits, starting with a capital (e.g. TapeArchive), at most 63 characters`;
  return undefined;
}

/** `tape-archive-populator` → `TapeArchive`. */
export function defaultKind(name: string): string {
  const base = name.replace(/-populator$/, "") || name;
  return base
    .split("-")
    .filter((part) => part !== "")
    .map((part) => part[0]?.toUpperCase() + part.slice(1))
    .join("");
}

/** English plural of a kind, lowercase, as CRDs name their resources: `TapeArchive` → `tapearchives`. */
export function pluralOf(kind: string): string {
  const lower = kind.toLowerCase();
  if (/(s|x|z|ch|sh)$/.test(lower)) return `${lower}es`;
  if (/[^aeiou]y$/.test(lower)) return `${lower.slice(0, -1)}ies`;
  return `${lower}s`;
}

/** Checks the choices and fills in the defaults; throws {@link ScaffoldOptionError} naming the first problem. */
export function projectOptions(choices: ScaffoldChoices): ProjectOptions {
  const problem = (text: string | undefined) => {
    if (text !== undefined) throw new ScaffoldOptionError(text);
  };
  problem(nameProblem(choices.name));
  const strategy = choices.strategy ?? "pod";
  if (!STRATEGIES.includes(strategy))
    problem(`--strategy ${JSON.stringify(strategy)} is none of ${STRATEGIES.join(", ")}`);
  const volumeMode = choices.volumeMode ?? "Filesystem";
  if (!VOLUME_MODES.includes(volumeMode))
    problem(`--volume-mode ${JSON.stringify(volumeMode)} is none of ${VOLUME_MODES.join(", ")}`);
  const group = choices.group ?? `${choices.name}.example.com`;
  problem(groupProblem(group));
  const kind = choices.kind ?? defaultKind(choices.name);
  problem(kindProblem(kind));
  if (!/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(choices.sdkVersion))
    problem(
      `--sdk-version ${JSON.stringify(choices.sdkVersion)} is not a version (e.g. 1.2.0 or 0.1.0-alpha.0)`,
    );
  return {
    name: choices.name,
    strategy,
    volumeMode,
    group,
    version: "v1alpha1",
    kind,
    plural: pluralOf(kind),
    sdkVersion: choices.sdkVersion,
  };
}
