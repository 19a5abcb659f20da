export { type ImageReference, ImageReferenceError, parseImageReference } from "./reference.ts";
