import { describe, expect, it } from "vitest";
import { parseWwwAuthenticate } from "./www-authenticate.ts";

describe("parseWwwAuthenticate", () => {
  it("reads Docker Hub's bearer challenge", () => {
    expect(
      parseWwwAuthenticate(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"',
      ),
    ).toEqual([
      {
        scheme: "bearer",
        params: {
          realm: "https://auth.docker.io/token",
          service: "registry.docker.io",
          scope: "repository:library/busybox:pull",
        },
      },
    ]);
  });

  it("reads a basic challenge and lower-cases scheme and parameter names", () => {
    expect(parseWwwAuthenticate('BASIC Realm="Registry Realm"')).toEqual([
      { scheme: "basic", params: { realm: "Registry Realm" } },
    ]);
  });

  it("splits challenges that Node joined with a comma", () => {
    const challenges = parseWwwAuthenticate('Bearer realm="https://t/token",service="s", Basic realm="r"');
    expect(challenges.map((c) => c.scheme)).toEqual(["bearer", "basic"]);
    expect(challenges[0]?.params).toEqual({ realm: "https://t/token", service: "s" });
    expect(challenges[1]?.params).toEqual({ realm: "r" });
  });

  it("keeps commas, spaces and escaped quotes inside quoted values", () => {
    expect(
      parseWwwAuthenticate('Bearer scope="repository:a:pull,push repository:b:pull", error="say \\"no\\""'),
    ).toEqual([
      { scheme: "bearer", params: { scope: "repository:a:pull,push repository:b:pull", error: 'say "no"' } },
    ]);
  });

  it("reads unquoted values and a token68", () => {
    expect(parseWwwAuthenticate("Bearer realm=https://t/token, service=reg")).toEqual([
      { scheme: "bearer", params: { realm: "https://t/token", service: "reg" } },
    ]);
    expect(parseWwwAuthenticate("Negotiate abc123==")).toEqual([
      { scheme: "negotiate", params: { "": "abc123==" } },
    ]);
  });

  it("returns nothing for an empty header", () => {
    expect(parseWwwAuthenticate("")).toEqual([]);
  });
});
