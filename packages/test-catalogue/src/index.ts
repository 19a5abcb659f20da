/**
 * The bad-input catalogue, as tests use it (private: never published). A test proving that one bad
 * input is handled registers it with {@link badInputCase}: the case's id, component, what the input
 * is, what is expected, and which containment checks the test makes through {@link contained}.
 * `pnpm catalogue` reads these calls from the test files and writes docs/reliability.md's table,
 * with the outcome of each case in a real run; a test fails when the table drifts from the calls.
 */
export { badInputCase, badInputCases, contained } from "./case.ts";
export { type BadInputMeta, CHECKS, type Check, COMPONENTS, type Component } from "./vocabulary.ts";
