import { defineConfig } from "tsup";
import shared from "../../tsup.package.ts";

// The shared build plus `@volpop/sdk/run` (a populator binary's main: the controller machinery is
// loaded only in controller mode, so a populator pod starts light) and the `volpop` command.
export default defineConfig({
  ...(shared as object),
  entry: ["src/index.ts", "src/run.ts", "src/bin/volpop.ts"],
});
