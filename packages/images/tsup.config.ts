import { defineConfig } from "tsup";
import shared from "../../tsup.package.ts";

// The library (`@volpop/images`, `@volpop/images/release`) and the `volpop-images` command. In the
// workspace the package resolves to its sources (the cluster tooling runs them with plain node); the
// published manifest points at this build instead (publishConfig).
export default defineConfig({
  ...(shared as object),
  entry: ["src/index.ts", "src/release.ts", "src/cli.ts"],
});
