import { request } from "node:https";
import type { TLSSocket } from "node:tls";
import { createLogger } from "@volpop/sdk";
import { badInputCase, contained } from "@volpop/test-catalogue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { admissionReview, pvc, ref } from "../internal/fixtures.ts";
import { reviewPvcAdmission } from "./admission.ts";
import { issueCertificate, type ServingCertificate, servingDnsNames } from "./certificates.ts";
import { MAX_BODY_BYTES, startWebhookServer, type WebhookServer } from "./server.ts";

const [serverName = ""] = servingDnsNames("hook", "ns");
let certificate: ServingCertificate;
let server: WebhookServer;

interface Answer {
  readonly status: number;
  readonly type: string | undefined;
  readonly body: string;
  readonly peerCertificate: string;
}

/** One HTTPS request to the server as the API server makes it: trusting the CA, asking for `<service>.<namespace>.svc`. */
function call(
  options: { method?: string; path?: string; type?: string; body?: string; ca?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: server.port,
        servername: serverName,
        ca: options.ca ?? certificate.caCert,
        method: options.method ?? "POST",
        path: options.path ?? "/validate",
        headers: { "content-type": options.type ?? "application/json" },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            type: res.headers["content-type"],
            body: Buffer.concat(chunks).toString("utf8"),
            peerCertificate: (res.socket as TLSSocket).getPeerCertificate().fingerprint256,
          }),
        );
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

beforeAll(async () => {
  certificate = await issueCertificate({ dnsNames: servingDnsNames("hook", "ns"), nowMs: Date.now() });
  server = await startWebhookServer({
    port: 0,
    host: "127.0.0.1",
    tls: certificate,
    review: (body) => reviewPvcAdmission(body, []),
    logger: createLogger({ name: "test", level: "silent" }),
  });
});
afterAll(async () => {
  await server?.close();
});

describe("startWebhookServer", () => {
  it("answers an AdmissionReview over TLS that verifies against the CA", async () => {
    const review = admissionReview(pvc("p", { dataSourceRef: ref("nobody.example.com", "Thing") }), {
      uid: "u-1",
    });
    const answer = await call({ body: JSON.stringify(review) });
    expect(answer.status).toBe(200);
    expect(answer.type).toBe("application/json");
    expect(JSON.parse(answer.body)).toEqual({
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      response: {
        uid: "u-1",
        allowed: true,
        warnings: [
          'The datasource for this PVC does not match any registered VolumePopulator (apiGroup "nobody.example.com", kind "Thing")',
        ],
      },
    });
  });

  /** The server still answers a good AdmissionReview: a bad request cost nothing but its own answer. */
  const expectStillServing = () =>
    contained("keeps-serving", async () => {
      const review = admissionReview(pvc("p", { dataSourceRef: ref("hello.example.com", "Hello") }));
      expect((await call({ body: JSON.stringify(review) })).status).toBe(200);
    });

  badInputCase.each<[string, Parameters<typeof call>[0], number, string]>([
    ["another path", { path: "/mutate", body: "{}" }, 404, "not found"],
    ["a GET", { method: "GET" }, 405, "method not allowed"],
    ["another content type", { type: "text/plain", body: "{}" }, 415, "expected application/json"],
    ["a body that is not JSON", { body: "{" }, 400, "the body is not JSON"],
    [
      "a body that is no AdmissionReview",
      { body: '{"kind":"Pod"}' },
      400,
      "expected an admission.k8s.io/v1 AdmissionReview",
    ],
  ])(
    {
      id: "webhook-malformed-request",
      component: "webhook",
      input:
        "requests the API server never sends: another path, a GET, another content type, a body that is not JSON or no AdmissionReview",
      expected: "404, 405, 415 or 400 with the reason, and no admission answer",
      checks: ["keeps-serving"],
    },
    async ([, options, status, text]) => {
      const answer = await call(options);
      expect(answer.status).toBe(status);
      expect(answer.body).toContain(text);
      await expectStillServing();
    },
  );

  badInputCase(
    {
      id: "webhook-body-too-large",
      component: "webhook",
      input: "an admission request body over 4 MiB",
      expected: "413 request body too large, the body read no further",
      checks: ["keeps-serving"],
    },
    async () => {
      const answer = await call({ body: `{"pad":"${"x".repeat(MAX_BODY_BYTES)}"}` });
      expect(answer.status).toBe(413);
      expect(answer.body).toBe("request body too large\n");
      await expectStillServing();
    },
  );

  it("serves a renewed certificate to new connections", async () => {
    const renewed = await issueCertificate({ dnsNames: servingDnsNames("hook", "ns"), nowMs: Date.now() });
    const before = await call({ path: "/" });
    server.setCertificate(renewed);
    try {
      const after = await call({ path: "/", ca: renewed.caCert });
      expect(after.status).toBe(404);
      expect(after.peerCertificate).not.toBe(before.peerCertificate);
      await expect(call({ path: "/" })).rejects.toThrow();
    } finally {
      server.setCertificate(certificate);
    }
  });
});
