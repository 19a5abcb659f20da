/** The generated project's package, TypeScript and test set-up, Containerfile and README. */
import { lines, PROJECT_VERSION, type TemplateContext } from "./context.ts";

/** `package.json`: a standalone npm package, pinned to what this scaffolder was released with. */
export function packageJson(ctx: TemplateContext): string {
  const { versions } = ctx;
  const manifest = {
    name: ctx.name,
    version: PROJECT_VERSION,
    private: true,
    description: `A Kubernetes volume populator for ${ctx.kind} (${ctx.group}), on @volpop/sdk`,
    type: "module",
    engines: { node: ">=24.11.0" },
    // tsc keeps the folders (src/version.ts reads ../package.json): dist/src/main.js.
    bin: { [ctx.name]: "./dist/src/main.js" },
    scripts: {
      build: "tsc -p tsconfig.build.json",
      typecheck: "tsc",
      test: "vitest run",
      "test:e2e": "vitest run --config vitest.e2e.config.ts",
      crd: "node src/write-crd.ts",
      image: "volpop-images build --package .",
      "image:push": "volpop-images push --package .",
    },
    dependencies: { "@volpop/sdk": ctx.sdkVersion },
    devDependencies: {
      "@types/node": versions["@types/node"],
      "@volpop/images": versions["@volpop/images"],
      typescript: versions.typescript,
      vitest: versions.vitest,
      yaml: versions.yaml,
    },
  };
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** `tsconfig.json` (type checks: sources, tests, configs) and `tsconfig.build.json` (dist/). */
export function tsconfigs(): Record<string, string> {
  const compilerOptions = {
    target: "es2024",
    lib: ["es2024"],
    module: "nodenext",
    moduleResolution: "nodenext",
    types: ["node"],
    strict: true,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    verbatimModuleSyntax: true,
    // Imports say `./spec.ts`, as Node runs the sources (`npm run crd`); tsc writes `./spec.js`.
    allowImportingTsExtensions: true,
    rewriteRelativeImportExtensions: true,
    resolveJsonModule: true,
    skipLibCheck: true,
    noEmit: true,
  };
  return {
    "tsconfig.json": `${JSON.stringify({ compilerOptions, include: ["src", "e2e", "*.config.ts"] }, null, 2)}\n`,
    "tsconfig.build.json": `${JSON.stringify(
      {
        extends: "./tsconfig.json",
        compilerOptions: { noEmit: false, rootDir: ".", outDir: "dist" },
        include: ["src"],
        exclude: ["src/**/*.test.ts"],
      },
      null,
      2,
    )}\n`,
  };
}

/** `vitest.config.ts` (unit tests) and `vitest.e2e.config.ts` (the cluster). */
export function vitestConfigs(): Record<string, string> {
  return {
    "vitest.config.ts": lines(
      'import { defineConfig } from "vitest/config";',
      "",
      "// Unit tests, beside the code: no cluster.",
      'export default defineConfig({ test: { include: ["src/**/*.test.ts"] } });',
    ),
    "vitest.e2e.config.ts": lines(
      'import { defineConfig } from "vitest/config";',
      "",
      "// The deployed populator, on the cluster of $KUBECONFIG (`npm run test:e2e`).",
      'export default defineConfig({ test: { include: ["e2e/**/*.e2e.ts"], testTimeout: 360_000, hookTimeout: 240_000 } });',
    ),
  };
}

export function gitignore(): string {
  return lines("/node_modules/", "/dist/");
}

/** `Containerfile`: the bundled program on a Node 24 base, as volpop's own images. */
export function containerfile(ctx: TemplateContext): string {
  return lines(
    `# The ${ctx.name} image. \`npm run image\` (volpop-images, from @volpop/images) bundles src/main.ts with`,
    "# every dependency into dist/ (one ESM program, no node_modules) and builds this file with that dist/",
    "# as its context, on NODE_BASE: a Node 24 base it assembles on the build machine. Without build",
    "# arguments the base is the public Node image, so `npx volpop-images context --package . --out ctx`",
    "# then `docker build ctx` works anywhere.",
    "ARG NODE_BASE=docker.io/library/node:24.21.0-bookworm-slim",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Containerfile's own variable, not a template
    "FROM ${NODE_BASE}",
    `LABEL org.opencontainers.image.title="${ctx.name}" \\`,
    `      org.opencontainers.image.description="Volume populator for ${ctx.kind} (${ctx.group}): controller and populate modes"`,
    "COPY dist/ /app/",
    "USER 65532:65532",
    'ENTRYPOINT ["node", "/app/main.js"]',
  );
}
