/**
 * The webhook's serving certificate, made by the validator itself (no cert-manager): a private CA
 * whose certificate becomes the `caBundle` of the ValidatingWebhookConfiguration, and a serving
 * certificate it signs for `<service>.<namespace>.svc`, the name the API server checks.
 *
 * {@link decideCertificate} says, from what is stored and the time, whether to keep it, issue a new
 * serving certificate from the same CA (the `caBundle` stays), or start over with a new CA;
 * {@link issueCertificate} makes what the decision asks for. Reading uses node:crypto's
 * `X509Certificate`; making uses `@peculiar/x509` on node:crypto's WebCrypto (ECDSA P-256 keys,
 * generated natively).
 */
import { createPrivateKey, randomBytes, webcrypto, X509Certificate } from "node:crypto";
import type * as X509 from "@peculiar/x509";

/** A year: how long a serving certificate is valid (capped at its CA's end). */
export const SERVING_VALIDITY_MS = 365 * 24 * 3600_000;
/** Ten years: how long a CA is valid; its renewal changes the `caBundle`. */
export const CA_VALIDITY_MS = 10 * 365 * 24 * 3600_000;
/** 30 days: a certificate with less left than this is renewed. */
export const RENEW_BEFORE_MS = 30 * 24 * 3600_000;
/** Certificates start this long before they are made, for API servers whose clock lags ours. */
export const BACKDATE_MS = 3600_000;

/** The four PEM texts the Secret holds. */
export interface ServingCertificate {
  /** The CA's certificate: the webhook configuration's `caBundle`. */
  readonly caCert: string;
  /** The CA's private key (PKCS #8), to sign the next serving certificate with the same CA. */
  readonly caKey: string;
  /** The serving certificate. */
  readonly cert: string;
  /** Its private key (PKCS #8). */
  readonly key: string;
}

/** What to do about the stored certificate. */
export type CertificateDecision =
  /** It is fine: serve it. */
  | { readonly action: "keep"; readonly notAfter: Date }
  /** The CA is fine, the serving certificate is not: sign a new one with the CA (the `caBundle` stays). */
  | { readonly action: "issue"; readonly reason: string }
  /** The CA is missing, unreadable or ending: make a new CA and serving certificate. */
  | { readonly action: "create"; readonly reason: string };

/** What the serving certificate must be good for, and when. */
export interface CertificateRequirements {
  /** The DNS names to serve, the first being the one the API server asks for (see {@link servingDnsNames}). */
  readonly dnsNames: readonly string[];
  /** Now, in ms since the epoch. */
  readonly nowMs: number;
  /** Renew what has less than this left. Default {@link RENEW_BEFORE_MS}. */
  readonly renewBeforeMs?: number;
}

/**
 * The names a webhook Service is reached by: `<service>.<namespace>.svc` first (what the API server
 * puts in TLS's server name), then the shorter forms.
 */
export function servingDnsNames(service: string, namespace: string): string[] {
  return [`${service}.${namespace}.svc`, `${service}.${namespace}`, service];
}

/**
 * Decides whether the stored certificate can be served: the CA must be a readable CA certificate
 * matching its key, within its validity with more than `renewBeforeMs` left; the serving
 * certificate must match its key, be signed by that CA, name every DNS name and have more than
 * `renewBeforeMs` left. Pure: same inputs, same answer.
 */
export function decideCertificate(
  stored: Partial<ServingCertificate> | undefined,
  requirements: CertificateRequirements,
): CertificateDecision {
  const renewBeforeMs = requirements.renewBeforeMs ?? RENEW_BEFORE_MS;
  const now = requirements.nowMs;
  if (!stored?.caCert || !stored.caKey) return { action: "create", reason: "there is no CA yet" };
  const ca = readCertificate(stored.caCert, stored.caKey);
  if (typeof ca === "string") return { action: "create", reason: `the CA ${ca}` };
  if (!ca.certificate.ca) return { action: "create", reason: "the CA certificate is not a CA" };
  const caTiming = timing(ca.certificate, now, renewBeforeMs);
  if (caTiming !== undefined) return { action: "create", reason: `the CA ${caTiming}` };

  if (!stored.cert || !stored.key) return { action: "issue", reason: "there is no serving certificate yet" };
  const serving = readCertificate(stored.cert, stored.key);
  if (typeof serving === "string") return { action: "issue", reason: `the serving certificate ${serving}` };
  if (
    !serving.certificate.checkIssued(ca.certificate) ||
    !serving.certificate.verify(ca.certificate.publicKey)
  ) {
    return { action: "issue", reason: "the serving certificate was not signed by the CA" };
  }
  for (const name of requirements.dnsNames) {
    if (serving.certificate.checkHost(name, { wildcards: false }) === undefined) {
      return { action: "issue", reason: `the serving certificate does not name ${name}` };
    }
  }
  const servingTiming = timing(serving.certificate, now, renewBeforeMs);
  if (servingTiming !== undefined)
    return { action: "issue", reason: `the serving certificate ${servingTiming}` };
  return { action: "keep", notAfter: serving.certificate.validToDate };
}

