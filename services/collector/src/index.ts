export { Collector, type CollectorOptions } from './collector.js';
export { COLLECT_DEFAULTS, CollectorConfig, ConfigError, loadConfig, parseConfig, sourceId } from './config.js';
export { runCollect, runBackfillCommand, parseTimeArg } from './cli.js';
export { runBackfill, rangeSource, BackfillUsageError, type BackfillOptions, type BackfillSummary } from './backfill.js';
export { StartupError } from './startup.js';
export { DeadLetter } from './dead-letter.js';
export { CheckpointStore, CheckpointValue } from './checkpoints.js';
export { collectUnit, newUnitResult, processUnit, unitName, type CollectedMessage, type CollectOptions, type UnitOptions, type UnitResult } from './unit.js';
export type { Source, SourceFactory } from './sources.js';
