/**
 * Where the webhook's certificate lives: one `kubernetes.io/tls` Secret in the validator's namespace,
 * so that every replica, and the next process after a restart, serves the same certificate under
 * the same CA. Whoever finds it missing or ending makes a new one; a lost race (the API server's
 * `AlreadyExists` or `Conflict`) means another replica wrote first, and its certificate is used.
 */
import type { CoreV1Api, V1Secret } from "@kubernetes/client-node";
import type { Logger } from "@volpop/sdk";
import { isAlreadyExists, isConflict, isNotFound } from "@volpop/sdk/runtime";
import {
  type CertificateDecision,
  decideCertificate,
  issueCertificate,
  type ServingCertificate,
} from "./certificates.ts";

/** The Secret's keys: the usual `tls.crt`, `tls.key` and `ca.crt`, plus the CA's key. */
export const SECRET_KEYS = {
  cert: "tls.crt",
  key: "tls.key",
  caCert: "ca.crt",
  caKey: "ca.key",
} as const satisfies Record<keyof ServingCertificate, string>;

/** Options for {@link ensureServingCertificate}. */
export interface ServingSecretOptions {
  /** The calls made: get, create and update (replace) of one Secret. */
  readonly core: Pick<
    CoreV1Api,
    "readNamespacedSecret" | "createNamespacedSecret" | "replaceNamespacedSecret"
  >;
  /** Namespace and name of the Secret. */
  readonly namespace: string;
  readonly name: string;
  /** DNS names the certificate must serve, `<service>.<namespace>.svc` first. */
  readonly dnsNames: readonly string[];
  /** Now, in ms since the epoch. */
  readonly now: () => number;
  /** Renew what has less than this left. Default: `RENEW_BEFORE_MS`, 30 days. */
  readonly renewBeforeMs?: number;
  /** Labels of a Secret created here. */
  readonly labels?: Readonly<Record<string, string>>;
  readonly logger: Logger;
}

/** The certificate to serve, and what was done to get it. */
export interface EnsuredCertificate {
  readonly certificate: ServingCertificate;
  /** `kept`: the Secret's, as it was; `issued`: new serving certificate, same CA; `created`: new CA too. */
  readonly action: "kept" | "issued" | "created";
}

/** How many lost races before giving up (the caller retries later). */
const MAX_ATTEMPTS = 5;

/**
 * Reads the Secret and returns a certificate good for the DNS names for at least the renewal
 * margin, writing a new one (new serving certificate from the stored CA, or a new CA as well) when
 * the stored one is missing, unreadable, for other names or ending. Rejects on API errors other
 * than a lost race.
 */
export async function ensureServingCertificate(options: ServingSecretOptions): Promise<EnsuredCertificate> {
  const { core, namespace, name } = options;
  for (let attempt = 1; ; attempt++) {
    const secret = await core.readNamespacedSecret({ name, namespace }).catch((error: unknown) => {
      if (isNotFound(error)) return undefined;
      throw error;
    });
    const stored = secret === undefined ? undefined : certificateFromSecret(secret);
    const nowMs = options.now();
    const decision: CertificateDecision = decideCertificate(stored, {
      dnsNames: options.dnsNames,
      nowMs,
      ...(options.renewBeforeMs === undefined ? {} : { renewBeforeMs: options.renewBeforeMs }),
    });
    // "keep" means all four parts were there and checked.
    if (decision.action === "keep") return { certificate: stored as ServingCertificate, action: "kept" };
    const certificate = await issueCertificate({
      dnsNames: options.dnsNames,
      nowMs,
      ...(decision.action === "issue" && stored?.caCert && stored.caKey
        ? { ca: { caCert: stored.caCert, caKey: stored.caKey } }
        : {}),
    });
    const data = secretData(certificate);
    try {
      if (secret === undefined) {
        await core.createNamespacedSecret({
          namespace,
          body: {
            apiVersion: "v1",
            kind: "Secret",
            metadata: { name, namespace, ...(options.labels ? { labels: { ...options.labels } } : {}) },
            type: "kubernetes.io/tls",
            data,
          },
        });
      } else {
        // The resourceVersion read above guards the write: a replica that wrote since wins.
        await core.replaceNamespacedSecret({
          name,
          namespace,
          body: { ...secret, data: { ...secret.data, ...data } },
        });
      }
    } catch (error) {
      if ((isAlreadyExists(error) || isConflict(error)) && attempt < MAX_ATTEMPTS) {
        options.logger.info(
          { secret: `${namespace}/${name}` },
          "another replica wrote the certificate first; reading it",
        );
        continue;
      }
      throw error;
    }
    const action = decision.action === "create" ? "created" : "issued";
    options.logger.info(
      { secret: `${namespace}/${name}`, reason: decision.reason, dnsNames: options.dnsNames },
      action === "created"
        ? "made a new webhook CA and serving certificate"
        : "issued a new webhook serving certificate",
    );
    return { certificate, action };
  }
}

/** The certificate in a Secret's `data`, as far as it is there. */
export function certificateFromSecret(secret: V1Secret): Partial<ServingCertificate> {
  const read = (key: string): string | undefined => {
    const value = secret.data?.[key];
    return value === undefined ? undefined : Buffer.from(value, "base64").toString("utf8");
  };
  const found: { -readonly [K in keyof ServingCertificate]?: string } = {};
  for (const [field, key] of Object.entries(SECRET_KEYS) as [keyof ServingCertificate, string][]) {
    const value = read(key);
    if (value !== undefined) found[field] = value;
  }
  return found;
}

/** A certificate as a Secret's `data` (base64). */
export function secretData(certificate: ServingCertificate): Record<string, string> {
  const data: Record<string, string> = {};
  for (const [field, key] of Object.entries(SECRET_KEYS) as [keyof ServingCertificate, string][]) {
    data[key] = Buffer.from(certificate[field], "utf8").toString("base64");
  }
  return data;
}
