/**
 * The `ImageSource` source (`image.volpop.dev/v1alpha1`): which OCI image fills the volume, and how.
 * {@link checkImageSourceSpec} applies the same rules as deploy/crd.yaml, so that a source the API
 * server did not check (an older CRD, a hand-edited object) is refused with the same sentences, and
 * populate mode can check again what the controller passed it.
 */

import {
  DEFAULT_LIMITS,
  ImageReferenceError,
  MAX_ID,
  type Ownership,
  type Platform,
  parseImageReference,
} from "@volpop/oci";
import { quantityToBytes, type SourceCheck } from "@volpop/sdk";

export const IMAGE_SOURCE_GROUP = "image.volpop.dev";
export const IMAGE_SOURCE_VERSION = "v1alpha1";
export const IMAGE_SOURCE_KIND = "ImageSource";
export const IMAGE_SOURCE_PLURAL = "imagesources";

/** The ConfigMap key read for `caBundle` when it names none, as cert-manager and kube-root-ca.crt use. */
export const DEFAULT_CA_KEY = "ca.crt";
export const MAX_PULL_SECRETS = 8;
export const MAX_INSECURE_REGISTRIES = 16;
/** Longest `path` or `blockFile`, in bytes: Linux's PATH_MAX. */
export const MAX_IMAGE_PATH_BYTES = 4096;
/** Largest `fileMode` or `dirMode`: permission bits with setuid, setgid and sticky. */
export const MAX_MODE = 0o7777;

/** An `ImageSource`'s spec once checked, defaults filled in. Plain JSON: it travels to the pod in an env var. */
export interface ImageSourceSpec {
  /** The image reference as written, e.g. `registry.example.com/data/models:v3` or `…@sha256:…`. */
  readonly image: string;
  /** The platform picked from a multi-platform image; absent: the node's. */
  readonly platform?: Platform;
  /** Directory of the image to copy, re-rooted at the volume root; absent: the whole image. */
  readonly path?: string;
  /** `kubernetes.io/dockerconfigjson` Secrets of the source's namespace, in order (a later one wins for a registry). */
  readonly pullSecrets: readonly { readonly name: string }[];
  /**
   * A ConfigMap of the source's namespace holding PEM CA certificates to trust for the registry. Its
   * author could vouch for a server of their own: credentials go over it only where the admin allows
   * (`--allow-credentials-with-source-ca`).
   */
  readonly caBundle?: { readonly configMap: string; readonly key: string };
  /** Registries (host or host:port) reached over plain HTTP. */
  readonly insecureRegistries: readonly string[];
  /** Owner given to everything written; absent: the populator pod's user. */
  readonly owner?: Ownership;
  /** Permission bits for every regular file; absent: the image's (setuid and setgid dropped). */
  readonly fileMode?: number;
  /** Permission bits for every directory; absent: the image's. */
  readonly dirMode?: number;
  /** Block volumes: the image file written raw to the device, from its first byte. */
  readonly blockFile?: string;
  /** Lower bounds than {@link DEFAULT_LIMITS} on what extraction may write; Block volumes use `maxBytes` only. */
  readonly limits?: { readonly maxBytes?: number; readonly maxEntries?: number };
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const CONFIG_MAP_KEY = /^[-._a-zA-Z0-9]+$/;
const PLATFORM_FIELD = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
// A hostname or IPv4 address, or an IPv6 address in brackets, then an optional port.
const REGISTRY_HOST =
  /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*)(:([0-9]{1,5}))?$/;
const PARENT_COMPONENT = /(^|\/)\.\.(\/|$)/;
const ONLY_DOTS_AND_SLASHES = /^[./]+$/;

/**
 * Checks an untrusted `spec`. Returns the spec with defaults filled in, or one sentence per problem,
 * each naming its field (`spec.caBundle.key …`).
 */
export function checkImageSourceSpec(spec: unknown): SourceCheck<ImageSourceSpec> {
  const problems: string[] = [];
  const fields = isRecord(spec) ? spec : {};
  if (!isRecord(spec)) problems.push("spec must be an object");

  const image = checkImage(fields.image, problems);
  const platform = optional(fields.platform, (value) => checkPlatform(value, problems));
  const path = optional(fields.path, (value) => checkImagePath("spec.path", value, problems));
  const pullSecrets = optional(fields.pullSecrets, (value) => checkPullSecrets(value, problems)) ?? [];
  const caBundle = optional(fields.caBundle, (value) => checkCaBundle(value, problems));
  const insecureRegistries =
    optional(fields.insecureRegistries, (value) => checkInsecureRegistries(value, problems)) ?? [];
  const owner = optional(fields.owner, (value) => checkOwner(value, problems));
  const fileMode = optional(fields.fileMode, (value) => checkMode("spec.fileMode", value, problems));
  const dirMode = optional(fields.dirMode, (value) => checkMode("spec.dirMode", value, problems));
  const blockFile = optional(fields.blockFile, (value) => checkImagePath("spec.blockFile", value, problems));
  const limits = optional(fields.limits, (value) => checkLimits(value, problems));

  if (problems.length > 0 || image === undefined) return { ok: false, problems };
  return {
    ok: true,
    spec: {
      image,
      ...(platform === undefined ? {} : { platform }),
      ...(path === undefined ? {} : { path }),
      pullSecrets,
      ...(caBundle === undefined ? {} : { caBundle }),
      insecureRegistries,
      ...(owner === undefined ? {} : { owner }),
      ...(fileMode === undefined ? {} : { fileMode }),
      ...(dirMode === undefined ? {} : { dirMode }),
      ...(blockFile === undefined ? {} : { blockFile }),
      ...(limits === undefined ? {} : { limits }),
    },
  };
}

