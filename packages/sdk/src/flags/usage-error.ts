import { VolpopError } from "../errors.ts";

/** The command line is wrong; `message` says how and `usage` is the help text to print after it. */
export class CliUsageError extends VolpopError {
  override name = "CliUsageError";

  /** The full help text. */
  readonly usage: string;

  /** Creates a USAGE error. */
  constructor(message: string, usage: string) {
    super("USAGE", message);
    this.usage = usage;
  }
}
