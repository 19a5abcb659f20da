// Each packages/<name>/README.md as the page packages/<name> (see site/readme-routes.ts).
import { readmeRoutes } from "../site/readme-routes.ts";

export default {
  watch: ["../../packages/*/README.md"],
  paths: () => readmeRoutes("packages", "package"),
};