// An absent field and an explicit null mean the same: the API server prunes neither for us.
function optional<T>(value: unknown, check: (value: unknown) => T | undefined): T | undefined {
  return value === undefined || value === null ? undefined : check(value);
}

function checkImage(value: unknown, problems: string[]): string | undefined {
  if (typeof value !== "string" || value === "") {
    problems.push("spec.image is required");
    return undefined;
  }
  try {
    parseImageReference(value);
  } catch (error) {
    if (!(error instanceof ImageReferenceError)) throw error;
    problems.push(`spec.image is not a valid image reference: ${error.message}`);
    return undefined;
  }
  return value;
}

function checkPlatform(value: unknown, problems: string[]): Platform | undefined {
  if (!isRecord(value)) {
    problems.push("spec.platform must be an object with os and architecture");
    return undefined;
  }
  const text = (field: "os" | "architecture" | "variant", required: boolean): string | undefined => {
    const item = value[field];
    if (item === undefined || item === null) {
      if (required) problems.push(`spec.platform.${field} is required`);
      return undefined;
    }
    if (typeof item !== "string" || !PLATFORM_FIELD.test(item)) {
      problems.push(
        `spec.platform.${field} must be 1 to 63 letters, digits, ".", "_" or "-" (like "linux", "arm64", "v8")`,
      );
      return undefined;
    }
    return item;
  };
  const os = text("os", true);
  const architecture = text("architecture", true);
  const variant = text("variant", false);
  if (os === undefined || architecture === undefined) return undefined;
  return { os, architecture, ...(variant === undefined ? {} : { variant }) };
}

/** `spec.path` and `spec.blockFile`: a path inside the image, relative, never climbing out with `..`. */
function checkImagePath(field: string, value: unknown, problems: string[]): string | undefined {
  if (typeof value !== "string" || value === "") {
    problems.push(`${field} must be a non-empty string`);
    return undefined;
  }
  if (Buffer.byteLength(value) > MAX_IMAGE_PATH_BYTES) {
    problems.push(`${field} is longer than ${MAX_IMAGE_PATH_BYTES} bytes`);
  } else if (value.includes("\0")) {
    problems.push(`${field} must not contain a NUL character`);
  } else if (value.startsWith("/")) {
    problems.push(`${field} ${JSON.stringify(value)} must be relative to the image root (no leading "/")`);
  } else if (PARENT_COMPONENT.test(value)) {
    problems.push(`${field} ${JSON.stringify(value)} must not contain ".."`);
  } else if (ONLY_DOTS_AND_SLASHES.test(value)) {
    problems.push(`${field} ${JSON.stringify(value)} names the image root: name something inside it`);
  } else {
    return value;
  }
  return undefined;
}

function checkPullSecrets(value: unknown, problems: string[]): { name: string }[] | undefined {
  if (!Array.isArray(value)) {
    problems.push("spec.pullSecrets must be a list of {name}");
    return undefined;
  }
  if (value.length > MAX_PULL_SECRETS) {
    problems.push(`spec.pullSecrets lists ${value.length} Secrets, more than ${MAX_PULL_SECRETS}`);
    return undefined;
  }
  const names: string[] = [];
  value.forEach((item: unknown, index) => {
    const name = isRecord(item) ? item.name : undefined;
    if (typeof name !== "string" || !isDnsSubdomain(name)) {
      problems.push(`spec.pullSecrets[${index}].name must be the name of a Secret (a DNS subdomain)`);
    } else if (names.includes(name)) {
      problems.push(`spec.pullSecrets[${index}].name ${JSON.stringify(name)} is listed twice`);
    } else {
      names.push(name);
    }
  });
  return names.length === value.length ? names.map((name) => ({ name })) : undefined;
}

function checkCaBundle(value: unknown, problems: string[]): ImageSourceSpec["caBundle"] {
  if (!isRecord(value)) {
    problems.push("spec.caBundle must be an object with configMap and key");
    return undefined;
  }
  const { configMap } = value;
  const key = value.key ?? DEFAULT_CA_KEY;
  let ok = true;
  if (typeof configMap !== "string" || !isDnsSubdomain(configMap)) {
    problems.push("spec.caBundle.configMap must be the name of a ConfigMap (a DNS subdomain)");
    ok = false;
  }
  if (
    typeof key !== "string" ||
    key.length > 253 ||
    !CONFIG_MAP_KEY.test(key) ||
    key === "." ||
    key === ".."
  ) {
    problems.push('spec.caBundle.key must be a ConfigMap key (letters, digits, "-", "_", "."), e.g. ca.crt');
    ok = false;
  }
  return ok ? { configMap: configMap as string, key: key as string } : undefined;
}

