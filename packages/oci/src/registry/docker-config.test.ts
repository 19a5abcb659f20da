import { describe, expect, it } from "vitest";
import { credentialsFor, normaliseRegistryHost, parseDockerConfig } from "./docker-config.ts";
import { RegistryConfigError } from "./errors.ts";

const base64 = (text: string): string => Buffer.from(text).toString("base64");

describe("parseDockerConfig", () => {
  it("reads auth as base64 user:password, keeping colons in the password", () => {
    const store = parseDockerConfig(
      JSON.stringify({ auths: { "registry.example.com:5000": { auth: base64("bob:pa:ss") } } }),
    );
    expect(credentialsFor(store, "registry.example.com:5000")).toEqual({
      username: "bob",
      password: "pa:ss",
    });
  });

  it("reads separate username and password, and prefers auth when both are given", () => {
    const store = parseDockerConfig({
      auths: {
        "a.example.com": { username: "ann", password: "one" },
        "b.example.com": { username: "ignored", password: "ignored", auth: base64("bea:two") },
      },
    });
    expect(credentialsFor(store, "a.example.com")).toEqual({ username: "ann", password: "one" });
    expect(credentialsFor(store, "b.example.com")).toEqual({ username: "bea", password: "two" });
  });

  it("files Docker Hub's historical key under docker.io", () => {
    const store = parseDockerConfig({
      auths: { "https://index.docker.io/v1/": { auth: base64("hub:secret") } },
    });
    expect([...store.keys()]).toEqual(["docker.io"]);
    expect(credentialsFor(store, "docker.io")).toEqual({ username: "hub", password: "secret" });
    expect(credentialsFor(store, "registry-1.docker.io")).toEqual({ username: "hub", password: "secret" });
  });

  it("accepts bytes and the legacy .dockercfg shape without auths", () => {
    const store = parseDockerConfig(Buffer.from(JSON.stringify({ "quay.io": { auth: base64("q:w") } })));
    expect(credentialsFor(store, "quay.io")).toEqual({ username: "q", password: "w" });
  });

  it("keeps identity and registry tokens", () => {
    const store = parseDockerConfig({
      auths: { "r.io": { identitytoken: "refresh", registrytoken: "bearer" } },
    });
    expect(credentialsFor(store, "r.io")).toEqual({ identityToken: "refresh", registryToken: "bearer" });
  });

  it("skips entries that grant nothing", () => {
    expect(parseDockerConfig({ auths: { "r.io": { email: "x@example.com" } } }).size).toBe(0);
  });

  it.each([
    ["not JSON", "{", /not valid JSON/],
    ["an array", "[]", /must be a JSON object/],
    [
      "an entry that is not an object",
      JSON.stringify({ auths: { "r.io": "x" } }),
      /entry "r.io" must be an object/,
    ],
    [
      "auth without a colon",
      JSON.stringify({ auths: { "r.io": { auth: base64("nocolon") } } }),
      /"auth" is not base64/,
    ],
    [
      "a numeric password",
      JSON.stringify({ auths: { "r.io": { username: "u", password: 1 } } }),
      /"password" must be a string/,
    ],
  ])("refuses %s with a RegistryConfigError", (_, payload, message) => {
    expect(() => parseDockerConfig(payload)).toThrow(RegistryConfigError);
    expect(() => parseDockerConfig(payload)).toThrow(message);
  });

  it("never puts the secret in its error messages", () => {
    const payload = JSON.stringify({ auths: { "r.io": { auth: base64("only-a-secret-no-colon") } } });
    expect(() => parseDockerConfig(payload)).not.toThrow(/only-a-secret/);
  });
});

describe("normaliseRegistryHost", () => {
  it.each([
    ["https://registry.example.com/v2/", "registry.example.com"],
    ["Registry.Example.com:5000", "registry.example.com:5000"],
    ["index.docker.io", "docker.io"],
    ["registry-1.docker.io", "docker.io"],
    ["http://localhost:5000", "localhost:5000"],
  ])("writes %s as %s", (input, expected) => {
    expect(normaliseRegistryHost(input)).toBe(expected);
  });
});
