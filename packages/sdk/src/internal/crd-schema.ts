/** A CRD manifest as parsed from its YAML, as far as {@link crdSpecSchema} reads it. */
interface CrdManifest {
  readonly spec?: {
    readonly versions?: readonly {
      readonly name?: string;
      readonly storage?: boolean;
      readonly schema?: { readonly openAPIV3Schema?: { readonly properties?: { readonly spec?: unknown } } };
    }[];
  };
}

/**
 * The `spec` schema of a parsed CRD manifest's version (default: the stored one), to compare with a
 * spec definition's `openApiSchema()`: a test that fails when the manifest and the code drift apart.
 */
export function crdSpecSchema(crd: unknown, version?: string): unknown {
  const versions = (crd as CrdManifest).spec?.versions ?? [];
  const chosen = versions.find((v) => (version === undefined ? v.storage : v.name === version));
  if (!chosen) throw new Error(`the CRD has no ${version ?? "stored"} version`);
  return chosen.schema?.openAPIV3Schema?.properties?.spec;
}
