import { defineConfig } from "tsup";
import shared from "../../tsup.package.ts";

// The shared build plus the `volpop` command (fast-path conformance).
export default defineConfig({
  ...(shared as object),
  entry: ["src/index.ts", "src/bin/volpop.ts"],
});
