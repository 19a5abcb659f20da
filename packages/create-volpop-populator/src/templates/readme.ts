/** The generated project's README and example objects. */
import { lines, type TemplateContext } from "./context.ts";
import { exampleSpec } from "./tests.ts";

/** `examples/source.yaml`: a source and a PVC naming it. */
export function exampleYaml(ctx: TemplateContext): string {
  const spec = Object.entries(exampleSpec(ctx)).map(([key, value]) => `  ${key}: ${JSON.stringify(value)}`);
  return lines(
    `# A ${ctx.kind} and a PVC filled from it: kubectl apply -f examples/source.yaml`,
    `apiVersion: ${ctx.group}/${ctx.version}`,
    `kind: ${ctx.kind}`,
    "metadata:",
    `  name: ${ctx.example}`,
    "spec:",
    ...spec,
    "---",
    "apiVersion: v1",
    "kind: PersistentVolumeClaim",
    "metadata:",
    `  name: ${ctx.example}`,
    "spec:",
    "  accessModes: [ReadWriteOnce]",
    `  volumeMode: ${ctx.volumeMode}`,
    "  resources:",
    "    requests:",
    "      storage: 16Mi",
    "  dataSourceRef:",
    `    apiGroup: ${ctx.group}`,
    `    kind: ${ctx.kind}`,
    `    name: ${ctx.example}`,
  );
}

const STRATEGY_TEXT = {
  pod: "the Pod strategy: for each PVC, the controller starts a pod running this same image in populate mode (`src/populate.ts` writes the volume), then hands the volume over to the PVC.",
  function:
    "the function strategy: no pod; the controller calls `src/storage.ts`, your storage system's API, with the new volume's CSI handle. The example storage is the folder where the CSI hostpath driver keeps its volumes: replace it with your storage's calls.",
  fastpath:
    "the CSI fast path: a backend on each node (`src/backend.ts`, `main.js backend`, the DaemonSet) fills new volumes directly in the storage (the example: the CSI hostpath driver's folder), with no pod; where it cannot, the controller falls back to a populator pod running `src/populate.ts`.",
} as const;

/** The files every project has, and those its strategy adds, for the README. */
export function fileList(ctx: TemplateContext): readonly (readonly [string, string])[] {
  return [
    ["src/spec.ts", "the source kind and its spec's one definition (type, validator, CRD schema)"],
    ["src/crd.ts, src/write-crd.ts", "the CRD from the spec (`npm run crd`)"],
    ["src/populate.ts", ctx.filesystem ? "writes the file into a volume" : "writes the bytes onto a volume"],
    ["src/populator.ts", "the `Populator`: the source kind and how a volume is filled"],
    [
      "src/main.ts",
      `the program: controller mode, populate mode${ctx.strategy === "fastpath" ? ", `backend`" : ""}`,
    ],
    ...(ctx.strategy === "pod" ? [] : [["src/storage.ts", "the storage the volumes live in"] as const]),
    ...(ctx.strategy === "fastpath" ? [["src/backend.ts", "the fast-path backend"] as const] : []),
    ["src/*.test.ts", "unit tests (`npm test`)"],
    ["e2e/populate.e2e.ts", "the deployed populator fills a PVC (`npm run test:e2e`)"],
    [
      "deploy/",
      "kustomize base: namespace, CRD, RBAC, Deployment" +
        (ctx.strategy === "fastpath" ? ", backend DaemonSet" : "") +
        ", VolumePopulator",
    ],
    ["chart/", "the same as a Helm chart"],
    ["examples/source.yaml", `a ${ctx.kind} and a PVC filled from it`],
    ["Containerfile", "the image (`npm run image`)"],
  ];
}

export function readme(ctx: TemplateContext): string {
  const files = fileList(ctx).map(([file, what]) => `| \`${file}\` | ${what} |`);
  const spec = exampleSpec(ctx);
  const populateByHand = ctx.filesystem
    ? [
        "Populate mode, by hand, into a folder:",
        "",
        "```sh",
        "npm run build",
        `mkdir -p /tmp/out && VOLPOP_TARGET=/tmp/out VOLPOP_SPEC='${JSON.stringify(spec)}' node dist/src/main.js --mode=populate`,
        "```",
      ]
    : [];
  return lines(
    `# ${ctx.name}`,
    "",
    `A Kubernetes [volume populator](https://kubernetes.io/blog/2022/05/16/volume-populators-beta/) for \`${ctx.kind}\``,
    `(\`${ctx.group}/${ctx.version}\`), on [@volpop/sdk](https://www.npmjs.com/package/@volpop/sdk): a PVC naming a`,
    `${ctx.kind} in \`spec.dataSourceRef\` is created filled with it (${ctx.volumeMode} volumes). It fills volumes with`,
    STRATEGY_TEXT[ctx.strategy],
    "",
    "| file | what |",
    "| --- | --- |",
    ...files,
    "",
    "## Develop",
    "",
    "```sh",
    "npm install",
    "npm run typecheck",
    "npm test          # unit tests, and the CRD drift test",
    "npm run crd       # after changing src/spec.ts: rewrites deploy/crd.yaml and chart/crds/",
    "```",
    "",
    ...populateByHand,
    ...(populateByHand.length > 0 ? [""] : []),
    "## Build, push, deploy",
    "",
    "`npm run image` builds the image with `volpop-images` (from `@volpop/images`, the command volpop builds",
    "its own images with: buildah, no daemon, reproducible, an SBOM): your program bundled into one file on a",
    `Node 24 base, tagged \`${ctx.image}\`. Push it where your cluster pulls from:`,
    "",
    "```sh",
    `npm run image:push -- --registry registry.example.com/team   # → registry.example.com/team/${ctx.image}`,
    "```",
    "",
    "(Without buildah or Debian's packages: `npx volpop-images context --package . --out ctx`, then",
    "`docker build ctx` on the public Node image.)",
    "",
    "The data-source validator's `VolumePopulator` CRD comes first (volpop's `@volpop/validator`, or upstream's",
    "volume-data-source-validator). Then set your image in `deploy/kustomization.yaml` (`images:` →",
    "`newName`, `newTag`) and:",
    "",
    "```sh",
    "kubectl apply -k deploy",
    "kubectl apply -f examples/source.yaml",
    "```",
    "",
    "or with Helm: `helm install " +
      ctx.name +
      " chart/ --namespace " +
      ctx.name +
      " --create-namespace --set image.repository=registry.example.com/team/" +
      ctx.name +
      "`" +
      (ctx.filesystem && ctx.strategy === "pod"
        ? "."
        : " (label the namespace as `deploy/namespace.yaml` does if your cluster enforces Pod Security)."),
    "",
    "`npm run test:e2e` checks the deployed populator on the cluster of `$KUBECONFIG`: it creates a",
    `${ctx.kind}, a PVC and a Job that reads the volume, and deletes them after.`,
  );
}
