import fs from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { stripVTControlCharacters } from "node:util";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parse, stringify } from "yaml";
import { packWorkspace } from "../packaging/pack.ts";
import { consumerEnv, Transcript } from "../packaging/packages.ts";
import { installProject, installScaffolder, scaffoldWith } from "../packaging/scaffolding.ts";
import type { Kubectl } from "../support/walkthrough.ts";
import {
  imageRegistry as imageRegistryOf,
  installPrerequisites,
  kubectlBin,
  pinnedKubectl,
} from "./support/admin-kubectl.ts";
import {
  createPvc,
  createTestNamespace,
  deleteNamespace,
  e2eSettings,
  JOB_MOUNT_PATH,
  type Kube,
  kube,
  runJob,
  waitForBound,
} from "./support/kube.ts";

/**
 * A populator made with the packed create-volpop-populator (Pod strategy) outside the workspace, its
 * image built and pushed with its own `npm run image:push` (volpop-images, the command this
 * repository releases its images with), installed from its kustomize base, fills a PVC on the
 * cluster; then the project's own e2e test passes against the same cluster.
 */

const imageRegistry = imageRegistryOf();
const NAME = "scaffolded-greeting";
const KIND = "ScaffoldedGreeting";
const GROUP = `${NAME}.example.com`;

/** Points the base's `images:` entry at the pushed image, as its README tells a user to. */
function setImage(project: string, pushed: string): void {
  const [name, digest] = pushed.split("@") as [string, string];
  const file = path.join(project, "deploy", "kustomization.yaml");
  const kustomization = parse(fs.readFileSync(file, "utf8"));
  kustomization.images = [{ name: NAME, newName: name, digest }];
  fs.writeFileSync(file, stringify(kustomization));
}

describe.skipIf(!imageRegistry)("a populator scaffolded with create-volpop-populator, on the cluster", () => {
  let api: Kube;
  let kubectl: Kubectl;
  let work: string;
  let project: string;
  let installed = false;
  let userNs = "";
  let log: Transcript;

  beforeAll(async () => {
    api = kube();
    kubectl = pinnedKubectl();
    work = await mkdtemp(path.join(os.tmpdir(), "volpop-scaffold-e2e-"));
    log = new Transcript({ $WORK: work });
    const packs = await packWorkspace(work, log);
    const scaffolder = await installScaffolder(work, packs, log);
    project = await scaffoldWith(scaffolder, work, [NAME, "--strategy", "pod"], NAME, log);
    await installProject(project, packs, log);
    // The image, built and pushed by the project's own script: volpop-images from the packed @volpop/images.
    const output = await log.run("npm", ["run", "image:push", "--", "--registry", imageRegistry ?? ""], {
      cwd: project,
      env: consumerEnv(),
    });
    const pushed = output.match(new RegExp(`^(\\S+/${NAME}:0\\.1\\.0)@(sha256:[0-9a-f]{64})`, "m"));
    expect(pushed, output).not.toBeNull();
    setImage(project, `${imageRegistry}/${NAME}@${pushed?.[2]}`);

    await installPrerequisites(kubectl);
    installed = true;
    await kubectl(["apply", "-k", path.join(project, "deploy")]);
    await kubectl([
      "wait",
      "--for=condition=Established",
      `crd/scaffoldedgreetings.${GROUP}`,
      "--timeout=60s",
    ]);
    await kubectl(["-n", NAME, "rollout", "status", `deployment/${NAME}`, "--timeout=180s"]);
    userNs = await createTestNamespace(api, "scaffold");
  }, 900_000);

  afterAll(async () => {
    if (userNs) await deleteNamespace(api, userNs);
    if (installed) {
      // Its CRD too: no other suite shares this kind.
      await kubectl([
        "delete",
        "--ignore-not-found",
        "--wait=true",
        "--timeout=180s",
        "-k",
        path.join(project, "deploy"),
      ]);
      await kubectl(["delete", "--ignore-not-found", "volumepopulator", NAME]);
    }
    if (log) console.log(`scaffold e2e transcript:\n${log}`);
    if (work) await rm(work, { recursive: true, force: true });
  }, 400_000);

  it("fills a PVC naming its source with the source's file", async () => {
    const contents = "Hello from a scaffolded populator\n";
    await kubectl(
      ["apply", "-n", userNs, "-f", "-"],
      JSON.stringify({
        apiVersion: `${GROUP}/v1alpha1`,
        kind: KIND,
        metadata: { name: "greeting" },
        spec: { fileName: "greeting.txt", contents },
      }),
    );
    await createPvc(api, userNs, "greeting", {
      storageClassName: e2eSettings.immediateStorageClass,
      volumeMode: "Filesystem",
      dataSourceRef: { apiGroup: GROUP, kind: KIND, name: "greeting" },
    });
    const read = await runJob(api, userNs, "read-greeting", {
      script: `cat ${JOB_MOUNT_PATH}/greeting.txt`,
      pvc: { claimName: "greeting", volumeMode: "Filesystem" },
    });
    expect(read).toBe(contents);
    await waitForBound(api, userNs, "greeting");
    const logs = await kubectl(["-n", NAME, "logs", `deployment/${NAME}`]);
    expect(logs, "the controller logged a refusal: its RBAC misses a right").not.toMatch(
      /forbidden|unauthorized/i,
    );
  });

  it("passes the project's own e2e test (npm run test:e2e) against the same cluster", async () => {
    const env = consumerEnv({
      KUBECONFIG: inject("kubeconfig"),
      E2E_STORAGE_CLASS: e2eSettings.immediateStorageClass,
      E2E_READER_IMAGE: e2eSettings.busyboxImage,
    });
    // Its test runs `kubectl`: the cluster's own when it has one.
    if (kubectlBin !== "kubectl") env.PATH = `${path.dirname(kubectlBin)}${path.delimiter}${env.PATH ?? ""}`;
    const output = await log.run("npm", ["run", "test:e2e"], { cwd: project, env });
    expect(stripVTControlCharacters(output)).toMatch(/Tests +1 passed/);
  });
});
