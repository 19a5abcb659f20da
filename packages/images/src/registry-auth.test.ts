import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  authFilePaths,
  type CredentialHelperRunner,
  RegistryAuthError,
  resolveRegistryAuth,
  writeAuthFile,
} from "./registry-auth.ts";

const REGISTRY = "registry.example:5000";
const basic = (user: string, password: string) => Buffer.from(`${user}:${password}`).toString("base64");

let home: string;
beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), "volpop-auth-"));
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

/** Writes `files` (relative to the scratch home) and answers an env that points every lookup there. */
function machine(files: Record<string, unknown>, extraEnv: NodeJS.ProcessEnv = {}) {
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(home, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content));
  }
  return {
    env: { XDG_RUNTIME_DIR: path.join(home, "run"), PATH: "", ...extraEnv },
    home,
    uid: 4242,
  };
}

/** A credential helper that knows `logins` by server and records who asked. */
function fakeHelpers(logins: Record<string, Record<string, { Username: string; Secret: string }>>) {
  const asked: string[] = [];
  const runHelper: CredentialHelperRunner = async (helper, server) => {
    asked.push(`${helper} ${server}`);
    const login = logins[helper]?.[server];
    if (login === undefined)
      throw Object.assign(new Error("exit 1"), { stdout: "credentials not found in native keychain" });
    return JSON.stringify({ ServerURL: server, ...login });
  };
  return { asked, runHelper };
}

describe("authFilePaths", () => {
  it("reads containers-auth.json(5)'s files, then Docker's, in their order", () => {
    expect(authFilePaths({ XDG_RUNTIME_DIR: "/run/user/7" }, 7, "/home/u")).toEqual([
      "/run/user/7/containers/auth.json",
      "/home/u/.config/containers/auth.json",
      "/home/u/.docker/config.json",
      "/home/u/.dockercfg",
    ]);
  });

  it("falls back to /run/containers/<uid>/auth.json without XDG_RUNTIME_DIR, as podman and buildah do", () => {
    expect(authFilePaths({}, 0, "/root")[0]).toBe("/run/containers/0/auth.json");
  });

  it("lets $XDG_CONFIG_HOME and $DOCKER_CONFIG move their files", () => {
    expect(authFilePaths({ XDG_CONFIG_HOME: "/cfg", DOCKER_CONFIG: "/dk" }, 0, "/h")).toEqual([
      "/run/containers/0/auth.json",
      "/cfg/containers/auth.json",
      "/dk/config.json",
      "/h/.dockercfg",
    ]);
  });

  it("reads only $REGISTRY_AUTH_FILE when it is set, as containers/image does with --authfile", () => {
    expect(authFilePaths({ REGISTRY_AUTH_FILE: "/a/auth.json", DOCKER_CONFIG: "/dk" }, 0, "/h")).toEqual([
      "/a/auth.json",
    ]);
  });
});

