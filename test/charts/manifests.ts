import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { layout } from "../cluster/config.ts";
import { chartsDir, helm } from "../support/helm.ts";

/** A Kubernetes object as the manifests hold it; the tests look into what they compare. */
export interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Record<string, string>;
  };
  readonly [field: string]: unknown;
}

/** `Kind/namespace/name`, how the tests name an object (cluster-scoped ones have an empty namespace). */
export const identity = (m: Manifest) => `${m.kind}/${m.metadata.namespace ?? ""}/${m.metadata.name}`;

/** The objects of a multi-document YAML stream, empty documents left out. */
export function parseManifests(text: string): Manifest[] {
  return YAML.parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`invalid YAML: ${doc.errors[0]?.message}`);
      return doc.toJS() as Manifest | null;
    })
    .filter((m): m is Manifest => m !== null);
}

export interface RenderOptions {
  /** The release namespace (`helm -n`). */
  readonly namespace: string;
  /** Values, handed to helm as a values file on stdin. */
  readonly values?: Readonly<Record<string, unknown>>;
  /** A values file of test/charts/values/. */
  readonly valuesFile?: string;
  /** APIs the cluster is to serve, beyond Helm's built-in list (e.g. the ServiceMonitor's). */
  readonly apiVersions?: readonly string[];
  /** Render the CRDs of the chart's crds/ folder too. */
  readonly includeCrds?: boolean;
  readonly release?: string;
}

export const valuesFile = (name: string) => path.join(import.meta.dirname, "values", name);

/** `helm template` of one chart of charts/. */
export function renderChart(chart: string, options: RenderOptions): Promise<string> {
  const args = [
    "template",
    options.release ?? "volpop",
    path.join(chartsDir, chart),
    "-n",
    options.namespace,
  ];
  if (options.includeCrds) args.push("--include-crds");
  for (const api of options.apiVersions ?? []) args.push("--api-versions", api);
  if (options.valuesFile) args.push("--values", valuesFile(options.valuesFile));
  if (options.values) args.push("--values", "-");
  return helm(args, options.values ? { input: YAML.stringify(options.values) } : {});
}

const deployDir = (folder: string) => path.join(layout.repoRoot, "packages", folder);

/** The objects of some files of a package's deploy folder (e.g. `validator/deploy`). */
export function manifestFiles(folder: string, files: readonly string[]): Manifest[] {
  return files.flatMap((file) => parseManifests(fs.readFileSync(path.join(deployDir(folder), file), "utf8")));
}

/**
 * What `kubectl apply -k` of a kustomize base installs: the files its kustomization.yaml lists. The
 * bases use nothing of kustomize but `resources`; anything else fails here rather than being left
 * out. A folder without a kustomization (hello's) is applied whole: all of its YAML files.
 */
export function kustomizeBase(folder: string): Manifest[] {
  const dir = deployDir(folder);
  const kustomization = path.join(dir, "kustomization.yaml");
  if (!fs.existsSync(kustomization)) {
    const files = fs.readdirSync(dir).filter((f) => f.endsWith(".yaml"));
    return manifestFiles(folder, files.sort());
  }
  const spec = YAML.parse(fs.readFileSync(kustomization, "utf8")) as Record<string, unknown>;
  const unsupported = Object.keys(spec).filter((k) => !["apiVersion", "kind", "resources"].includes(k));
  if (unsupported.length > 0)
    throw new Error(`${folder}/kustomization.yaml uses ${unsupported.join(", ")}: teach kustomizeBase`);
  return manifestFiles(folder, spec.resources as string[]);
}

/** `base` with each object of `overlay` replacing the base's object of the same identity, or added. */
export function applied(base: readonly Manifest[], overlay: readonly Manifest[]): Manifest[] {
  const replaced = new Set(overlay.map(identity));
  return [...base.filter((m) => !replaced.has(identity(m))), ...overlay];
}
