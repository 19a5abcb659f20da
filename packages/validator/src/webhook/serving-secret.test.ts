import type { CoreV1Api, V1Secret } from "@kubernetes/client-node";
import { ApiException } from "@kubernetes/client-node";
import { createLogger } from "@volpop/sdk";
import { beforeAll, describe, expect, it } from "vitest";
import {
  issueCertificate,
  SERVING_VALIDITY_MS,
  type ServingCertificate,
  servingDnsNames,
} from "./certificates.ts";
import { certificateFromSecret, ensureServingCertificate, secretData } from "./serving-secret.ts";

const NOW = Date.parse("2026-03-01T12:00:00Z");
const DAY = 24 * 3600_000;
const names = servingDnsNames("hook", "ns");
const logger = createLogger({ name: "test", level: "silent" });

function apiError(code: number, reason: string): ApiException<string> {
  return new ApiException(
    code,
    reason,
    JSON.stringify({ kind: "Status", code, reason, message: reason }),
    {},
  );
}

/**
 * One Secret behind the three calls, with resourceVersions; `race` runs before the next write, as
 * another replica would.
 */
function fakeSecrets(initial?: ServingCertificate) {
  let stored: V1Secret | undefined;
  let version = 0;
  const writes: string[] = [];
  const store = (data: Record<string, string>, type = "kubernetes.io/tls") => {
    stored = { metadata: { name: "hook-tls", namespace: "ns", resourceVersion: `${++version}` }, type, data };
  };
  if (initial) store(secretData(initial));
  const state = {
    writes,
    race: undefined as (() => void) | undefined,
    store,
    get secret() {
      return stored;
    },
    core: {
      readNamespacedSecret: async () => {
        if (stored === undefined) throw apiError(404, "NotFound");
        return structuredClone(stored);
      },
      createNamespacedSecret: async ({ body }: { body: V1Secret }) => {
        state.race?.();
        state.race = undefined;
        writes.push("create");
        if (stored !== undefined) throw apiError(409, "AlreadyExists");
        store(body.data ?? {}, body.type);
        return structuredClone(state.secret as V1Secret);
      },
      replaceNamespacedSecret: async ({ body }: { body: V1Secret }) => {
        state.race?.();
        state.race = undefined;
        writes.push("replace");
        if (body.metadata?.resourceVersion !== stored?.metadata?.resourceVersion)
          throw apiError(409, "Conflict");
        store(body.data ?? {}, body.type);
        return structuredClone(state.secret as V1Secret);
      },
    } as unknown as Pick<
      CoreV1Api,
      "readNamespacedSecret" | "createNamespacedSecret" | "replaceNamespacedSecret"
    >,
  };
  return state;
}

const ensure = (fake: ReturnType<typeof fakeSecrets>, nowMs = NOW) =>
  ensureServingCertificate({
    core: fake.core,
    namespace: "ns",
    name: "hook-tls",
    dnsNames: names,
    now: () => nowMs,
    labels: { "app.kubernetes.io/name": "volume-data-source-validator" },
    logger,
  });

let existing: ServingCertificate;
let theirs: ServingCertificate;
beforeAll(async () => {
  existing = await issueCertificate({ dnsNames: names, nowMs: NOW });
  theirs = await issueCertificate({ dnsNames: names, nowMs: NOW });
});

describe("ensureServingCertificate", () => {
  it("creates a kubernetes.io/tls Secret with a new CA when there is none", async () => {
    const fake = fakeSecrets();
    const { certificate, action } = await ensure(fake);
    expect(action).toBe("created");
    expect(fake.writes).toEqual(["create"]);
    expect(fake.secret?.type).toBe("kubernetes.io/tls");
    expect(Object.keys(fake.secret?.data ?? {}).sort()).toEqual(["ca.crt", "ca.key", "tls.crt", "tls.key"]);
    expect(certificateFromSecret(fake.secret as V1Secret)).toEqual(certificate);
  });

  it("serves what the Secret holds while it is good, writing nothing", async () => {
    const fake = fakeSecrets(existing);
    expect(await ensure(fake)).toEqual({ certificate: existing, action: "kept" });
    expect(fake.writes).toEqual([]);
  });

  it("renews a serving certificate with 29 days left from the same CA", async () => {
    const fake = fakeSecrets(existing);
    const { certificate, action } = await ensure(fake, NOW + SERVING_VALIDITY_MS - 29 * DAY);
    expect(action).toBe("issued");
    expect(certificate.caCert).toBe(existing.caCert);
    expect(certificate.cert).not.toBe(existing.cert);
    expect(fake.writes).toEqual(["replace"]);
    expect(certificateFromSecret(fake.secret as V1Secret)).toEqual(certificate);
  });

  it("starts over when the Secret holds something unreadable", async () => {
    const fake = fakeSecrets();
    fake.store({ "tls.crt": Buffer.from("nonsense").toString("base64") });
    const { certificate, action } = await ensure(fake);
    expect(action).toBe("created");
    expect(certificateFromSecret(fake.secret as V1Secret)).toEqual(certificate);
  });

  it("uses the certificate of a replica that created the Secret first", async () => {
    const fake = fakeSecrets();
    fake.race = () => fake.store(secretData(theirs));
    expect(await ensure(fake)).toEqual({ certificate: theirs, action: "kept" });
    expect(fake.writes).toEqual(["create"]);
  });

  it("uses the certificate of a replica that renewed it first", async () => {
    const fake = fakeSecrets(existing);
    const later = NOW + SERVING_VALIDITY_MS - 29 * DAY;
    const renewed = await issueCertificate({ dnsNames: names, nowMs: later, ca: existing });
    fake.race = () => fake.store(secretData(renewed));
    expect(await ensure(fake, later)).toEqual({ certificate: renewed, action: "kept" });
    expect(fake.writes).toEqual(["replace"]);
  });

  it("passes other API errors on", async () => {
    const fake = fakeSecrets();
    fake.core.readNamespacedSecret = async () => {
      throw apiError(403, "Forbidden");
    };
    await expect(ensure(fake)).rejects.toMatchObject({ code: 403 });
  });
});
