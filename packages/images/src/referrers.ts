/**
 * Attaches an artifact (an image's SBOM) to an image in a registry, as OCI distribution 1.1 says: an
 * image manifest whose `subject` is the image, found through the registry's referrers API, or, for a
 * registry without it, through the fallback tag `sha256-<hex of the image's digest>`, an index of
 * the referrers that the pusher keeps up to date.
 */
import { Readable } from "node:stream";
import { digestOf, type RegistryCredentials, RegistryPusher } from "@volpop/oci";

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
/** OCI 1.1's empty descriptor: the config of an artifact that has none. */
const EMPTY_CONFIG = {
  mediaType: "application/vnd.oci.empty.v1+json",
  digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
  size: 2,
} as const;

/** A descriptor as manifests and indexes list them. */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** The artifact manifest for `blob` (one file of `artifactType`) about `subject`, as bytes and digest. */
export function artifactManifest(
  subject: Descriptor,
  artifactType: string,
  blob: { readonly bytes: Uint8Array; readonly title: string },
): { readonly bytes: Uint8Array; readonly descriptor: Descriptor } {
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType,
    config: EMPTY_CONFIG,
    layers: [
      {
        mediaType: artifactType,
        digest: digestOf(blob.bytes),
        size: blob.bytes.byteLength,
        annotations: { "org.opencontainers.image.title": blob.title },
      },
    ],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  return {
    bytes,
    descriptor: { mediaType: OCI_MANIFEST, digest: digestOf(bytes), size: bytes.byteLength, artifactType },
  };
}

/** An artifact of `artifactType` whose only blob is the empty config: the same bytes every time. */
export function probeManifest(artifactType: string): Uint8Array {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType,
      config: EMPTY_CONFIG,
      layers: [{ ...EMPTY_CONFIG, mediaType: artifactType }],
      annotations: { "org.opencontainers.image.title": "volpop push probe" },
    }),
  );
}

/** The OCI 1.1 fallback tag listing `digest`'s referrers: `sha256:ab…` → `sha256-ab…`. */
export function referrersTag(digest: string): string {
  return digest.replace(":", "-");
}

/** `index` (or a new one) with `descriptor` added, unless it lists that digest already. */
export function withReferrer(
  index: { manifests?: Descriptor[] } | undefined,
  descriptor: Descriptor,
): object {
  const manifests = index?.manifests ?? [];
  return {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: manifests.some((m) => m.digest === descriptor.digest) ? manifests : [...manifests, descriptor],
  };
}

/** How {@link attachArtifact} made the artifact findable. */
export interface AttachedArtifact {
  readonly digest: string;
  /** `referrers-api`: the registry indexes it; `fallback-tag`: listed in the index under {@link referrersTag}. */
  readonly via: "referrers-api" | "fallback-tag";
}

/** What to attach, and where. */
export interface AttachOptions {
  /** `host[:port]`, e.g. `registry.example.com` or `127.0.0.1:5000`. */
  readonly registry: string;
  /** e.g. `acme/volpop/validator` */
  readonly repository: string;
  /** The image's manifest digest (what `buildah push --digestfile` wrote). */
  readonly subjectDigest: string;
  readonly artifactType: string;
  /** The file, and the title it is listed under. */
  readonly blob: { readonly bytes: Uint8Array; readonly title: string };
  /** Speak plain HTTP (the default for localhost and 127.0.0.1, as {@link pushImage} does). */
  readonly insecure?: boolean;
  /** The login the images were pushed with (see `resolveRegistryAuth`); anonymous without. */
  readonly credentials?: RegistryCredentials;
}

/**
 * Pushes the artifact with the image as its subject, with the credentials the image was pushed
 * with; keeps the fallback tag's index when the registry does not say it serves the referrers API.
 */
