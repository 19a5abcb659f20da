import { describe, expect, it } from "vitest";
import { repositoryWebUrl } from "./repository.ts";

describe("the repository's web URL", () => {
  it.each([
    ["a plain URL", undefined, "https://example.com/owner/volpop", "https://example.com/owner/volpop"],
    [
      "npm's git+…git form",
      undefined,
      "git+https://example.com/owner/volpop.git",
      "https://example.com/owner/volpop",
    ],
    [
      "an object with a url",
      undefined,
      { type: "git", url: "https://example.com/o/v/" },
      "https://example.com/o/v",
    ],
    [
      "the environment, over package.json",
      "https://example.org/fork/volpop",
      "https://example.com/o/v",
      "https://example.org/fork/volpop",
    ],
    ["nothing", undefined, undefined, undefined],
  ])("comes from %s", (_, env, field, expected) => {
    expect(repositoryWebUrl(env, field)).toBe(expected);
  });

  it.each([
    [
      "an ssh remote",
      undefined,
      "git@example.com:owner/volpop.git",
      /package\.json "repository": "git@example\.com:owner\/volpop\.git" is not the web URL/,
    ],
    [
      "a host alone",
      "https://example.com",
      undefined,
      /\$VOLPOP_DOCS_REPOSITORY_URL: "https:\/\/example\.com" is not the web URL/,
    ],
  ])("refuses %s, naming where it came from", (_, env, field, message) => {
    expect(() => repositoryWebUrl(env, field)).toThrow(message);
  });
});
