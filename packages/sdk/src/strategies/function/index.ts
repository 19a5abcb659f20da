export {
  type FunctionAction,
  type FunctionCleanup,
  type FunctionPopulation,
  FunctionRuntime,
  type FunctionState,
  type FunctionStrategyOptions,
} from "./runtime.ts";
export { FUNCTION_STRATEGY, functionStrategy } from "./strategy.ts";
