/** Progress lines for people watching `up`/`down`; on stderr so stdout stays machine-readable. */
export function step(message: string): void {
  process.stderr.write(`\u001b[1m[cluster]\u001b[0m ${message}\n`);
}
