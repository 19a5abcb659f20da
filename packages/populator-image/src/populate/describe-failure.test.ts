import {
  DigestMismatchError,
  ExtractLimitError,
  MalformedLayerError,
  ManifestNotFoundError,
  PlatformNotFoundError,
  parseImageReference,
  RegistryAuthError,
  RegistryTlsError,
  RegistryUnavailableError,
  UnsafeEntryError,
} from "@volpop/oci";
import { describe, expect, it } from "vitest";
import { describeFailure, type FailureContext, shortDigest } from "./describe-failure.ts";
import { ImagePopulateError, PopulateError } from "./errors.ts";

const image = "registry.example/app:1.0";
const digest = `sha256:ab${"0".repeat(62)}`;
const context: FailureContext = { image, reference: parseImageReference(image), hasPullSecrets: true };
const inLayer: FailureContext = { ...context, layer: { digest } };

describe("describeFailure", () => {
  it.each([
    [
      "an unsafe entry, naming the layer",
      new UnsafeEntryError("../etc/passwd", "escapes the volume"),
      inLayer,
      'layer sha256:ab0000000000… entry "../etc/passwd" rejected: escapes the volume',
    ],
    [
      "a limit",
      new ExtractLimitError("big", "maxBytes", 10, "it declares 11 bytes and only 10 remain"),
      inLayer,
      'layer sha256:ab0000000000… entry "big" rejected: exceeds maxBytes (10): it declares 11 bytes and only 10 remain',
    ],
    [
      "a broken tar stream",
      new MalformedLayerError(undefined, "not a valid tar stream: bad header"),
      inLayer,
      "layer sha256:ab0000000000… is malformed: not a valid tar stream: bad header",
    ],
    [
      "a malformed entry",
      new MalformedLayerError("h", 'its hard link target "x" does not exist'),
      inLayer,
      'layer sha256:ab0000000000… entry "h": its hard link target "x" does not exist',
    ],
    [
      "a missing tag",
      new ManifestNotFoundError("registry.example/app:1.0"),
      context,
      "manifest not found in registry.example/app (check the tag and the repository name)",
    ],
    [
      "refused credentials",
      new RegistryAuthError("registry.example", "repository:app:pull", 401, "UNAUTHORIZED"),
      context,
      "authentication failed for registry registry.example (check the pull secret)",
    ],
    [
      "a refusal without credentials",
      new RegistryAuthError("registry.example", "repository:app:pull", 401, "UNAUTHORIZED"),
      { ...context, hasPullSecrets: false },
      "authentication failed for registry registry.example (no pull secret given: name one in spec.pullSecrets)",
    ],
    [
      "pull secrets for other registries only",
      new RegistryAuthError("registry.example", "repository:app:pull", 401, "UNAUTHORIZED"),
      { ...context, credentialHosts: new Set(["docker.io", "other.example:5000"]) },
      "authentication failed for registry registry.example (none of spec.pullSecrets has credentials for registry.example)",
    ],
    [
      "refused credentials of the right registry, whatever alias names it",
      new RegistryAuthError("index.docker.io", "repository:library/app:pull", 401, "UNAUTHORIZED"),
      { ...context, credentialHosts: new Set(["docker.io"]) },
      "authentication failed for registry index.docker.io (check the pull secret)",
    ],
    [
      "credentials that may not pull",
      new RegistryAuthError("registry.example", "repository:app:pull", 403, "DENIED"),
      context,
      "registry registry.example denied access (check the pull secret and that its account may pull app)",
    ],
    [
      "a layer's digest mismatch",
      new DigestMismatchError("blob x", digest, `sha256:${"1".repeat(64)}`),
      inLayer,
      `digest mismatch for layer sha256:ab0000000000…: expected ${digest}, got sha256:${"1".repeat(64)} (the registry served corrupt or tampered content)`,
    ],
    [
      "a manifest's digest mismatch",
      new DigestMismatchError("manifest x", digest, digest.replace("ab", "cd")),
      context,
      `digest mismatch for the manifest: expected ${digest}, got ${digest.replace("ab", "cd")} (the registry served corrupt or tampered content)`,
    ],
    [
      "a missing platform",
      new PlatformNotFoundError(image, "linux/riscv64", ["linux/amd64", "linux/arm64"]),
      context,
      "no image for platform linux/riscv64 (available: linux/amd64, linux/arm64; set spec.platform)",
    ],
    [
      "an untrusted certificate, pointing at spec.caBundle",
      new RegistryTlsError("registry.example", "SELF_SIGNED_CERT_IN_CHAIN: self-signed certificate"),
      context,
      "TLS connection to registry.example failed: SELF_SIGNED_CERT_IN_CHAIN: self-signed certificate; if the registry uses a private CA, name it in spec.caBundle",
    ],
    [
      "an unreachable registry",
      new RegistryUnavailableError("registry.example", 5, "manifest x: connect ECONNREFUSED"),
      context,
      "registry registry.example unavailable after 5 attempts: manifest x: connect ECONNREFUSED",
    ],
    [
      "a problem populate mode found",
      new PopulateError("PULL_SECRET_INVALID", "pull secret creds is not valid JSON"),
      inLayer,
      "pull secret creds is not valid JSON",
    ],
    [
      "a full volume",
      Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" }),
      inLayer,
      "the volume is full: request a larger PVC, or copy less with spec.path",
    ],
    ["anything else, on one line", new Error("first\n  second"), context, "first second"],
    ["a thrown string", "oops", context, "oops"],
  ] as const)("says %s in one sentence naming the image", (_, error, where, detail) => {
    const described = describeFailure(error, where);
    expect(described).toBeInstanceOf(ImagePopulateError);
    expect(described.message).toBe(`image ${image}: ${detail}`);
    expect(described.cause).toBe(error);
  });

  it("keeps the underlying error's code, and names the rest", () => {
    expect(describeFailure(new ManifestNotFoundError("x"), context).code).toBe("MANIFEST_NOT_FOUND");
    expect(describeFailure(Object.assign(new Error("full"), { code: "ENOSPC" }), context).code).toBe(
      "VOLUME_FULL",
    );
    expect(describeFailure(new Error("?"), context).code).toBe("POPULATE_FAILED");
  });

  it("says the digest of a pinned reference's missing manifest is what to check", () => {
    const pinned = `registry.example/app@${digest}`;
    const where = { ...context, image: pinned, reference: parseImageReference(pinned) };
    expect(describeFailure(new ManifestNotFoundError(pinned), where).message).toBe(
      `image ${pinned}: manifest not found in registry.example/app (check the digest and the repository name)`,
    );
  });
});

describe("shortDigest", () => {
  it("keeps the algorithm and twelve hex digits", () => {
    expect(shortDigest(digest)).toBe("sha256:ab0000000000…");
    expect(shortDigest("sha256:abc")).toBe("sha256:abc");
  });
});
