export {
  checkHelloSpec,
  HELLO_GROUP,
  HELLO_KIND,
  HELLO_PLURAL,
  HELLO_VERSION,
  type HelloSpec,
  type HelloSpecCheck,
  helloFileBytes,
  MAX_FILE_CONTENTS_BYTES,
} from "./hello.ts";