/** Whether `text` is a registry host as image references write one: `host`, `host:port`, `[v6]:port`. */
export function isRegistryHost(text: string): boolean {
  const match = text.length <= 253 ? REGISTRY_HOST.exec(text) : null;
  const port = match?.[6] === undefined ? undefined : Number(match[6]);
  return match !== null && (port === undefined || (port >= 1 && port <= 65535));
}

function checkInsecureRegistries(value: unknown, problems: string[]): string[] | undefined {
  if (!Array.isArray(value)) {
    problems.push("spec.insecureRegistries must be a list of host or host:port");
    return undefined;
  }
  if (value.length > MAX_INSECURE_REGISTRIES) {
    problems.push(
      `spec.insecureRegistries lists ${value.length} registries, more than ${MAX_INSECURE_REGISTRIES}`,
    );
    return undefined;
  }
  const hosts: string[] = [];
  value.forEach((item: unknown, index) => {
    const field = `spec.insecureRegistries[${index}]`;
    if (typeof item !== "string" || !isRegistryHost(item)) {
      problems.push(
        `${field} must be a registry host or host:port as in image references, e.g. registry.local:5000`,
      );
    } else if (hosts.includes(item as string)) {
      problems.push(`${field} ${JSON.stringify(item)} is listed twice`);
    } else {
      hosts.push(item as string);
    }
  });
  return hosts.length === value.length ? hosts : undefined;
}

function checkOwner(value: unknown, problems: string[]): Ownership | undefined {
  if (!isRecord(value)) {
    problems.push("spec.owner must be an object with uid and gid");
    return undefined;
  }
  const id = (field: "uid" | "gid"): number | undefined => {
    const item = value[field];
    if (item === undefined || item === null) {
      problems.push(`spec.owner.${field} is required`);
      return undefined;
    }
    if (!Number.isSafeInteger(item) || (item as number) < 0 || (item as number) > MAX_ID) {
      problems.push(`spec.owner.${field} must be an integer from 0 to ${MAX_ID}`);
      return undefined;
    }
    return item as number;
  };
  const uid = id("uid");
  const gid = id("gid");
  return uid === undefined || gid === undefined ? undefined : { uid, gid };
}

function checkMode(field: string, value: unknown, problems: string[]): number | undefined {
  if (!Number.isSafeInteger(value) || (value as number) < 0 || (value as number) > MAX_MODE) {
    problems.push(
      `${field} must be permission bits from 0 to 0o7777 (4095); write it in decimal in JSON (0644 is 420)`,
    );
    return undefined;
  }
  return value as number;
}

function checkLimits(value: unknown, problems: string[]): ImageSourceSpec["limits"] {
  if (!isRecord(value)) {
    problems.push("spec.limits must be an object with maxBytes and/or maxEntries");
    return undefined;
  }
  let ok = true;
  let maxBytes: number | undefined;
  let maxEntries: number | undefined;
  if (value.maxBytes !== undefined && value.maxBytes !== null) {
    maxBytes = bytesOf(value.maxBytes);
    if (maxBytes === undefined || maxBytes < 1 || maxBytes > DEFAULT_LIMITS.maxBytes) {
      problems.push(
        `spec.limits.maxBytes must be a byte count or quantity (e.g. 5Gi) from 1 to ${DEFAULT_LIMITS.maxBytes} (10Gi)`,
      );
      ok = false;
    }
  }
  if (value.maxEntries !== undefined && value.maxEntries !== null) {
    const entries = value.maxEntries;
    if (
      !Number.isSafeInteger(entries) ||
      (entries as number) < 1 ||
      (entries as number) > DEFAULT_LIMITS.maxEntries
    ) {
      problems.push(`spec.limits.maxEntries must be an integer from 1 to ${DEFAULT_LIMITS.maxEntries}`);
      ok = false;
    } else {
      maxEntries = entries as number;
    }
  }
  if (!ok) return undefined;
  return {
    ...(maxBytes === undefined ? {} : { maxBytes }),
    ...(maxEntries === undefined ? {} : { maxEntries }),
  };
}

// Integers as they are; strings as Kubernetes quantities, whole bytes only ("1.5" or "100m" are not).
function bytesOf(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isSafeInteger(value) ? value : undefined;
  if (typeof value !== "string" || !/^[0-9]+(Ki|Mi|Gi|Ti|k|M|G|T)?$/.test(value)) return undefined;
  return quantityToBytes(value);
}

function isDnsSubdomain(name: string): boolean {
  return name.length <= 253 && DNS_SUBDOMAIN.test(name);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