/** Options for {@link issueCertificate}. */
export interface IssueOptions {
  /** DNS names of the serving certificate; the first is also its common name. */
  readonly dnsNames: readonly string[];
  /** Now, in ms since the epoch; certificates start {@link BACKDATE_MS} before. */
  readonly nowMs: number;
  /** Sign with this CA (its `caCert` and `caKey`) instead of making a new one. */
  readonly ca?: Pick<ServingCertificate, "caCert" | "caKey">;
  /** Common name of a new CA. Default `volume-data-source-validator-webhook-ca`. */
  readonly caCommonName?: string;
  /** Default {@link SERVING_VALIDITY_MS}; never past the CA's end. */
  readonly servingValidityMs?: number;
  /** Default {@link CA_VALIDITY_MS}. */
  readonly caValidityMs?: number;
}

const ECDSA_P256 = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

/**
 * Makes a serving certificate for `dnsNames`, signed by `ca` or by a new CA made here. Keys are
 * ECDSA P-256, certificates signed with SHA-256; the serving certificate is for server
 * authentication only.
 */
export async function issueCertificate(options: IssueOptions): Promise<ServingCertificate> {
  const x509 = await loadX509();
  const subtle = webcrypto.subtle;
  const notBefore = new Date(options.nowMs - BACKDATE_MS);
  const [commonName] = options.dnsNames;
  if (commonName === undefined) throw new RangeError("a serving certificate needs at least one DNS name");

  let caCert: string;
  let caKey: string;
  let caSigningKey: webcrypto.CryptoKey;
  let issuer: string;
  let caNotAfter: number;
  if (options.ca !== undefined) {
    const ca = new x509.X509Certificate(options.ca.caCert);
    caCert = options.ca.caCert;
    caKey = options.ca.caKey;
    caSigningKey = await subtle.importKey("pkcs8", x509.PemConverter.decodeFirst(caKey), ECDSA_P256, false, [
      "sign",
    ]);
    issuer = ca.subject;
    caNotAfter = ca.notAfter.getTime();
  } else {
    const keys = await subtle.generateKey(ECDSA_P256, true, ["sign", "verify"]);
    caNotAfter = options.nowMs + (options.caValidityMs ?? CA_VALIDITY_MS);
    issuer = `CN=${options.caCommonName ?? "volume-data-source-validator-webhook-ca"}`;
    const ca = await x509.X509CertificateGenerator.createSelfSigned(
      {
        serialNumber: serialNumber(),
        name: issuer,
        keys,
        notBefore,
        notAfter: new Date(caNotAfter),
        signingAlgorithm: ECDSA_P256,
        extensions: [
          new x509.BasicConstraintsExtension(true, 0, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
          await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, webcrypto),
        ],
      },
      webcrypto,
    );
    caCert = ca.toString("pem");
    caKey = x509.PemConverter.encode(await subtle.exportKey("pkcs8", keys.privateKey), "PRIVATE KEY");
    caSigningKey = keys.privateKey;
  }

  const keys = await subtle.generateKey(ECDSA_P256, true, ["sign", "verify"]);
  const notAfter = Math.min(options.nowMs + (options.servingValidityMs ?? SERVING_VALIDITY_MS), caNotAfter);
  const serving = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serialNumber(),
      subject: `CN=${commonName}`,
      issuer,
      publicKey: keys.publicKey,
      signingKey: caSigningKey,
      notBefore,
      notAfter: new Date(notAfter),
      signingAlgorithm: ECDSA_P256,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(options.dnsNames.map((value) => ({ type: "dns", value }))),
      ],
    },
    webcrypto,
  );
  return {
    caCert,
    caKey,
    cert: serving.toString("pem"),
    key: x509.PemConverter.encode(await subtle.exportKey("pkcs8", keys.privateKey), "PRIVATE KEY"),
  };
}

// A readable certificate whose private key matches, or why not.
function readCertificate(certPem: string, keyPem: string): { certificate: X509Certificate } | string {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certPem);
  } catch {
    return "certificate cannot be read";
  }
  try {
    if (!certificate.checkPrivateKey(createPrivateKey(keyPem))) return "does not match its private key";
  } catch {
    return "private key cannot be read";
  }
  return { certificate };
}

// Why a certificate is not good for at least `renewBeforeMs` more, or undefined when it is.
function timing(certificate: X509Certificate, nowMs: number, renewBeforeMs: number): string | undefined {
  const notBefore = certificate.validFromDate.getTime();
  const notAfter = certificate.validToDate.getTime();
  if (nowMs < notBefore) return `is not valid before ${certificate.validFromDate.toISOString()}`;
  if (nowMs >= notAfter) return `expired at ${certificate.validToDate.toISOString()}`;
  if (notAfter - nowMs < renewBeforeMs) {
    const days = Math.floor((notAfter - nowMs) / (24 * 3600_000));
    return `expires in ${days} day${days === 1 ? "" : "s"} (${certificate.validToDate.toISOString()})`;
  }
  return undefined;
}

// Positive, 128 random bits, as RFC 5280 wants serial numbers (at most 20 octets, unpredictable).
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString("hex");
}

// @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata
// polyfill loaded first. Loaded on first use only, so that importing the package (for the
// controller alone) changes no globals.
let x509Module: Promise<typeof X509> | undefined;
function loadX509(): Promise<typeof X509> {
  x509Module ??= import("reflect-metadata").then(() => import("@peculiar/x509"));
  return x509Module;
}
