import path from "node:path";
import { buildGoComponent, goTools } from "../cluster/build.ts";
import { layout } from "../cluster/config.ts";
import { run } from "../cluster/exec.ts";

/**
 * The pinned Helm (test/cluster/go/helm, built from its Go module like the cluster's components) and
 * a runner for it. `./scripts/test` builds it ahead with `cli.ts build`; `helmBinary()` builds it on
 * first use wherever the tests start from instead (a cold build takes minutes), and reuses it after.
 */

/** The charts of this repository, one folder each under charts/. */
export const chartsDir = path.join(layout.repoRoot, "charts");

const helmComponent = goTools.find((tool) => tool.recipe === "helm");

let built: Promise<string> | undefined;

/** Path of the pinned helm binary, built into the volpop cache unless it is there already. */
export function helmBinary(): Promise<string> {
  if (helmComponent === undefined) throw new Error("test/cluster/build.ts has no helm tool");
  built ??= buildGoComponent(helmComponent).then((dir) => path.join(dir, "bin", "helm"));
  return built;
}

export class HelmError extends Error {
  readonly code = "HELM_FAILED";
  /** Helm's own words (its stderr without the lines every run of a chart with symlinks prints). */
  readonly helmStderr: string;
  constructor(args: readonly string[], helmStderr: string) {
    super(`helm ${args.join(" ")} failed:\n${helmStderr}`);
    this.helmStderr = helmStderr;
  }
}

export interface HelmOptions {
  /** The cluster for install, uninstall and status; none for lint and template. */
  readonly kubeconfig?: string;
  /** Standard input, e.g. a values file given as `--values -`. */
  readonly input?: string;
}

// Helm 4 logs at INFO each symlink it follows (the charts link their library chart and CRDs).
const SYMLINK_NOTICE = /found symbolic link in path/;

/** Runs the pinned helm; resolves to its stdout, rejects with a {@link HelmError} naming what it said. */
export async function helm(args: readonly string[], options: HelmOptions = {}): Promise<string> {
  const binary = await helmBinary();
  const full = options.kubeconfig ? [...args, `--kubeconfig=${options.kubeconfig}`] : [...args];
  const result = await run(binary, full, {
    allowFailure: true,
    ...(options.input === undefined ? {} : { input: options.input }),
  });
  if (result.ok) return result.stdout;
  const stderr = result.stderr
    .split("\n")
    .filter((line) => !SYMLINK_NOTICE.test(line))
    .join("\n")
    .trim();
  throw new HelmError(full, stderr || result.stdout.trim());
}
