import fs from "node:fs";
import path from "node:path";
import { cacheDir, cacheName, layout, versions } from "./config.ts";
import { runVisible } from "./exec.ts";
import { step } from "./log.ts";

/**
 * One pinned upstream component, built from the Go module recipe in `test/cluster/go/<recipe>` (a
 * go.mod whose `tool` lines name the commands, and its go.sum) into `<cache>/<name>-<version>/bin`.
 * The recipe is all there is: `go build` runs from here, so no helper script can go missing from git.
 */
export interface GoComponent {
  /** Cache folder prefix, `<name>-<version>`. */
  readonly name: string;
  readonly version: string;
  /** Folder under test/cluster/go holding the recipe's go.mod and go.sum. */
  readonly recipe: string;
  /** Go packages to build; the binary takes the package's last path element. */
  readonly packages: readonly string[];
  readonly tags?: string;
  readonly ldflags?: string;
  /** Binaries to rename after the build (go's name → ours). */
  readonly renames?: Readonly<Record<string, string>>;
}

function stamp(pkg: string, version: string): string {
  const [major, minor] = version.replace(/^v/, "").split(".");
  return [`gitVersion=${version}`, `gitMajor=${major}`, `gitMinor=${minor}`, "gitTreeState=clean"]
    .map((kv) => `-X ${pkg}.${kv}`)
    .join(" ");
}

const minorOf = (version: string) => version.split(".").slice(0, 2).join(".");

export const recipesDir = path.join(layout.clusterSource, "go");

export const goComponents: readonly GoComponent[] = [
  {
    name: cacheName("kubernetes"),
    version: versions.kubernetes,
    recipe: `kubernetes-${minorOf(versions.kubernetes)}`,
    packages: [
      "kube-apiserver",
      "kube-controller-manager",
      "kube-scheduler",
      "kube-proxy",
      "kubectl",
      "kubelet",
    ].map((name) => `k8s.io/kubernetes/cmd/${name}`),
    tags: "selinux,notest",
    // Upstream links the kubelet with cgo; a static one works the same here and reuses the compile
    // cache of the other five binaries instead of rebuilding every package a second time.
    ldflags: `${stamp("k8s.io/component-base/version", versions.kubernetes)} ${stamp("k8s.io/client-go/pkg/version", versions.kubernetes)}`,
  },
  {
    name: cacheName("etcd"),
    version: versions.etcd,
    recipe: `etcd-${minorOf(versions.etcd)}`,
    packages: ["go.etcd.io/etcd/server/v3"],
    // go names a /v3 module's root package after "server"; the cluster runs it as etcd.
    renames: { server: "etcd" },
  },
  {
    name: cacheName("containerd"),
    version: versions.containerd,
    recipe: `containerd-${minorOf(versions.containerd)}`,
    packages: [
      "github.com/containerd/containerd/v2/cmd/containerd",
      "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2",
    ],
    // Static, without the snapshotters that need C libraries; overlayfs and native are pure Go.
    tags: "no_btrfs,no_devmapper,no_zfs,urfave_cli_no_docs",
    ldflags: `-X github.com/containerd/containerd/v2/version.Version=${versions.containerd}`,
  },
  {
    name: cacheName("csiProvisioner"),
    version: versions.csiProvisioner,
    recipe: "csi-provisioner",
    packages: ["github.com/kubernetes-csi/external-provisioner/v6/cmd/csi-provisioner"],
    ldflags: `-X main.version=${versions.csiProvisioner}`,
  },
  {
    name: cacheName("crictl"),
    version: versions.crictl,
    recipe: "crictl",
    packages: ["sigs.k8s.io/cri-tools/cmd/crictl"],
    ldflags: `-X sigs.k8s.io/cri-tools/pkg/version.Version=${versions.crictl}`,
  },
  { name: cacheName("pause"), version: versions.pause, recipe: "pause", packages: ["."] },
];

/**
 * Pinned tools the tests use beside the cluster, built like its components but not by `up`, which
 * does not need them: `cli.ts build` (and so `./scripts/test`) builds them ahead, and each tool's
 * accessor (e.g. `helmBinary()`) builds it on first use wherever the tests start from.
 */
