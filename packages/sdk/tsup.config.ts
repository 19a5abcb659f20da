import { defineConfig } from "tsup";
import shared from "../../tsup.package.ts";

// One entry per audience (see src/index.ts), plus `@volpop/sdk/run` (a populator binary's main: the
// controller machinery is loaded only in controller mode, so a populator pod starts light),
// `@volpop/sdk/doctor` (operators: `volpop doctor` as a library) and the `volpop` command.
export default defineConfig({
  ...(shared as object),
  entry: [
    "src/index.ts",
    "src/run.ts",
    "src/runtime.ts",
    "src/strategies/csi-fastpath/index.ts",
    "src/testing.ts",
    "src/doctor/index.ts",
    "src/bin/volpop.ts",
  ],
});
