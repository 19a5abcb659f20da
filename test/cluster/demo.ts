#!/usr/bin/env node
import fs from "node:fs";
import {
  installHello,
  installValidator,
  type Kubectl,
  runStory,
  unregisteredKindWarning,
} from "../support/walkthrough.ts";
import { layout } from "./config.ts";
import { run } from "./exec.ts";
import { step } from "./log.ts";
import { printUsage, up } from "./up.ts";
import { buildWalkthroughImages } from "./walkthrough-images.ts";

/**
 * The main job: the seed walkthrough (docs/walkthrough.md) on the embedded cluster, or on the cluster
 * of $KUBECONFIG, step by step as a user would do it with kubectl, ending with the Job's log.
 */
async function demo(): Promise<void> {
  const userKubeconfig = process.env.KUBECONFIG;
  if (userKubeconfig) step(`using the cluster of KUBECONFIG=${userKubeconfig}`);
  else await up();
  const kubeconfig = userKubeconfig ?? layout.adminKubeconfig;
  const kubectlBin = fs.existsSync(layout.bin("kubernetes", "kubectl"))
    ? layout.bin("kubernetes", "kubectl")
    : "kubectl";
  const kubectl: Kubectl = async (args, input) =>
    (await run(kubectlBin, [`--kubeconfig=${kubeconfig}`, ...args], input === undefined ? {} : { input }))
      .stdout;

  step(
    "building the validator and hello populator images (bundled with tsup/esbuild onto a local Node 24 base)",
  );
  const images = await buildWalkthroughImages(!userKubeconfig);
  step(`1. install the data-source validator (${images.validator})`);
  await installValidator(kubectl, images);
  step(`2. install the hello populator (${images.hello})`);
  await installHello(kubectl, images);

  // A second run starts the story afresh.
  await kubectl([
    "delete",
    "job/example-job",
    "pvc/example-pvc",
    "pvc/unregistered-pvc",
    "--ignore-not-found",
    "--wait=true",
  ]);
  await kubectl(["delete", "hellos.hello.example.com/example-hello", "--ignore-not-found"]);
  const log = await runStory(kubectl, { namespace: "default" }, (line) => step(line));
  process.stdout.write(log.endsWith("\n") ? log : `${log}\n`);

  step("and a PVC whose dataSourceRef names a kind no VolumePopulator registers:");
  process.stdout.write(`${await unregisteredKindWarning(kubectl, "default")}\n`);
  step(`look around: kubectl describe pvc example-pvc; kubectl -n hello logs deploy/hello-populator`);
  if (!userKubeconfig) printUsage();
}

demo().catch((error: unknown) => {
  process.stderr.write(`demo: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