describe("resolveRegistryAuth", () => {
  it("takes $REGISTRY_AUTH_FILE's login, and never another file's when it has none", async () => {
    const m = machine(
      {
        "auth.json": { auths: { [REGISTRY]: { auth: basic("podman-user", "p1") } } },
        ".docker/config.json": {
          auths: {
            [REGISTRY]: { auth: basic("docker-user", "p2") },
            "quay.io": { auth: basic("personal", "p3") },
          },
        },
      },
      { REGISTRY_AUTH_FILE: path.join(home, "auth.json") },
    );
    const auth = await resolveRegistryAuth(REGISTRY, m);
    expect(auth.credentials).toEqual({ username: "podman-user", password: "p1" });
    expect(auth.source).toBe(`${path.join(home, "auth.json")} (auths "${REGISTRY}")`);
    expect((await resolveRegistryAuth("quay.io", m)).credentials).toBeUndefined();
  });

  it("picks a namespace's own login over the host's, longest first (containers-auth.json keys)", async () => {
    const m = machine({
      "run/containers/auth.json": {
        auths: {
          "quay.io": { auth: basic("host-robot", "h") },
          "quay.io/acme": { auth: basic("acme-robot", "a") },
          "quay.io/other": { auth: basic("other-robot", "o") },
          "quay.io/acme/team": { auth: basic("team-robot", "t") },
        },
      },
    });
    const who = async (target: string) => (await resolveRegistryAuth(target, m)).credentials?.username;
    expect(await who("quay.io/acme")).toBe("acme-robot");
    expect(await who("quay.io/acme/team")).toBe("team-robot");
    expect(await who("quay.io/acmeish")).toBe("host-robot");
    expect(await who("quay.io")).toBe("host-robot");
  });

  it("reads a Docker key with a scheme as its host only", async () => {
    const m = machine({
      ".docker/config.json": { auths: { [`https://${REGISTRY}/v1/`]: { auth: basic("u", "p") } } },
    });
    expect((await resolveRegistryAuth(`${REGISTRY}/team`, m)).credentials).toEqual({
      username: "u",
      password: "p",
    });
  });

  it("ignores a broken entry for another registry", async () => {
    const m = machine({
      ".docker/config.json": {
        auths: { "other.example": { auth: "bm9jb2xvbg==" }, [REGISTRY]: { auth: basic("u", "p") } },
      },
    });
    expect((await resolveRegistryAuth(REGISTRY, m)).credentials).toEqual({ username: "u", password: "p" });
  });

  it("reads podman's runtime auth file (the one `podman login` writes)", async () => {
    const m = machine({ "run/containers/auth.json": { auths: { [REGISTRY]: { auth: basic("u", "p") } } } });
    expect((await resolveRegistryAuth(REGISTRY, m)).credentials).toEqual({ username: "u", password: "p" });
  });

  it("asks the credsStore helper of a Docker config that has no auths (Docker Desktop's shape)", async () => {
    const m = machine({ ".docker/config.json": { credsStore: "desktop" } });
    const { asked, runHelper } = fakeHelpers({ desktop: { [REGISTRY]: { Username: "d", Secret: "s" } } });
    const auth = await resolveRegistryAuth(REGISTRY, { ...m, runHelper });
    expect(auth.credentials).toEqual({ username: "d", password: "s" });
    expect(auth.source).toContain('credsStore "desktop"');
    expect(asked).toEqual([`desktop ${REGISTRY}`]);
  });

  it("pushes anonymously when the credsStore helper has no login for the registry, instead of failing", async () => {
    const m = machine({ ".docker/config.json": { credsStore: "desktop" } });
    const auth = await resolveRegistryAuth(REGISTRY, { ...m, ...fakeHelpers({}) });
    expect(auth.credentials).toBeUndefined();
    expect(auth.source).toMatch(/^none/);
  });

  it("ignores Docker config keys that are not logins (proxies, plugins, …)", async () => {
    const m = machine({ ".docker/config.json": { proxies: { default: { httpProxy: "http://p:3128" } } } });
    expect((await resolveRegistryAuth(REGISTRY, m)).credentials).toBeUndefined();
  });

  it("prefers the registry's credHelpers entry to credsStore and auths; other registries' entries are not asked", async () => {
    const m = machine({
      ".docker/config.json": {
        credHelpers: { "other.example": "ecr-login", [REGISTRY]: "gcloud" },
        credsStore: "desktop",
        auths: { [REGISTRY]: { auth: basic("stale", "old") } },
      },
    });
    const { asked, runHelper } = fakeHelpers({ gcloud: { [REGISTRY]: { Username: "g", Secret: "t" } } });
    expect((await resolveRegistryAuth(REGISTRY, { ...m, runHelper })).credentials).toEqual({
      username: "g",
      password: "t",
    });
    expect(asked).toEqual([`gcloud ${REGISTRY}`]);
  });

  it("does not fall back to a stale auths entry when the credsStore helper has nothing, as Docker", async () => {
    const m = machine({
      ".docker/config.json": {
        credsStore: "desktop",
        auths: { [REGISTRY]: { auth: basic("stale", "old") } },
      },
    });
    const auth = await resolveRegistryAuth(REGISTRY, { ...m, ...fakeHelpers({}) });
    expect(auth.credentials).toBeUndefined();
  });

  it("turns a helper's <token> user into an identity token", async () => {
    const m = machine({ ".docker/config.json": { credsStore: "desktop" } });
    const { runHelper } = fakeHelpers({
      desktop: { [REGISTRY]: { Username: "<token>", Secret: "refresh" } },
    });
    expect((await resolveRegistryAuth(REGISTRY, { ...m, runHelper })).credentials).toEqual({
      identityToken: "refresh",
    });
  });

  it("asks helpers for Docker Hub under Docker's historical server URL", async () => {
    const m = machine({ ".docker/config.json": { credsStore: "desktop" } });
    const { asked, runHelper } = fakeHelpers({});
    await resolveRegistryAuth("index.docker.io", { ...m, runHelper });
    // The fake is handed what the real runner turns into stdin: the normalised host.
    expect(asked).toEqual(["desktop docker.io"]);
  });

  it("reads the legacy ~/.dockercfg, a map of hosts without auths", async () => {
    const m = machine({ ".dockercfg": { [`https://${REGISTRY}`]: { auth: basic("old", "school") } } });
    expect((await resolveRegistryAuth(REGISTRY, m)).credentials).toEqual({
      username: "old",
      password: "school",
    });
  });

  it("ignores the path part of a registry with a path", async () => {
    const m = machine({ ".docker/config.json": { auths: { [REGISTRY]: { auth: basic("u", "p") } } } });
    expect((await resolveRegistryAuth(`${REGISTRY}/team/project`, m)).credentials).toEqual({
      username: "u",
      password: "p",
    });
  });

  it("runs a real docker-credential-<name> from PATH, giving it the registry on stdin", async () => {
    const bin = path.join(home, "bin");
    fs.mkdirSync(bin);
    const helper = path.join(bin, "docker-credential-volpoptest");
    fs.writeFileSync(
      helper,
      `#!/bin/sh\n[ "$1" = get ] || exit 2\nread server\nprintf '{"ServerURL":"%s","Username":"from-%s","Secret":"x"}' "$server" "$server"\n`,
      { mode: 0o755 },
    );
    const m = machine(
      { ".docker/config.json": { credsStore: "volpoptest" } },
      { PATH: `${bin}:/usr/bin:/bin` },
    );
    expect((await resolveRegistryAuth(REGISTRY, m)).credentials).toEqual({
      username: `from-${REGISTRY}`,
      password: "x",
    });
  });

  const refusals: Array<{
    name: string;
    files: Record<string, unknown>;
    runHelper?: CredentialHelperRunner;
    error: RegExp;
  }> = [
    {
      name: "an auth file that is not JSON (the parser's message would quote the password)",
      files: { ".docker/config.json": '{"auths":{"r":{"auth":"hunter2" "x"}}}' },
      error: /config\.json: not valid JSON$/,
    },
    {
      name: "an auths entry whose auth is not base64 of user:password",
      files: { ".docker/config.json": { auths: { [REGISTRY]: { auth: "bm9jb2xvbg==" } } } },
      error: /config\.json: entry "registry\.example:5000": "auth" is not base64/,
    },
    {
      name: "a credsStore that names a path rather than a helper",
      files: { ".docker/config.json": { credsStore: "../../tmp/evil" } },
      error: /"credsStore" is not a helper name/,
    },
    {
      name: "a credHelpers entry that is not a string",
      files: { ".docker/config.json": { credHelpers: { [REGISTRY]: 7 } } },
      error: /credHelpers\["registry\.example:5000"\] is not a helper name/,
    },
    {
      name: "a helper that is not installed",
      files: { ".docker/config.json": { credsStore: "absent" } },
      error: /docker-credential-absent failed for registry\.example:5000: not found on PATH/,
    },
    {
      name: "a helper that answers something other than JSON",
      files: { ".docker/config.json": { credsStore: "broken" } },
      runHelper: async () => "Password: hunter2",
      error: /docker-credential-broken did not answer JSON/,
    },
    {
      name: "a helper that fails for another reason than a missing login",
      files: { ".docker/config.json": { credsStore: "locked" } },
      runHelper: async () => {
        throw Object.assign(new Error("exit 1"), { stderr: "keychain is locked", stdout: "hunter2" });
      },
      error: /docker-credential-locked failed for registry\.example:5000: keychain is locked/,
    },
  ];
  it.each(refusals)(
    "refuses $name, naming the file or helper and no secret",
    async ({ files, runHelper, error }) => {
      const m = machine(files);
      const resolving = resolveRegistryAuth(REGISTRY, { ...m, ...(runHelper ? { runHelper } : {}) });
      await expect(resolving).rejects.toThrow(RegistryAuthError);
      await expect(resolving).rejects.toThrow(error);
      await expect(resolving).rejects.not.toThrow(/hunter2/);
    },
  );
});

describe("writeAuthFile", () => {
  it("writes the login as a containers auth file only its owner can read", () => {
    const file = writeAuthFile(home, {
      registry: REGISTRY,
      credentials: { username: "u", password: "p:w" },
      source: "test",
    });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(fs.readFileSync(file, "utf8"))).toEqual({
      auths: { [REGISTRY]: { auth: basic("u", "p:w") } },
    });
  });

  it("writes an empty one for an anonymous push, so buildah does not find a login of its own", () => {
    const file = writeAuthFile(home, { registry: REGISTRY, source: "none" });
    expect(JSON.parse(fs.readFileSync(file, "utf8"))).toEqual({ auths: {} });
  });
});
