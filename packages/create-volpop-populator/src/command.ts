import path from "node:path";
import { parseCommandLine, USAGE, UsageError } from "./cli-args.ts";
import { ScaffoldOptionError } from "./options.ts";
import { scaffold } from "./scaffold.ts";
import { NonEmptyDirectoryError } from "./write.ts";

/** Runs the command; resolves to the exit code (2: a bad command line or choice, 1: nowhere to write). */
export function main(argv: readonly string[]): number {
  try {
    const request = parseCommandLine(argv);
    if (request.action === "help") {
      process.stdout.write(USAGE);
      return 0;
    }
    const made = scaffold(request.options);
    const where = path.relative(process.cwd(), made.dir) || ".";
    process.stdout.write(
      [
        `Wrote ${made.files.length} files into ${where}: a ${made.options.kind} populator (${made.options.group}, ${made.options.strategy} strategy, ${made.options.volumeMode} volumes) on @volpop/sdk ${made.options.sdkVersion}.`,
        "",
        "Next:",
        `  cd ${where}`,
        "  npm install",
        "  npm test            # unit tests and the CRD drift test",
        "  npm run image       # the image, with volpop-images (buildah)",
        "  then see README.md: push, kubectl apply -k deploy, npm run test:e2e",
        "",
      ].join("\n"),
    );
    return 0;
  } catch (error) {
    if (error instanceof UsageError || error instanceof ScaffoldOptionError) {
      process.stderr.write(`create-volpop-populator: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    if (error instanceof NonEmptyDirectoryError) {
      process.stderr.write(`create-volpop-populator: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
