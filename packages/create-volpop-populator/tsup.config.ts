import { defineConfig } from "tsup";
import shared from "../../tsup.package.ts";

// The library (`scaffold`, `renderProject`) and the `create-volpop-populator` command.
export default defineConfig({
  ...(shared as object),
  entry: ["src/index.ts", "src/cli.ts"],
});
