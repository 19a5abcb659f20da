import fs from "node:fs";
import { makeTempDir, removeTempDir } from "@volpop/oci-testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ImageSourceSpec } from "../image-source.ts";
import { PopulateError, PopulateErrorCode } from "./errors.ts";
import { checkOwnerApplicable, effectiveCapabilities, type OwnerCheckOptions } from "./owner-check.ts";

type OwnerSpec = Pick<ImageSourceSpec, "owner" | "fileMode" | "dirMode">;

/** A /proc/self/status text with `capEff` as its effective set. */
function status(capEff: string): string {
  return `Name:\tnode\nUid:\t0\t0\t0\t0\nCapInh:\t0000000000000000\nCapPrm:\t${capEff}\nCapEff:\t${capEff}\nCapBnd:\t000001ffffffffff\n`;
}

const withStatus = (text: string | undefined): OwnerCheckOptions => ({ processStatus: async () => text });

/** This process's own ids: chowning to them works for any user, so only the capability check decides. */
const OWN = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
const OTHER = { uid: 1000, gid: 1000 };

// CapEff bits: CHOWN 0, DAC_OVERRIDE 1, FOWNER 3, FSETID 4.
const NONE = "0000000000000000";
const CHOWN = "0000000000000001";
const CHOWN_FOWNER = "0000000000000009";
const CHOWN_DAC_FOWNER = "000000000000000b";
const WITH_FSETID = "000000000000001b";
const ALL = "000001ffffffffff";

describe("checkOwnerApplicable", () => {
  let volume: string;
  beforeEach(() => {
    volume = makeTempDir("volpop-owner-");
  });
  afterEach(() => removeTempDir(volume));

  async function failureOf(spec: OwnerSpec, options: OwnerCheckOptions): Promise<PopulateError> {
    const error = await checkOwnerApplicable(volume, spec, options).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    if (!(error instanceof PopulateError)) throw new Error(`expected a PopulateError, got ${String(error)}`);
    return error;
  }

  it.each<[string, string, OwnerSpec, string]>([
    [
      "all capabilities dropped, as in a non-root pod",
      NONE,
      { owner: OTHER },
      "the CHOWN, FOWNER and DAC_OVERRIDE capabilities",
    ],
    ["CHOWN alone", CHOWN, { owner: OTHER }, "the FOWNER and DAC_OVERRIDE capabilities"],
    ["CHOWN and FOWNER", CHOWN_FOWNER, { owner: OTHER }, "the DAC_OVERRIDE capability"],
    [
      "no FSETID for a forced setgid mode",
      CHOWN_DAC_FOWNER,
      { owner: OTHER, dirMode: 0o2775 },
      "the FSETID capability",
    ],
  ])("refuses before touching the volume with %s", async (_, capEff, spec, missing) => {
    const error = await failureOf(spec, withStatus(status(capEff)));
    expect(error.code).toBe(PopulateErrorCode.OwnerNotApplicable);
    expect(error.message).toBe(
      `spec.owner 1000:1000 cannot be applied: the populator pod lacks ${missing} (it runs as uid ${OWN.uid})`,
    );
    expect(fs.readdirSync(volume)).toEqual([]);
  });

  it.each<[string, string | undefined, OwnerSpec]>([
    ["CHOWN, FOWNER and DAC_OVERRIDE", status(CHOWN_DAC_FOWNER), { owner: OWN, fileMode: 0o4755 }],
    ["FSETID as well for a forced setgid mode", status(WITH_FSETID), { owner: OWN, dirMode: 0o2775 }],
    ["every capability", status(ALL), { owner: OWN }],
    ["no /proc/self/status (not Linux), when the chown works", undefined, { owner: OWN }],
    ["a status without CapEff, when the chown works", "Name:\tnode\n", { owner: OWN }],
  ])("accepts a process with %s, leaving no probe behind", async (_, text, spec) => {
    await checkOwnerApplicable(volume, spec, withStatus(text));
    expect(fs.readdirSync(volume)).toEqual([]);
  });

  it("checks nothing without spec.owner", async () => {
    const options: OwnerCheckOptions = {
      processStatus: () => Promise.reject(new Error("read the status")),
      lchown: () => Promise.reject(new Error("chowned")),
    };
    await checkOwnerApplicable(volume, { dirMode: 0o2775 }, options);
    expect(fs.readdirSync(volume)).toEqual([]);
  });

  it.each(["EPERM", "EINVAL"])(
    "refuses when the volume will not change an owner (%s) although the capabilities are there",
    async (code) => {
      const refusal = Object.assign(new Error(`${code}: lchown`), { code });
      const error = await failureOf(
        { owner: OTHER },
        { ...withStatus(status(ALL)), lchown: () => Promise.reject(refusal) },
      );
      expect(error.code).toBe(PopulateErrorCode.OwnerNotApplicable);
      expect(error.message).toBe(
        `spec.owner 1000:1000 cannot be applied: the volume refused to give a file to that owner (${code})`,
      );
      expect(error.cause).toBe(refusal);
      expect(fs.readdirSync(volume)).toEqual([]);
    },
  );

  it("passes on other failures of the probe as they are", async () => {
    const failure = Object.assign(new Error("EIO: lchown"), { code: "EIO" });
    await expect(
      checkOwnerApplicable(
        volume,
        { owner: OTHER },
        { ...withStatus(status(ALL)), lchown: () => Promise.reject(failure) },
      ),
    ).rejects.toBe(failure);
    expect(fs.readdirSync(volume)).toEqual([]);
  });
});

describe("effectiveCapabilities", () => {
  it.each<[string, string, bigint | undefined]>([
    ["none", status(NONE), 0n],
    ["CHOWN, DAC_OVERRIDE and FOWNER", status(CHOWN_DAC_FOWNER), 0b1011n],
    ["all of a recent kernel's", status(ALL), 0x1ffffffffffn],
    ["nothing from a status without CapEff", "Name:\tnode\nCapPrm:\t0000000000000001\n", undefined],
  ])("reads %s", (_, text, expected) => {
    expect(effectiveCapabilities(text)).toBe(expected);
  });

  it.runIf(process.platform === "linux")("reads this process's own set", () => {
    expect(typeof effectiveCapabilities(fs.readFileSync("/proc/self/status", "utf8"))).toBe("bigint");
  });
});
