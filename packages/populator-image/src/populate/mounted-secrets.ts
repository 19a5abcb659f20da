/**
 * Reads what the controller copied from the source's namespace and mounted into the pod: the pull
 * secrets' `.dockerconfigjson` files and the CA bundle's key. Each problem names the Secret or
 * ConfigMap as the user wrote it in the ImageSource, since that is what they can go and fix.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { parseDockerConfig, RegistryConfigError } from "@volpop/oci";
import type { ImageSourceSpec } from "../image-source.ts";
import { DOCKER_CFG_KEY, DOCKER_CONFIG_JSON_KEY, pullSecretDir } from "../pod-layout.ts";
import { PopulateError, PopulateErrorCode } from "./errors.ts";

/**
 * The payload of each pull secret, in `spec.pullSecrets` order, each checked to parse (so that a
 * broken one is named, rather than reported as "a pull secret" by the registry client).
 */
export async function readPullSecrets(spec: ImageSourceSpec, root: string): Promise<string[]> {
  const payloads: string[] = [];
  for (const [index, { name }] of spec.pullSecrets.entries()) {
    const dir = pullSecretDir(index, root);
    const payload =
      (await readIfPresent(path.join(dir, DOCKER_CONFIG_JSON_KEY))) ??
      (await readIfPresent(path.join(dir, DOCKER_CFG_KEY)));
    if (payload === undefined) {
      throw new PopulateError(
        PopulateErrorCode.PullSecretInvalid,
        `pull secret ${name} has no ${DOCKER_CONFIG_JSON_KEY} key: it must be a Secret of type kubernetes.io/dockerconfigjson`,
      );
    }
    try {
      parseDockerConfig(payload);
    } catch (error) {
      if (!(error instanceof RegistryConfigError)) throw error;
      // The parser's messages start with "pull secret": say which one.
      const message = error.message.replace(/^pull secret/, `pull secret ${name}`);
      throw new PopulateError(PopulateErrorCode.PullSecretInvalid, message, { cause: error });
    }
    payloads.push(payload);
  }
  return payloads;
}

/** The PEM bundle `spec.caBundle` names, or undefined when it names none. */
export async function readCaBundle(spec: ImageSourceSpec, dir: string): Promise<string | undefined> {
  const bundle = spec.caBundle;
  if (bundle === undefined) return undefined;
  const pem = await readIfPresent(path.join(dir, bundle.key));
  const where = `ConfigMap ${bundle.configMap} (spec.caBundle)`;
  if (pem === undefined) {
    throw new PopulateError(PopulateErrorCode.CaBundleInvalid, `${where} has no key ${bundle.key}`);
  }
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
    throw new PopulateError(
      PopulateErrorCode.CaBundleInvalid,
      `${where} key ${bundle.key} holds no PEM certificate`,
    );
  }
  return pem;
}

async function readIfPresent(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw error;
  }
}
