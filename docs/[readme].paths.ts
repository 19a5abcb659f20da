// charts/README.md and bench/README.md as the pages charts and bench (see site/readme-routes.ts).
import { readmeRoutes } from "./site/readme-routes.ts";

export default {
  watch: ["../charts/README.md", "../bench/README.md"],
  paths: () => readmeRoutes("", "readme"),
};
