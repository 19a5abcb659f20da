/**
 * Parses `WWW-Authenticate` (RFC 7235): one or more challenges, each a scheme followed by
 * `key=value` parameters (values quoted or bare) or a token68. Node joins repeated headers with
 * ", ", so a comma can end a parameter or a whole challenge; a new challenge starts where a bare
 * token is followed by a space instead of `=`.
 */

export interface AuthChallenge {
  /** Lower-cased scheme: `bearer`, `basic`, … */
  readonly scheme: string;
  /** Parameters with lower-cased names, e.g. `realm`, `service`, `scope`. */
  readonly params: Readonly<Record<string, string>>;
}

const TOKEN = /[!#$%&'*+.^_`|~0-9A-Za-z-]+/y;
const TOKEN68 = /[A-Za-z0-9._~+/-]+=*/y;
// RFC 7235 wants a token here, but some servers send bare URLs: take everything up to a separator.
const BARE_VALUE = /[^\s,"]+/y;

export function parseWwwAuthenticate(header: string): AuthChallenge[] {
  const challenges: AuthChallenge[] = [];
  let position = 0;

  const skip = (pattern: RegExp): void => {
    pattern.lastIndex = position;
    if (pattern.exec(header)) position = pattern.lastIndex;
  };
  const read = (pattern: RegExp): string | undefined => {
    pattern.lastIndex = position;
    const match = pattern.exec(header);
    if (!match) return undefined;
    position = pattern.lastIndex;
    return match[0];
  };
  const spaces = /[ \t]*/y;
  const separators = /[ \t,]*/y;

  while (position < header.length) {
    skip(separators);
    const scheme = read(TOKEN);
    if (scheme === undefined) break;
    const params: Record<string, string> = {};
    challenges.push({ scheme: scheme.toLowerCase(), params });
    skip(spaces);
    while (position < header.length) {
      const start = position;
      skip(separators);
      const name = read(TOKEN);
      if (name === undefined) break;
      skip(spaces);
      if (header[position] !== "=") {
        // A bare token: the next challenge's scheme.
        position = start;
        break;
      }
      position++;
      skip(spaces);
      // `abc==`: the padding of a token68, not a parameter.
      const value =
        header[position] === "=" ? undefined : header[position] === '"' ? readQuoted() : read(BARE_VALUE);
      if (value === undefined) {
        // Not `name=value` after all but a token68 ending in "=" (`Basic abc==`): read it below.
        position = start;
        break;
      }
      params[name.toLowerCase()] = value;
      skip(spaces);
      if (header[position] !== "," && position < header.length) break;
    }
    if (Object.keys(params).length === 0) {
      // A token68 credential has no name; it is kept under the empty key.
      skip(spaces);
      const token68 = read(TOKEN68);
      if (token68 !== undefined) params[""] = token68;
    }
  }
  return challenges;

  function readQuoted(): string {
    let value = "";
    position++;
    while (position < header.length) {
      const char = header[position++];
      if (char === '"') return value;
      if (char === "\\" && position < header.length) value += header[position++];
      else value += char;
    }
    return value;
  }
}
