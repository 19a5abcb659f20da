import packageJson from "../package.json" with { type: "json" };

/** The package version, printed by `--version` and used as the image tag. */
export const VERSION: string = packageJson.version;
