import { defineConfig } from "tsup";
import base from "../../tsup.package.ts";

// The shared build, plus the binary's entry.
export default defineConfig({ ...base, entry: ["src/index.ts", "src/main.ts"] });
