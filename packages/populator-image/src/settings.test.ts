import { CliUsageError } from "@volpop/sdk";
import { describe, expect, it } from "vitest";
import { DEFAULT_SETTINGS, type ImagePopulatorSettings, settingsArgs, settingsFromArgs } from "./settings.ts";

const PROGRAM = { namespace: "volpop-image", version: "0.0.0", programName: "image-populator" };
const parse = (...args: string[]) => settingsFromArgs(["--mode=controller", ...args], PROGRAM);

describe("the image populator's settings", () => {
  it("default to an hour's deadline and credentials to the registry's own host over TLS only", () => {
    expect(parse()).toEqual({ populationDeadlineMs: 3_600_000, credentialPolicy: {} });
    expect(DEFAULT_SETTINGS).toEqual(parse());
  });

  it("read the deadline and where the admin lets credentials go from the flags", () => {
    expect(
      parse(
        "--population-deadline=90m",
        "--allow-credentials-over-http=registry.local:5000, 10.0.0.7",
        "--allow-token-realm=registry.example.com=sso.example.com,registry.example.com=sso2.example.com:8443",
        "--allow-credentials-with-source-ca=registry.corp:5000,sso.corp",
      ),
    ).toEqual({
      populationDeadlineMs: 90 * 60_000,
      credentialPolicy: {
        plainHttpHosts: ["registry.local:5000", "10.0.0.7"],
        tokenRealmHosts: { "registry.example.com": ["sso.example.com", "sso2.example.com:8443"] },
        sourceCaHosts: ["registry.corp:5000", "sso.corp"],
      },
    });
  });

  it.each([
    [["--population-deadline=soon"], /^--population-deadline: invalid duration "soon"/],
    [["--population-deadline=0s"], /^invalid --population-deadline "0s": must be positive$/],
    [
      ["--allow-credentials-over-http=http://registry.local"],
      /^--allow-credentials-over-http: "http:\/\/registry.local" is not a host or host:port$/,
    ],
    [
      ["--allow-credentials-with-source-ca=https://registry.corp"],
      /^--allow-credentials-with-source-ca: "https:\/\/registry.corp" is not a host or host:port$/,
    ],
    [
      ["--allow-token-realm=sso.example.com"],
      /^--allow-token-realm: "sso.example.com" is not registry=realm-host$/,
    ],
  ])("refuse %j", (args, message) => {
    const error = (() => {
      try {
        parse(...args);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(CliUsageError);
    expect((error as Error).message).toMatch(message);
    expect((error as CliUsageError).usage).toContain("--population-deadline");
  });

  it("leave a command line they cannot read to the SDK, which reports it", () => {
    expect(settingsFromArgs(["--no-such-flag"], PROGRAM)).toEqual(DEFAULT_SETTINGS);
    expect(settingsFromArgs(["--help"], PROGRAM)).toEqual(DEFAULT_SETTINGS);
  });

  it("are handed on as the flags that give them back, defaults left out", () => {
    const settings: ImagePopulatorSettings = {
      populationDeadlineMs: 90_500,
      credentialPolicy: {
        plainHttpHosts: ["registry.local:5000"],
        tokenRealmHosts: { "registry.example.com": ["sso.example.com"] },
        sourceCaHosts: ["registry.corp:5000"],
      },
    };
    const args = settingsArgs(settings);
    expect(args).toEqual([
      "--population-deadline=1m30.5s",
      "--allow-credentials-over-http=registry.local:5000",
      "--allow-token-realm=registry.example.com=sso.example.com",
      "--allow-credentials-with-source-ca=registry.corp:5000",
    ]);
    expect(settingsFromArgs(["--mode=populate", ...args], PROGRAM)).toEqual(settings);
    expect(settingsArgs(DEFAULT_SETTINGS)).toEqual([]);
  });
});
