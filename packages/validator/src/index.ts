export {
  classifyDataSourceRef,
  type DataSourceClass,
  type DataSourceRef,
  type SourceKind,
} from "./classify.ts";
