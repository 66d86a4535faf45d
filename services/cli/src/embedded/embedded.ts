import fs from 'node:fs';
import path from 'node:path';
import { openStore, type RetentionScheduler } from '@sightline/store';
import { loadEmbeddedConfig } from './config.js';
import { runPipeline, type PipelineResult } from './pipeline.js';
import { embeddedHealth } from './health.js';
import { startEmbeddedApi, type EmbeddedApi } from './query-api.js';
import { startEmbeddedRetention } from './retention.js';
import { formatTopTalkers, queryTopTalkers, topTalkersPath, TALKER_DIMENSIONS, type TopNAnswer } from './top-talkers.js';

/** DuckDB's buffer memory in the one-process default: a laptop runs other things too (see DuckDBStoreConfig). */
export const EMBEDDED_MEMORY_LIMIT = '1GB';

export interface EmbeddedOptions {
  /** sightline.json */
  configFile: string;
  /** the DuckDB file; its folder is created, the file replaced */
  dbPath: string;
  /** overrides the config's api.port (0: any free port) */
  port?: number | undefined;
  /** progress and the summary, for a person */
  out: (line: string) => void;
  /** bad lines and objects */
  warn: (line: string) => void;
}

export interface EmbeddedRun {
  result: PipelineResult;
  api: EmbeddedApi;
  talkers: TopNAnswer;
  dbPath: string;
  /** applies the configured retention on its schedule (null: disabled); `status` shows the last run */
  retention: RetentionScheduler | null;
  /** closes the API, stops retention, then closes the store */
  close(): Promise<void>;
}

/**
 * The whole pipeline in one process: the distributed mode's stages joined in-process (pipeline.ts:
 * the collector's stage over the local sources, the enricher's attribution and store sink), DuckDB
 * stores, and the query API serves it on loopback; the summary is read through that API, as any
 * dashboard would.
 */
export async function runEmbedded(o: EmbeddedOptions): Promise<EmbeddedRun> {
  const cfg = loadEmbeddedConfig(o.configFile);
  // a fresh file each run: the samples are the whole input, and an old schema never lingers
  fs.mkdirSync(path.dirname(o.dbPath), { recursive: true });
  for (const f of [o.dbPath, `${o.dbPath}.wal`]) fs.rmSync(f, { force: true });
  // the store section a config file would give, through the store's one entry point (the API's runner opens the same)
  const store = await openStore({ engine: 'duckdb', path: o.dbPath, memoryLimit: EMBEDDED_MEMORY_LIMIT });
  let api: EmbeddedApi | undefined;
  try {
    await store.migrate();
    const t0 = performance.now();
    const result = await runPipeline(cfg, store, { onIssue: o.warn });
    const ms = performance.now() - t0;
    const pct = result.flows === 0 ? 0 : (100 * result.attributed) / result.flows;
    o.out(
      `collected ${result.objects} objects from ${cfg.config.sources.length} sources, ${result.flows} flows in ${ms.toFixed(0)} ms; ` +
        `${result.attributed} (${pct.toFixed(1)}%) with at least one end attributed to ${cfg.config.clusters.map((c) => c.name).join(', ')}`,
    );
    o.out(`stored in DuckDB ${o.dbPath} (${result.batches} batches${result.duplicates ? `, ${result.duplicates} already there` : ''})`);
    api = await startEmbeddedApi({ path: o.dbPath, memoryLimit: EMBEDDED_MEMORY_LIMIT }, cfg.config.tenant, { host: cfg.config.api.host, port: o.port ?? cfg.config.api.port }, {
      health: embeddedHealth(cfg.config.tenant, result, Date.now()),
    });
    const talkers = await queryTopTalkers(api.url, api.token, result.fromMs, result.toMs);
    o.out('');
    o.out(`top talkers by workload (tenant ${cfg.config.tenant}, ${new Date(result.fromMs).toISOString()} to ${new Date(result.toMs).toISOString()}):`);
    for (const l of formatTopTalkers(talkers)) o.out(`  ${l}`);
    const a = api;
    // after the pipeline, so the run's own writes are not slowed by it
    const retention = startEmbeddedRetention(store, cfg.config.retention, o.warn);
    return {
      result,
      api: a,
      talkers,
      dbPath: o.dbPath,
      retention,
      close: async () => {
        await a.close();
        await retention?.stop();
        await store.close();
      },
    };
  } catch (err) {
    await api?.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    throw err;
  }
}

/** What to type to ask the API yourself. */
export function curlExample(run: EmbeddedRun): string {
  return `curl -H 'Authorization: Bearer ${run.api.token}' '${run.api.url}${topTalkersPath(run.result.fromMs, run.result.toMs)}'`;
}

export { TALKER_DIMENSIONS };