export const goTools: readonly GoComponent[] = [
  {
    name: cacheName("helm"),
    version: versions.helm,
    recipe: "helm",
    packages: ["helm.sh/helm/v4/cmd/helm"],
    // Upstream's release flags: `helm version` names the pinned release, not a development build.
    ldflags: `-s -w -X helm.sh/helm/v4/internal/version.version=${versions.helm} -X helm.sh/helm/v4/internal/version.gitTreeState=clean`,
  },
];

const entryDir = (cache: string, c: GoComponent) => path.join(cache, `${c.name}-${c.version}`);
const isComplete = (cache: string, c: GoComponent) =>
  fs.existsSync(path.join(entryDir(cache, c), ".complete"));

export function missingComponents(cache: string = cacheDir): string[] {
  return goComponents.filter((c) => !isComplete(cache, c)).map((c) => `${c.name}-${c.version}`);
}

export interface BuildOptions {
  /** Cache to build into (default: `$VOLPOP_CACHE`). */
  readonly cache?: string;
  /** Extra environment for `go`, e.g. an empty GOCACHE for a cold-path check. */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Builds one component into the cache unless its entry is complete. The binaries land in a temporary
 * folder renamed into place, so an interrupted build never leaves an entry that looks complete.
 */
export async function buildGoComponent(component: GoComponent, options: BuildOptions = {}): Promise<string> {
  const cache = options.cache ?? cacheDir;
  const target = entryDir(cache, component);
  if (isComplete(cache, component)) return target;
  const recipe = path.join(recipesDir, component.recipe);
  if (!fs.existsSync(path.join(recipe, "go.mod"))) {
    throw new Error(
      `build recipe ${path.relative(layout.repoRoot, recipe)}/go.mod is missing from the checkout`,
    );
  }
  step(`building ${component.name} ${component.version} from Go modules (cold: minutes; cached afterwards)`);
  const started = Date.now();
  fs.mkdirSync(cache, { recursive: true });
  const staging = fs.mkdtempSync(path.join(cache, `.${component.name}-${component.version}-`));
  try {
    const bin = path.join(staging, "bin");
    fs.mkdirSync(bin);
    const args = ["build", "-trimpath", "-o", `${bin}${path.sep}`];
    if (component.tags) args.push("-tags", component.tags);
    if (component.ldflags) args.push("-ldflags", component.ldflags);
    args.push(...component.packages);
    await runVisible(
      "go",
      args,
      { ...process.env, CGO_ENABLED: "0", GOFLAGS: "-mod=readonly", ...options.env },
      recipe,
    );
    for (const [built, wanted] of Object.entries(component.renames ?? {})) {
      fs.renameSync(path.join(bin, built), path.join(bin, wanted));
    }
    fs.writeFileSync(path.join(staging, ".complete"), `${new Date().toISOString()}\n`);
    fs.rmSync(target, { recursive: true, force: true });
    fs.renameSync(staging, target);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  step(`built ${component.name} in ${Math.round((Date.now() - started) / 1000)}s`);
  return target;
}

export async function buildGoComponents(options: BuildOptions = {}): Promise<void> {
  for (const component of goComponents) await buildGoComponent(component, options);
}

export async function buildGoTools(options: BuildOptions = {}): Promise<void> {
  for (const tool of goTools) await buildGoComponent(tool, options);
}

/**
 * The cold path, proven cheaply: builds the smallest recipe (pause) into an empty cache under
 * `scratch` with an empty Go build cache, through the same function `up` uses. CI runs it every time,
 * so a recipe or build step that exists only on a warm machine fails there, not on a new user's.
 */
export async function checkColdBuild(scratch: string): Promise<string> {
  const pause = goComponents.find((c) => c.name === "pause");
  if (pause === undefined) throw new Error("no pause recipe");
  const built = await buildGoComponent(pause, {
    cache: path.join(scratch, "cache"),
    env: { GOCACHE: path.join(scratch, "gocache") },
  });
  return path.join(built, "bin", "pause");
}
