export {
  DEFAULT_CA_KEY,
  IMAGE_SOURCE_GROUP,
  IMAGE_SOURCE_KIND,
  IMAGE_SOURCE_PLURAL,
  IMAGE_SOURCE_VERSION,
  type ImageSourceSpec,
  imageSourceSpec,
  MAX_IMAGE_PATH_BYTES,
  MAX_INSECURE_REGISTRIES,
  MAX_MODE,
  MAX_PULL_SECRETS,
} from "./image-source.ts";
export { CA_BUNDLE_DIR, PULL_SECRETS_DIR, pullSecretDir } from "./pod-layout.ts";
export { ImagePopulateError, PopulateError, PopulateErrorCode } from "./populate/errors.ts";
export {
  type ImagePopulateContext,
  type PopulateImageOptions,
  type PopulateImageResult,
  populateImage,
} from "./populate.ts";
export {
  DEFAULT_IMAGE,
  DEFAULT_RESOURCES,
  type ImagePopulatorOptions,
  imagePopulator,
  type ResourceRequirements,
} from "./populator.ts";
