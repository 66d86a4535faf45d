export * from './store.js';
export * from './schema.js';
export { DuckDBStore, DuckDBStoreConfigSchema, type DuckDBStoreConfig } from './duckdb-store.js';
export { ClickHouseStore, ClickHouseStoreConfigSchema, type ClickHouseStoreConfig } from './clickhouse-store.js';
export {
  openStore,
  StoreConfigSchema,
  DuckDBStoreSectionSchema,
  ClickHouseStoreSectionSchema,
  type StoreConfig,
  type StoreConfigInput,
  type OpenStoreOptions,
  type OpenedStore,
} from './open-store.js';
export { planTimeSeries, planTopN, planAggregate, type ReadPlan, type TimeSeriesPlan } from './query-plan.js';
export { clickhouseLoggerClass, stderrJsonLogger, type StoreLogger } from './clickhouse-log.js';
export { clickhouseMigrations, featuresFor, type ClickHouseFeatures } from './clickhouse-schema.js';
export { quoteString, quoteIdent, quoteNumber } from './clickhouse-sql.js';
export * from './retention.js';
export { DERIVED_FIELDS, NON_INTERNET, parseCidr, isQueryField, type Cidr, type FilterOp } from './query-sql.js';
