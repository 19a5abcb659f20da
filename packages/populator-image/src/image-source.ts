/**
 * The `ImageSource` source (`image.volpop.dev/v1alpha1`): which OCI image fills the volume, and how.
 * {@link imageSourceSpec} is the one definition of its spec: deploy/crd.yaml's schema (a test keeps
 * them equal) and the checks the CRD cannot make (the image reference parsed fully, a registry's port),
 * so that a source the API server did not check (an older CRD, a hand-edited object) is refused with
 * the same sentences, by the controller and again by populate mode.
 */
import {
  DEFAULT_LIMITS,
  ImageReferenceError,
  MAX_ID,
  type Ownership,
  type Platform,
  parseImageReference,
} from "@volpop/oci";
import { defineSpec, quantityToBytes, refine, type Static, Type } from "@volpop/sdk";

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

/** An `ImageSource`'s spec once checked, defaults filled in. Plain JSON: it travels to the pod as such. */
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

const DNS_SUBDOMAIN_PATTERN = String.raw`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`;
const PLATFORM_FIELD_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$";
// A hostname or IPv4 address, or an IPv6 address in brackets, then an optional port.
const REGISTRY_HOST_PATTERN = String.raw`^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*)(:[0-9]{1,5})?$`;
const REGISTRY_HOST =
  /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*)(:([0-9]{1,5}))?$/;
const PARENT_COMPONENT = /(^|\/)\.\.(\/|$)/;
const ONLY_DOTS_AND_SLASHES = /^[./]+$/;

const platformField = (description: string) => Type.String({ description, pattern: PLATFORM_FIELD_PATTERN });
const objectName = () => Type.String({ maxLength: 253, pattern: DNS_SUBDOMAIN_PATTERN });
const ownerId = () => Type.Integer({ format: "int64", minimum: 0, maximum: MAX_ID });

/** `spec.path` and `spec.blockFile`: a path inside the image, relative, never climbing out with `..`. */
function imagePath(description: string, field: string, root: string) {
  return refine(
    Type.String({
      description,
      minLength: 1,
      maxLength: MAX_IMAGE_PATH_BYTES,
      "x-kubernetes-validations": [
        {
          rule: "!self.startsWith('/')",
          message: `${field} must be relative to the image root (no leading '/')`,
        },
        { rule: "!self.matches('(^|/)[.][.](/|$)')", message: `${field} must not contain '..'` },
        {
          rule: "!self.matches('^[./]+$')",
          message: `${field} names the image root; name ${root} inside it`,
        },
      ],
    }),
    (value) => {
      if (Buffer.byteLength(value) > MAX_IMAGE_PATH_BYTES)
        return `is longer than ${MAX_IMAGE_PATH_BYTES} bytes`;
      if (value.includes("\0")) return "must not contain a NUL character";
      if (value.startsWith("/"))
        return `${JSON.stringify(value)} must be relative to the image root (no leading "/")`;
      if (PARENT_COMPONENT.test(value)) return `${JSON.stringify(value)} must not contain ".."`;
      if (ONLY_DOTS_AND_SLASHES.test(value))
        return `${JSON.stringify(value)} names the image root: name ${root} inside it`;
      return undefined;
    },
  );
}

/** A list's first item that `key` finds twice, as a problem. */
function listedTwice<T>(items: readonly T[], key: (item: T) => string): string | undefined {
  const seen = new Set<string>();
  for (const item of items) {
    if (seen.has(key(item))) return `lists ${JSON.stringify(key(item))} twice`;
    seen.add(key(item));
  }
  return undefined;
}

const MAX_BYTES_RULE =
  "type(self) == int ? self >= 1 && self <= 10737418240 : self.matches('^[0-9]+(Ki|Mi|Gi|Ti|k|M|G|T)?$') && quantity(self).compareTo(quantity('1')) >= 0 && quantity(self).compareTo(quantity('10Gi')) <= 0";

const PORT_RULE =
  "!self.matches(':[0-9]+$') || int(self.substring(self.lastIndexOf(':') + 1)) >= 1 && int(self.substring(self.lastIndexOf(':') + 1)) <= 65535";

