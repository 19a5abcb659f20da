import { defineConfig } from "tsup";

/** Every published package builds alike: one ESM entry for Node 24, with its type declarations. */
export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm"],
  target: "node24",
  dts: true,
  clean: true,
  sourcemap: true,
});
