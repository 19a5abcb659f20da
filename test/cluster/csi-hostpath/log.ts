/** Structured logging: one JSON object a line, to stderr by default. */

export type LogFields = Record<string, unknown>;

export type Logger = {
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
};

export type LoggerOptions = {
  /** Receives each finished line, newline included. Default: process.stderr. */
  write?: (line: string) => void;
  /** Default: the wall clock. */
  now?: () => Date;
  /** Fields on every line. */
  fields?: LogFields;
};

function serialise(value: unknown): unknown {
  return value instanceof Error ? value.message : value;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const now = options.now ?? (() => new Date());
  const base = options.fields ?? {};
  const emit = (level: string, msg: string, fields: LogFields = {}) => {
    const entry: LogFields = { time: now().toISOString(), level, msg, ...base };
    for (const [key, value] of Object.entries(fields)) {
      if (value !== undefined) entry[key] = serialise(value);
    }
    write(`${JSON.stringify(entry)}\n`);
  };
  return {
    info: (msg, fields) => emit("info", msg, fields),
    warn: (msg, fields) => emit("warn", msg, fields),
    error: (msg, fields) => emit("error", msg, fields),
    child: (fields) => createLogger({ write, now, fields: { ...base, ...fields } }),
  };
}
