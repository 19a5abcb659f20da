import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { manifestImage } from "@volpop/images";

/**
 * The seed walkthrough (shared/reference/walkthrough.md) done the way a cluster admin and a user do it:
 * with kubectl and YAML, step by step. Used by `./scripts/demo` and by the e2e tier.
 */

const repoRoot = path.resolve(import.meta.dirname, "../..");

/** Runs kubectl and returns its stdout; rejects with its stderr. */
export type Kubectl = (args: readonly string[], input?: string) => Promise<string>;

export interface WalkthroughImages {
  /** Pullable reference of the validator image. */
  readonly validator: string;
  /** Pullable reference of the hello populator image. */
  readonly hello: string;
}

/** The manifests of a package, in the order its kustomization lists them, with our images put in. */
function manifests(
  pkg: string,
  files: readonly string[],
  replacements: Readonly<Record<string, string>>,
): string {
  return files
    .map((file) => {
      let text = fs.readFileSync(path.join(repoRoot, "packages", pkg, "deploy", file), "utf8");
      for (const [from, to] of Object.entries(replacements)) text = text.replaceAll(from, to);
      return text;
    })
    .join("\n---\n");
}

/** Step 1: the data-source validator (CRD, RBAC, Deployment), then waits until it runs. */
export async function installValidator(kubectl: Kubectl, images: WalkthroughImages): Promise<void> {
  await kubectl(
    ["apply", "-f", "-"],
    manifests("validator", ["crd.yaml", "namespace.yaml", "rbac.yaml", "deployment.yaml"], {
      [manifestImage("validator")]: images.validator,
    }),
  );
  await kubectl([
    "wait",
    "--for=condition=Established",
    "crd/volumepopulators.populator.storage.k8s.io",
    "--timeout=60s",
  ]);
  await kubectl([
    "-n",
    "volpop-system",
    "rollout",
    "status",
    "deployment/volume-data-source-validator",
    "--timeout=180s",
  ]);
}

/** Step 2: the hello populator (CRD, namespace, RBAC, Deployment, VolumePopulator), then waits until it runs. */
export async function installHello(kubectl: Kubectl, images: WalkthroughImages): Promise<void> {
  const replacements = { [manifestImage("populator-hello")]: images.hello };
  await kubectl(["apply", "-f", "-"], manifests("populator-hello", ["crd.yaml"], replacements));
  await kubectl(["wait", "--for=condition=Established", "crd/hellos.hello.example.com", "--timeout=60s"]);
  await kubectl(
    ["apply", "-f", "-"],
    manifests(
      "populator-hello",
      ["namespace.yaml", "rbac.yaml", "deployment.yaml", "volume-populator.yaml"],
      replacements,
    ),
  );
  await kubectl(["-n", "hello", "rollout", "status", "deployment/hello-populator", "--timeout=180s"]);
}

export interface Story {
  readonly namespace: string;
  readonly helloName?: string;
  readonly pvcName?: string;
  readonly jobName?: string;
  readonly fileName?: string;
  readonly fileContents?: string;
  readonly volumeMode?: "Filesystem" | "Block";
  readonly storageClassName?: string;
  /** Create the PVC first and the Hello afterwards. */
  readonly pvcBeforeHello?: boolean;
}

const yamlString = (value: string) => JSON.stringify(value);

export function helloYaml(story: Story): string {
  return `apiVersion: hello.example.com/v1alpha1
kind: Hello
metadata: {name: ${story.helloName ?? "example-hello"}}
spec: {fileName: ${yamlString(story.fileName ?? "example.txt")}, fileContents: ${yamlString(story.fileContents ?? "Hello, world!")}}
`;
}

export function pvcYaml(story: Story): string {
  return `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: ${story.pvcName ?? "example-pvc"}}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 10Mi}}
  dataSourceRef: {apiGroup: hello.example.com, kind: Hello, name: ${story.helloName ?? "example-hello"}}
  volumeMode: ${story.volumeMode ?? "Filesystem"}
${story.storageClassName ? `  storageClassName: ${story.storageClassName}\n` : ""}`;
}

