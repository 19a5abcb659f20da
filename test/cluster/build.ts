import fs from "node:fs";
import path from "node:path";
import { cacheDir, layout, versions } from "./config.ts";
import { runVisible } from "./exec.ts";
import { step } from "./log.ts";

/**
 * The Go recipes under test/cluster/go, each building one pinned component into
 * `<cache>/<component>-<version>/bin`. Each is skipped when its cache entry is complete.
 */
interface GoComponent {
  readonly folder: string;
  readonly version: string;
  readonly binaries: readonly (readonly [goPackage: string, binary: string])[];
  readonly tags?: string;
  readonly ldflags?: string;
  readonly cgo?: readonly string[];
}

function stamp(pkg: string, version: string): string {
  const [major, minor] = version.replace(/^v/, "").split(".");
  return ["gitVersion=" + version, `gitMajor=${major}`, `gitMinor=${minor}`, "gitTreeState=clean"]
    .map((kv) => `-X ${pkg}.${kv}`)
    .join(" ");
}

const goComponents: readonly GoComponent[] = [
  {
    folder: "kubernetes",
    version: versions.kubernetes,
    binaries: [
      "kube-apiserver",
      "kube-controller-manager",
      "kube-scheduler",
      "kube-proxy",
      "kubectl",
      "kubelet",
    ].map((name) => [`k8s.io/kubernetes/cmd/${name}`, name] as const),
    tags: "selinux,notest",
    ldflags: `${stamp("k8s.io/component-base/version", versions.kubernetes)} ${stamp("k8s.io/client-go/pkg/version", versions.kubernetes)}`,
    // Upstream links the kubelet with cgo; a static one works the same here and reuses the compile
    // cache of the other five binaries instead of rebuilding every package a second time.
  },
  { folder: "etcd", version: versions.etcd, binaries: [["go.etcd.io/etcd/server/v3", "etcd"]] },
  {
    folder: "csi-provisioner",
    version: versions.csiProvisioner,
    binaries: [["github.com/kubernetes-csi/external-provisioner/v6/cmd/csi-provisioner", "csi-provisioner"]],
    ldflags: `-X main.version=${versions.csiProvisioner}`,
  },
  {
    folder: "crictl",
    version: versions.crictl,
    binaries: [["sigs.k8s.io/cri-tools/cmd/crictl", "crictl"]],
    ldflags: `-X sigs.k8s.io/cri-tools/pkg/version.Version=${versions.crictl}`,
  },
  { folder: "pause", version: versions.pause, binaries: [[".", "pause"]] },
];

export function missingComponents(): string[] {
  return goComponents
    .filter((c) => !fs.existsSync(path.join(cacheDir, `${c.folder}-${c.version}`, ".complete")))
    .map((c) => `${c.folder}-${c.version}`);
}

export async function buildGoComponents(): Promise<void> {
  for (const component of goComponents) {
    if (fs.existsSync(path.join(cacheDir, `${component.folder}-${component.version}`, ".complete"))) continue;
    step(
      `building ${component.folder} ${component.version} from Go modules (cold: minutes; cached afterwards)`,
    );
    const started = Date.now();
    await runVisible(
      path.join(layout.clusterSource, "build", "go-build.sh"),
      [component.folder, component.version, ...component.binaries.map(([pkg, bin]) => `${pkg}:${bin}`)],
      {
        ...process.env,
        VOLPOP_CACHE: cacheDir,
        GO_TAGS: component.tags ?? "",
        LDFLAGS: component.ldflags ?? "",
        CGO_PACKAGES: (component.cgo ?? []).join(" "),
      },
    );
    step(`built ${component.folder} in ${Math.round((Date.now() - started) / 1000)}s`);
  }
}
