import packageJson from "../package.json" with { type: "json" };

/** The package version: the backend reports it in GetBackendInfo, `--version` prints it. */
export const VERSION: string = packageJson.version;