const imageSourceSchema = Type.Object(
  {
    image: refine(
      Type.String({
        description:
          "Image reference, by tag or digest, as a kubelet reads it: registry.example.com/data/models:v3, or ...@sha256:<hex> to pin it.",
        minLength: 1,
        maxLength: 4096,
        pattern: String.raw`^[A-Za-z0-9\[][A-Za-z0-9._/:@+=\[\]-]*$`,
      }),
      (image) => {
        try {
          parseImageReference(image);
          return undefined;
        } catch (error) {
          if (!(error instanceof ImageReferenceError)) throw error;
          return `is not a valid image reference: ${error.message}`;
        }
      },
    ),
    platform: Type.Optional(
      Type.Object(
        {
          os: platformField("e.g. linux"),
          architecture: platformField("e.g. amd64, arm64"),
          variant: Type.Optional(platformField("e.g. v8 for arm64, v7 for arm")),
        },
        {
          description:
            "The platform to pick from a multi-platform image. Default: the node's that the populator pod runs on.",
        },
      ),
    ),
    path: Type.Optional(
      imagePath(
        'Filesystem volumes: the directory of the image to copy, written at the volume root (e.g. models/llama). Relative, without "..". Default: the whole image.',
        "path",
        "something",
      ),
    ),
    pullSecrets: Type.Optional(
      refine(
        Type.Array(Type.Object({ name: objectName() }), {
          description:
            "Secrets of type kubernetes.io/dockerconfigjson in this namespace with registry credentials, as a pod's imagePullSecrets. For a registry named in several, the later one wins.",
          maxItems: MAX_PULL_SECRETS,
          "x-kubernetes-list-type": "map",
          "x-kubernetes-list-map-keys": ["name"],
        }),
        (secrets) => listedTwice(secrets, (secret) => secret.name),
      ),
    ),
    caBundle: Type.Optional(
      Type.Object(
        {
          configMap: objectName(),
          key: Type.Optional(
            refine(
              Type.String({
                description: "The key holding the certificates. Default ca.crt.",
                default: DEFAULT_CA_KEY,
                maxLength: 253,
                pattern: "^[-._a-zA-Z0-9]+$",
                "x-kubernetes-validations": [
                  { rule: "self != '.' && self != '..'", message: "key must not be '.' or '..'" },
                ],
              }),
              (key) => (key === "." || key === ".." ? 'must not be "." or ".."' : undefined),
            ),
          ),
        },
        {
          description:
            "A ConfigMap in this namespace holding PEM CA certificates to trust for the registry (in addition to the public roots), for a registry with a private CA.",
        },
      ),
    ),
    insecureRegistries: Type.Optional(
      refine(
        Type.Array(
          refine(
            Type.String({
              maxLength: 253,
              pattern: REGISTRY_HOST_PATTERN,
              "x-kubernetes-validations": [{ rule: PORT_RULE, message: "the port must be from 1 to 65535" }],
            }),
            (host) => (isRegistryHost(host) ? undefined : "has a port outside 1 to 65535"),
          ),
          {
            description:
              "Registries (host or host:port, as in image references) to reach over plain HTTP. There is no option to skip TLS verification: use caBundle instead.",
            maxItems: MAX_INSECURE_REGISTRIES,
            "x-kubernetes-list-type": "set",
          },
        ),
        (hosts) => listedTwice(hosts, (host) => host),
      ),
    ),
    owner: Type.Optional(
      Type.Object(
        { uid: ownerId(), gid: ownerId() },
        {
          description:
            "Filesystem volumes: the owner given to everything written. Default: the populator pod's user. The populator pod then runs as root with the capabilities this takes (see docs/image-populator.md).",
        },
      ),
    ),
    fileMode: Type.Optional(
      Type.Integer({
        description:
          "Filesystem volumes: permission bits for every regular file (0 to 0o7777; YAML reads 0644 as octal, JSON needs decimal 420). Default: the image's, setuid and setgid dropped.",
        minimum: 0,
        maximum: MAX_MODE,
      }),
    ),
    dirMode: Type.Optional(
      Type.Integer({
        description:
          "Filesystem volumes: permission bits for every directory, as fileMode. Default: the image's.",
        minimum: 0,
        maximum: MAX_MODE,
      }),
    ),
    blockFile: Type.Optional(
      imagePath(
        'Block volumes (required for them): the disk image file in the image (e.g. disk/root.img), written raw to the device from its first byte. Relative, without "..". The topmost layer\'s copy is used; a whiteout above removes it.',
        "blockFile",
        "a file",
      ),
    ),
    limits: Type.Optional(
      Type.Object(
        {
          maxBytes: Type.Optional(
            refine(
              Type.Union([Type.Integer(), Type.String()], {
                description:
                  "Bytes of the layers once decompressed (file data, headers, padding, skipped entries and anything after the end of an archive), as an integer or a quantity such as 5Gi (at most 10Gi).",
                "x-kubernetes-int-or-string": true,
                "x-kubernetes-validations": [
                  {
                    rule: MAX_BYTES_RULE,
                    message: "maxBytes must be a whole byte count or quantity (e.g. 5Gi) from 1 to 10Gi",
                  },
                ],
              }),
              (value) => {
                const bytes = bytesOf(value);
                return bytes === undefined || bytes < 1 || bytes > DEFAULT_LIMITS.maxBytes
                  ? `must be a byte count or quantity (e.g. 5Gi) from 1 to ${DEFAULT_LIMITS.maxBytes} (10Gi)`
                  : undefined;
              },
            ),
          ),
          maxEntries: Type.Optional(
            Type.Integer({
              description:
                "Tar entries read across all layers, plus the directories made for them (at most 1000000).",
              minimum: 1,
              maximum: DEFAULT_LIMITS.maxEntries,
            }),
          ),
        },
        {
          description:
            "Filesystem volumes: stricter bounds on what extraction may read and write than the defaults (10Gi of layers once decompressed, 1000000 entries and the directories made for them), which are also the maximums.",
        },
      ),
    ),
  },
  { description: "The image, and how to write it into the volume." },
);