export async function attachArtifact(options: AttachOptions): Promise<AttachedArtifact> {
  const { registry, repository } = options;
  const pusher = pusherFor(registry, options.credentials, options.insecure);
  try {
    const subject = await pusher.getManifest(repository, options.subjectDigest, [
      OCI_MANIFEST,
      DOCKER_MANIFEST,
      OCI_INDEX,
    ]);
    if (subject === undefined)
      throw new Error(`${registry}/${repository}@${options.subjectDigest}: no such manifest`);
    const artifact = artifactManifest(
      { mediaType: subject.mediaType, digest: options.subjectDigest, size: subject.bytes.byteLength },
      options.artifactType,
      options.blob,
    );
    await pusher.pushBlob(repository, EMPTY_CONFIG.digest, Buffer.from("{}"));
    await pusher.pushBlob(repository, digestOf(options.blob.bytes), options.blob.bytes);
    const indexed = await pusher.pushReferrer(
      repository,
      artifact.descriptor.digest,
      OCI_MANIFEST,
      artifact.bytes,
    );
    if (indexed) return { digest: artifact.descriptor.digest, via: "referrers-api" };
    const tag = referrersTag(options.subjectDigest);
    const existing = await pusher.getManifest(repository, tag, [OCI_INDEX]);
    const index = withReferrer(
      existing === undefined
        ? undefined
        : (JSON.parse(Buffer.from(existing.bytes).toString("utf8")) as { manifests?: Descriptor[] }),
      artifact.descriptor,
    );
    await pusher.pushManifest(repository, tag, OCI_INDEX, Buffer.from(JSON.stringify(index)));
    return { digest: artifact.descriptor.digest, via: "fallback-tag" };
  } finally {
    pusher.close();
  }
}

export function isLoopback(registry: string): boolean {
  return /^(localhost|127\.0\.0\.1)(:\d+)?$/.test(registry);
}

/**
 * A pusher for `registry` with `credentials`. A loopback registry is spoken to over plain HTTP
 * unless told otherwise, and may then get the credentials: they never leave the machine, and
 * buildah sends them there too (`--tls-verify=false`).
 */
export function pusherFor(
  registry: string,
  credentials: RegistryCredentials | undefined,
  insecure: boolean = isLoopback(registry),
): RegistryPusher {
  return new RegistryPusher({
    registry,
    insecure,
    ...(credentials === undefined ? {} : { credentials }),
    ...(insecure && isLoopback(registry) ? { credentialPolicy: { plainHttpHosts: [registry] } } : {}),
  });
}

/**
 * Proves `credentials` may push to every repository before anything is pushed: uploads the one blob
 * every SBOM artifact needs anyway (OCI's empty config, two bytes), then puts, by digest and
 * untagged, a probe artifact of `artifactType` made of it, so that a login that may upload blobs but
 * not manifests, or a registry that refuses the artifact's media types, stops the release while
 * nothing of it is published yet. (Not proven: that the fallback tag of an image already released
 * may be overwritten; a registry with immutable tags refuses that later.)
 */
export async function checkPushAccess(
  registry: string,
  repositories: readonly string[],
  auth: { readonly credentials?: RegistryCredentials; readonly source: string },
  artifactType: string,
): Promise<void> {
  const probe = probeManifest(artifactType);
  const pusher = pusherFor(registry, auth.credentials);
  try {
    for (const repository of repositories) {
      try {
        // Streamed, because a plain blob push skips a blob the registry has, and asking whether
        // it has one needs only pull rights.
        await pusher.pushBlobStream(
          repository,
          Readable.from([Buffer.from("{}")]),
          () => EMPTY_CONFIG.digest,
        );
        await pusher.pushManifest(repository, digestOf(probe), OCI_MANIFEST, probe);
      } catch (error) {
        throw new Error(
          `cannot push to ${registry}/${repository} with the credentials from ${auth.source}: ${(error as Error).message}`,
          { cause: error },
        );
      }
    }
  } finally {
    pusher.close();
  }
}
