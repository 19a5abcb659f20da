import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type ImageSourceSpec, imageSourceSpec } from "../image-source.ts";
import { readCaBundle, readPullSecrets } from "./mounted-secrets.ts";
import { type Pod, scratchPod } from "./testing.ts";

function spec(fields: object): ImageSourceSpec {
  const checked = imageSourceSpec.validate({ image: "registry.local/app:v1", ...fields });
  if (!checked.ok) throw new Error(checked.problems.join("; "));
  return checked.spec;
}

describe("readPullSecrets", () => {
  let pod: Pod;
  beforeEach(() => {
    pod = scratchPod();
  });
  afterEach(() => pod.remove());

  it("reads each secret's .dockerconfigjson, or a legacy .dockercfg, in spec order", async () => {
    pod.mountSecret(0, { ".dockerconfigjson": '{"auths":{"a.example":{"auth":"dTpw"}}}' });
    pod.mountSecret(1, { ".dockercfg": '{"b.example":{"auth":"dTpw"}}' });
    const payloads = await readPullSecrets(
      spec({ pullSecrets: [{ name: "a" }, { name: "b" }] }),
      pod.pullSecretsDir,
    );
    expect(payloads).toEqual(['{"auths":{"a.example":{"auth":"dTpw"}}}', '{"b.example":{"auth":"dTpw"}}']);
  });

  it("names the secret whose payload does not parse", async () => {
    pod.mountSecret(0, { ".dockerconfigjson": "{not json" });
    await expect(
      readPullSecrets(spec({ pullSecrets: [{ name: "broken" }] }), pod.pullSecretsDir),
    ).rejects.toThrow("pull secret broken is not valid JSON");
  });

  it("names a secret the controller could not mount", async () => {
    await expect(
      readPullSecrets(spec({ pullSecrets: [{ name: "absent" }] }), pod.pullSecretsDir),
    ).rejects.toThrow("pull secret absent has no .dockerconfigjson key");
  });
});

describe("readCaBundle", () => {
  let pod: Pod;
  beforeEach(() => {
    pod = scratchPod();
  });
  afterEach(() => pod.remove());

  it("is undefined without spec.caBundle", async () => {
    expect(await readCaBundle(spec({}), pod.caBundleDir)).toBeUndefined();
  });

  it("refuses a key that holds no PEM certificate", async () => {
    pod.mountConfigMap({ "ca.crt": "not a certificate" });
    await expect(readCaBundle(spec({ caBundle: { configMap: "ca" } }), pod.caBundleDir)).rejects.toThrow(
      "ConfigMap ca (spec.caBundle) key ca.crt holds no PEM certificate",
    );
  });
});