/** The `ImageSource` spec: deploy/crd.yaml's schema, the checks beyond it, and defaults filled in. */
export const imageSourceSpec = defineSpec(imageSourceSchema, { normalise });

// What populate mode reads: every list present, the CA key named, maxBytes in bytes. A spec this
// returns passes the schema unchanged, as it must when populate mode checks it again.
function normalise(spec: Static<typeof imageSourceSchema>): ImageSourceSpec {
  const { caBundle, limits, pullSecrets = [], insecureRegistries = [], ...rest } = spec;
  const maxBytes = limits?.maxBytes === undefined ? undefined : bytesOf(limits.maxBytes);
  return {
    ...rest,
    pullSecrets,
    insecureRegistries,
    ...(caBundle === undefined
      ? {}
      : { caBundle: { configMap: caBundle.configMap, key: caBundle.key ?? DEFAULT_CA_KEY } }),
    ...(limits === undefined
      ? {}
      : {
          limits: {
            ...(maxBytes === undefined ? {} : { maxBytes }),
            ...(limits.maxEntries === undefined ? {} : { maxEntries: limits.maxEntries }),
          },
        }),
  };
}

/** Whether `text` is a registry host as image references write one: `host`, `host:port`, `[v6]:port`. */
export function isRegistryHost(text: string): boolean {
  const match = text.length <= 253 ? REGISTRY_HOST.exec(text) : null;
  const port = match?.[6] === undefined ? undefined : Number(match[6]);
  return match !== null && (port === undefined || (port >= 1 && port <= 65535));
}

// Integers as they are; strings as Kubernetes quantities, whole bytes only ("1.5" or "100m" are not).
function bytesOf(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isSafeInteger(value) ? value : undefined;
  if (typeof value !== "string" || !/^[0-9]+(Ki|Mi|Gi|Ti|k|M|G|T)?$/.test(value)) return undefined;
  return quantityToBytes(value);
}
