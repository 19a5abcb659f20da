export {
  HELLO_GROUP,
  HELLO_KIND,
  HELLO_PLURAL,
  HELLO_VERSION,
  type HelloSpec,
  helloFileBytes,
  helloSpec,
  MAX_FILE_CONTENTS_BYTES,
} from "./hello.ts";
export { writeHello } from "./populate.ts";
export { DEFAULT_IMAGE, helloPopulator } from "./populator.ts";
