import { X509Certificate } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import {
  BACKDATE_MS,
  type CertificateDecision,
  decideCertificate,
  issueCertificate,
  RENEW_BEFORE_MS,
  SERVING_VALIDITY_MS,
  type ServingCertificate,
  servingDnsNames,
} from "./certificates.ts";

const DAY = 24 * 3600_000;
// Whole seconds: certificates keep no milliseconds.
const NOW = Date.parse("2026-03-01T12:00:00Z");
const names = servingDnsNames("validator-webhook", "volpop-system");

let current: ServingCertificate;
let other: ServingCertificate;
let shortCa: ServingCertificate;

beforeAll(async () => {
  current = await issueCertificate({ dnsNames: names, nowMs: NOW });
  other = await issueCertificate({ dnsNames: names, nowMs: NOW });
  shortCa = await issueCertificate({ dnsNames: names, nowMs: NOW, caValidityMs: 40 * DAY });
});

describe("servingDnsNames", () => {
  it("puts the name the API server asks for first", () => {
    expect(names).toEqual([
      "validator-webhook.volpop-system.svc",
      "validator-webhook.volpop-system",
      "validator-webhook",
    ]);
  });
});

describe("decideCertificate", () => {
  const decide = (stored: Partial<ServingCertificate> | undefined, nowMs = NOW, dnsNames = names) =>
    decideCertificate(stored, { dnsNames, nowMs });

  it("keeps a certificate with more than 30 days left", () => {
    expect(decide(current)).toEqual({ action: "keep", notAfter: new Date(NOW + SERVING_VALIDITY_MS) });
    expect(decide(current, NOW + SERVING_VALIDITY_MS - RENEW_BEFORE_MS - 1000).action).toBe("keep");
  });

  it.each<[string, () => Partial<ServingCertificate> | undefined, number, CertificateDecision]>([
    ["nothing stored", () => undefined, NOW, { action: "create", reason: "there is no CA yet" }],
    [
      "a Secret without a CA key",
      () => ({ ...current, caKey: "" }),
      NOW,
      { action: "create", reason: "there is no CA yet" },
    ],
    [
      "an unreadable CA",
      () => ({ ...current, caCert: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n" }),
      NOW,
      { action: "create", reason: "the CA certificate cannot be read" },
    ],
    [
      "an unreadable CA key",
      () => ({ ...current, caKey: "garbage" }),
      NOW,
      { action: "create", reason: "the CA private key cannot be read" },
    ],
    [
      "a CA with another CA's key",
      () => ({ ...current, caKey: other.caKey }),
      NOW,
      { action: "create", reason: "the CA does not match its private key" },
    ],
    [
      "a serving certificate in the CA's place",
      () => ({ ...current, caCert: current.cert, caKey: current.key }),
      NOW,
      { action: "create", reason: "the CA certificate is not a CA" },
    ],
    [
      "a CA with 29 days left",
      () => shortCa,
      NOW + 11 * DAY,
      { action: "create", reason: "the CA expires in 29 days (2026-04-10T12:00:00.000Z)" },
    ],
    [
      "a CA not valid yet (the clock went back)",
      () => current,
      NOW - BACKDATE_MS - 1000,
      { action: "create", reason: "the CA is not valid before 2026-03-01T11:00:00.000Z" },
    ],
    [
      "a Secret without a serving certificate",
      () => ({ caCert: current.caCert, caKey: current.caKey }),
      NOW,
      { action: "issue", reason: "there is no serving certificate yet" },
    ],
    [
      "a serving certificate of another CA",
      () => ({ ...current, cert: other.cert, key: other.key }),
      NOW,
      { action: "issue", reason: "the serving certificate was not signed by the CA" },
    ],
    [
      "a serving certificate with another key",
      () => ({ ...current, key: other.key }),
      NOW,
      { action: "issue", reason: "the serving certificate does not match its private key" },
    ],
    [
      "a serving certificate with 29 days left",
      () => current,
      NOW + SERVING_VALIDITY_MS - 29 * DAY,
      { action: "issue", reason: "the serving certificate expires in 29 days (2027-03-01T12:00:00.000Z)" },
    ],
    [
      "an expired serving certificate",
      () => current,
      NOW + SERVING_VALIDITY_MS + DAY,
      { action: "issue", reason: "the serving certificate expired at 2027-03-01T12:00:00.000Z" },
    ],
  ])("decides about %s", (_title, stored, nowMs, expected) => {
    expect(decide(stored(), nowMs)).toEqual(expected);
  });

  it("issues a new serving certificate when the Service or namespace changed", () => {
    expect(decide(current, NOW, servingDnsNames("validator-webhook", "elsewhere"))).toEqual({
      action: "issue",
      reason: "the serving certificate does not name validator-webhook.elsewhere.svc",
    });
  });
});

describe("issueCertificate", () => {
  it("makes a CA and a serving certificate for every name, for server authentication only", () => {
    const ca = new X509Certificate(current.caCert);
    const serving = new X509Certificate(current.cert);
    expect(ca.ca).toBe(true);
    expect(serving.ca).toBe(false);
    expect(serving.verify(ca.publicKey)).toBe(true);
    expect(serving.checkIssued(ca)).toBe(true);
    expect(serving.subject).toBe("CN=validator-webhook.volpop-system.svc");
    for (const name of names) expect(serving.checkHost(name)).toBe(name);
    expect(serving.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1"]);
    expect(serving.publicKey.asymmetricKeyDetails).toEqual({ namedCurve: "prime256v1" });
    expect(serving.validFromDate.getTime()).toBe(NOW - BACKDATE_MS);
    expect(serving.validToDate.getTime()).toBe(NOW + SERVING_VALIDITY_MS);
    expect(ca.validToDate.getTime()).toBe(NOW + 10 * 365 * DAY);
    expect(current.key).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(current.caKey).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
  });

  it("signs with the CA it is given, so that the caBundle stays", async () => {
    const renewed = await issueCertificate({ dnsNames: names, nowMs: NOW + 300 * DAY, ca: current });
    expect(renewed.caCert).toBe(current.caCert);
    expect(renewed.caKey).toBe(current.caKey);
    expect(renewed.key).not.toBe(current.key);
    expect(decideCertificate(renewed, { dnsNames: names, nowMs: NOW + 300 * DAY }).action).toBe("keep");
  });

  it("never lets a serving certificate outlive its CA", () => {
    expect(new X509Certificate(shortCa.cert).validToDate.getTime()).toBe(NOW + 40 * DAY);
  });

  it("needs a DNS name", async () => {
    await expect(issueCertificate({ dnsNames: [], nowMs: NOW })).rejects.toThrow(RangeError);
  });
});