/** The Job of step 5; for Block volumes it reads the file's bytes from the start of the device. */
export function jobYaml(story: Story): string {
  const contents = Buffer.from(`${story.fileContents ?? "Hello, world!"}\n`, "utf8");
  const block = story.volumeMode === "Block";
  const volumeUse = block
    ? "volumeDevices: [{name: vol, devicePath: /dev/xvda}]"
    : "volumeMounts: [{name: vol, mountPath: /mnt}]";
  const command = block
    ? `[sh, -c, "head -c ${contents.length} /dev/xvda"]`
    : `[cat, /mnt/${story.fileName ?? "example.txt"}]`;
  return `apiVersion: batch/v1
kind: Job
metadata: {name: ${story.jobName ?? "example-job"}}
spec:
  template:
    spec:
      containers:
        - name: example-container
          image: busybox:latest
          command: ${command}
          ${volumeUse}
      restartPolicy: Never
      volumes: [{name: vol, persistentVolumeClaim: {claimName: ${story.pvcName ?? "example-pvc"}}}]
`;
}

/** Steps 3 to 6: source, PVC, Job; resolves to `kubectl logs job/<job>`. */
export async function runStory(
  kubectl: Kubectl,
  story: Story,
  say: (line: string) => void = () => undefined,
): Promise<string> {
  const ns = ["-n", story.namespace];
  const job = story.jobName ?? "example-job";
  const steps: [string, string][] = [
    ["create the Hello", helloYaml(story)],
    ["create the PVC that names it", pvcYaml(story)],
  ];
  if (story.pvcBeforeHello) steps.reverse();
  for (const [what, yaml] of steps) {
    say(`${what}:\n${indent(yaml)}`);
    await kubectl([...ns, "apply", "-f", "-"], yaml);
  }
  say(`run Job ${job}, which mounts the PVC and prints the file:\n${indent(jobYaml(story))}`);
  return readWithJob(kubectl, story, say);
}

/** Steps 5 and 6: a Job reads the PVC; resolves to its log. */
export async function readWithJob(
  kubectl: Kubectl,
  story: Story,
  say: (line: string) => void = () => undefined,
): Promise<string> {
  const ns = ["-n", story.namespace];
  const job = story.jobName ?? "example-job";
  await kubectl([...ns, "apply", "-f", "-"], jobYaml(story));
  say(`kubectl wait --for=condition=Complete job/${job}`);
  await kubectl([...ns, "wait", "--for=condition=Complete", `job/${job}`, "--timeout=300s"]);
  say(`kubectl logs job/${job}`);
  return kubectl([...ns, "logs", `job/${job}`]);
}

/** The validator's promise: a PVC naming a kind no VolumePopulator registers gets a Warning event. */
export async function unregisteredKindWarning(
  kubectl: Kubectl,
  namespace: string,
  pvcName = "unregistered-pvc",
): Promise<string> {
  const yaml = `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: ${pvcName}}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 10Mi}}
  dataSourceRef: {apiGroup: nobody.example.com, kind: Unregistered, name: anything}
`;
  await kubectl(["-n", namespace, "apply", "-f", "-"], yaml);
  for (let i = 0; i < 120; i++) {
    const out = await kubectl([
      "-n",
      namespace,
      "get",
      "events",
      `--field-selector=involvedObject.name=${pvcName},reason=UnrecognizedDataSourceKind`,
      "-o",
      'jsonpath={range .items[*]}{.type} {.reason}: {.message}{"\\n"}{end}',
    ]);
    if (out.trim()) return out.trim();
    await sleep(500);
  }
  throw new Error(`no UnrecognizedDataSourceKind event on PVC ${namespace}/${pvcName} within 60s`);
}

function indent(text: string): string {
  return text
    .trimEnd()
    .split("\n")
    .map((line) => `    ${line}`)
    .join("\n");
}
