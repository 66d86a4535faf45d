import path from 'node:path';
import { awsAccountOfKey, newAttributionStats, type AttributionStats, type KubeMetaState } from '@sightline/attribution';
import { COLLECT_DEFAULTS, collectUnit, newUnitResult } from '@sightline/collector';
import { attributeStage, WritePipeline } from '@sightline/enricher';
import { batchId, CLOUDS, colIndex, type Cloud, type FlowBatch, type StringColumn } from '@sightline/flow';
import { CloudError, localSource, LocalCursorSchema, type LocalCursor, type LocalSource } from '@sightline/object-store';
import { newStats, ParseError, type ParseIssue, type ParseStats } from '@sightline/parsers';
import type { DuckDBStore, FlowStore } from '@sightline/store';
import { loadClusters } from './clusters.js';
import type { LoadedConfig } from './config.js';

export interface PipelineResult {
  objects: number;
  /** flows parsed (every record that made a row) */
  flows: number;
  /** flows with at least one end attributed to a Kubernetes object */
  attributed: number;
  batches: number;
  /** batches the store already had (a re-run over the same store) */
  duplicates: number;
  /** objects that failed to parse (each reported through onIssue) */
  failed: number;
  /** objects not read again: the store holds them under the batch ids of the embedded pipeline before issue 12 (see `legacyBatchId`) */
  earlier: number;
  parse: ParseStats;
  attribution: AttributionStats;
  /** the flows' time span (epoch ms; NaN when there were none) */
  fromMs: number;
  toMs: number;
  /** per configured source (the console's Pipeline health): its objects, flows, failures and newest flow end */
  sources: SourceTally[];
  /** past the last object whose every batch the store confirmed (null: none); a later run given it as `from` starts after it */
  cursor: LocalCursor | null;
}

export interface SourceTally {
  /** the source as configured (a folder or file under the config's folder) */
  source: string;
  /** of its first batch */
  cloud: string | null;
  account: string | null;
  objects: number;
  flows: number;
  failed: number;
  /** the newest flow end (or start) read from it, epoch ms; NaN: none */
  newestMs: number;
}

/** Issues of one object passed on to onIssue; the rest are counted in one line (a blob of 10^6 bad records is not 10^6 log lines). */
const MAX_ISSUES_PER_OBJECT = 100;

export interface PipelineOptions {
  /** a bad line or object, with where it was; never stops the run */
  onIssue?: (message: string) => void;
  /** start after this cursor (a previous run's `cursor`): the objects before it are not read again */
  from?: LocalCursor | null | undefined;
  /** after each object whose batches the store all confirmed, in key order: the cursor to resume from */
  onCommitted?: (cursor: LocalCursor) => void;
  /** the attribution state (default: the configured clusters' dumps through the one cluster loader) */
  clusters?: KubeMetaState;
}

/**
 * The store side of the embedded mode: the enricher's write pipeline (WritePipeline) with one
 * lane, as DuckDB has one writer. Rows attributed ahead of the store are bounded (`pendingRows`:
 * the collect stage waits, as the enricher's consumer does); several waiting batches go to the
 * store in one write (one DuckDB transaction, up to `writeRows`).
 */
export const EMBEDDED_WRITE = { writeRows: 262_144, pendingRows: 524_288 } as const;

const C = {
  cloud: colIndex('cloud'),
  account: colIndex('account'),
  start: colIndex('start'),
  end: colIndex('end'),
  srcKind: colIndex('src_k8s_kind'),
  dstKind: colIndex('dst_k8s_kind'),
};

/** The configured sources as one local source: keys relative to the config's folder, an AWS object's account from its key. */
export function embeddedSource(cfg: LoadedConfig): LocalSource {
  return localSource(
    { tenant: cfg.config.tenant, roots: cfg.config.sources.map((s) => path.resolve(cfg.dir, s)), base: cfg.dir },
    // what a bucket source's batch meta carries: it scopes AWS records of account `unknown`
    { accountOf: (key, cloud) => (cloud === 'aws' ? awsAccountOfKey(key) : null) },
  );
}

/**
 * The distributed pipeline's stages joined in-process: the configured folders as a local source
 * (object-store's LocalSource), the collector's collect stage (`collectUnit`: the same batches
 * and batch ids as the collector publishes), the enricher's attribute stage over the clusters'
 * metadata, and the enricher's store sink (WritePipeline), which confirms before it commits. Here
 * a commit moves the run's cursor past an object once the store has confirmed all its batches,
 * as the collector's checkpoint moves once Kafka has them and the enricher's offsets once the
 * store has. Running again over the same store writes nothing twice (the store drops known batch
 * ids); given the cursor, it does not even read the objects again.
 */
export async function runPipeline(cfg: LoadedConfig, store: FlowStore, opts: PipelineOptions = {}): Promise<PipelineResult> {
  const onIssue = opts.onIssue ?? (() => {});
  const state = opts.clusters ?? loadClusters(cfg);
  const source = embeddedSource(cfg);
  const roots = cfg.config.sources.map((s) => path.resolve(cfg.dir, s));
  const r: PipelineResult = {
    objects: 0,
    flows: 0,
    attributed: 0,
    batches: 0,
    duplicates: 0,
    failed: 0,
    earlier: 0,
    parse: newStats(),
    attribution: newAttributionStats(),
    fromMs: Infinity,
    toMs: -Infinity,
    sources: cfg.config.sources.map((source) => ({ source, cloud: null, account: null, objects: 0, flows: 0, failed: 0, newestMs: NaN })),
    cursor: opts.from ? LocalCursorSchema.parse(opts.from) : null,
  };

  // every message has an offset in one sequence; an object's end is a message without a batch, so
  // a commit past it says the store has every batch of the object (the enricher's skipped message)
  let offset = 0;
  const ends: { offset: number; cursor: LocalCursor }[] = [];
  let failure: unknown = null;
  const sink = new WritePipeline(
    {
      write: (items) => store.writeBatches(items),
      commit: async ([c]) => {
        // after a failed write nothing is committed: the messages queued behind it were dropped, and
        // one pushed since would commit past them
        if (failure !== null) return;
        const next = c === undefined ? 0 : Number(c.offset);
        while (ends.length > 0 && ends[0]!.offset < next) {
          r.cursor = ends.shift()!.cursor;
          opts.onCommitted?.(r.cursor);
        }
      },
      onWritten: (_items, results) => {
        for (const w of results) {
          r.batches++;
          if (!w.written) r.duplicates++;
        }
      },
      onError: (what, err) => {
        // a store that cannot write stops the run (a bad object is only counted): nothing after it is committed
        if (what !== 'write') return;
        failure ??= err;
        void sink.close();
      },
    },
    { ...EMBEDDED_WRITE, lanes: 1 },
  );
  const push = async (item?: { meta: Parameters<FlowStore['writeBatch']>[0]; batch: FlowBatch }) => {
    if (failure !== null) throw new StoreFailure(failure);
    await sink.push({ partition: 0, offset: String(offset++), item });
    if (failure !== null) throw new StoreFailure(failure);
  };

  // a store with batches already may be one the embedded pipeline wrote before its batch ids
  // became the collector's: its objects are looked up under their old first id (legacyBatchId)
  const earlier = await mayHoldEarlierIds(store, cfg.config.tenant);
  try {
    for await (const { ref, cursor } of source.discovery.poll(r.cursor ?? undefined)) {
      r.objects++;
      const file = source.pathOf(ref);
      const tallied = r.sources[roots.findIndex((root) => file === root || file.startsWith(root + path.sep))];
      let reported = 0;
      const report = (i: ParseIssue) => {
        if (reported++ < MAX_ISSUES_PER_OBJECT) onIssue(`${ref.key}${i.line !== undefined ? `:${i.line}` : i.offset !== undefined ? ` (byte ${i.offset})` : ''}: ${i.message}`);
      };
      const unit = newUnitResult();
      const flowsBefore = r.flows;
      // the object's own newest end, kept apart from the run's for its source's lag
      const toBefore = r.toMs;
      r.toMs = -Infinity;
      let oldId: string | null = null;
      const onParsed = earlier === null ? undefined : (batch: FlowBatch, index: number) => {
        if (index === 0) oldId = legacyBatchId(cfg.config.tenant, ref.key, ref.version, batch);
      };
      try {
        for await (const messages of collectUnit(ref, source.reader, { ...COLLECT_DEFAULTS, onIssue: report, onParsed }, unit)) {
          if (oldId !== null && earlier !== null) {
            const id: string = oldId;
            oldId = null;
            if (await earlier(id)) {
              // stored by the earlier pipeline under other ids: collecting it again would store it twice
              r.earlier++;
              onIssue(`${ref.key}: already in the store under the batch ids of an earlier version of the embedded pipeline: not read again`);
              break;
            }
          }
          for (const { meta, batch } of messages) {
            addStats(r.attribution, attributeStage(state, meta, batch));
            tally(batch, r);
            if (tallied && tallied.cloud === null) {
              tallied.cloud = meta.cloud;
              // the records' own account (a GCP project, an Azure subscription), as the health page showed it
              tallied.account = str(batch, C.account) ?? meta.account;
            }
            await push({ meta, batch });
          }
        }
      } catch (err) {
        if (err instanceof StoreFailure) throw err;
        if (!(err instanceof ParseError) && !(err instanceof CloudError && err.kind === 'not-found')) throw err;
        r.failed++;
        if (tallied) tallied.failed++;
        onIssue(`${ref.key}: ${(err as Error).message}`);
      } finally {
        addStats(r.parse, unit.stats);
        if (tallied) {
          tallied.objects++;
          tallied.flows += r.flows - flowsBefore;
          if (r.toMs > (Number.isNaN(tallied.newestMs) ? -Infinity : tallied.newestMs)) tallied.newestMs = r.toMs;
        }
        r.toMs = Math.max(toBefore, r.toMs);
      }
      if (reported > MAX_ISSUES_PER_OBJECT) onIssue(`${ref.key}: ${reported - MAX_ISSUES_PER_OBJECT} more issues not shown`);
      // the object is done once this is committed: the store has confirmed every batch before it
      ends.push({ offset, cursor });
      await push();
    }
    await sink.drained();
    if (failure !== null) throw new StoreFailure(failure);
  } catch (err) {
    await sink.close();
    throw err instanceof StoreFailure ? err.cause : err;
  }
  if (r.flows === 0) r.fromMs = r.toMs = NaN;
  return r;
}

/**
 * The id the embedded pipeline gave an object's first batch before it used the collector's stage
 * (up to issue 12): the collector's `batchId` over the object's key in container `local`, its
 * content sha256 (the LocalSource's version, unchanged), the cloud and account of the first row
 * of its first parsed batch, and position 0. Its batches were whole parsed batches, not split by
 * interface group, and the new ones name the container `files` (LocalSource's), so no new id is an
 * old one: without this check, collecting such a store's objects again would store them twice.
 */
export function legacyBatchId(tenant: string, key: string, version: string, first: FlowBatch): string | null {
  const cloud = str(first, C.cloud);
  if (!isCloud(cloud)) return null;
  return batchId({ tenant, cloud, account: str(first, C.account) ?? 'unknown', source: { container: 'local', key, version, range: null }, seq: 0 });
}

/** When the store holds batches of the tenant, a lookup of one batch id in its ledger; null for a store that holds none (nothing earlier to find). */
async function mayHoldEarlierIds(store: FlowStore, tenant: string): Promise<((id: string) => Promise<boolean>) | null> {
  // the embedded pipeline only ever wrote DuckDB files
  if (store.engine !== 'duckdb') return null;
  const d = store as DuckDBStore;
  const one = async (sql: string, params: string[]) => d.withConnection(async (c) => (await c.runAndReadAll(sql, params)).currentRowCount > 0);
  if (!(await one('SELECT 1 FROM batches WHERE tenant = $1 LIMIT 1', [tenant]))) return null;
  return (id) => one('SELECT 1 FROM batches WHERE batch_id = $1', [id]);
}

/** A store write failed: the run stops with the store's error (unlike a bad object, which is counted and skipped). */
class StoreFailure extends Error {
  constructor(cause: unknown) {
    super('store write failed', { cause });
  }
}

function addStats<T extends object>(into: T, add: T): void {
  for (const k of Object.keys(add) as (keyof T)[]) (into[k] as number) += add[k] as number;
}

const isCloud = (s: string | null): s is Cloud => (CLOUDS as readonly (string | null)[]).includes(s);

function str(batch: FlowBatch, col: number): string | null {
  const c = batch.columns[col];
  return c === undefined || c instanceof Float64Array ? null : (c[0] ?? null);
}

function tally(batch: FlowBatch, r: PipelineResult): void {
  const sk = batch.columns[C.srcKind] as StringColumn | undefined;
  const dk = batch.columns[C.dstKind] as StringColumn | undefined;
  const start = batch.columns[C.start] as Float64Array | undefined;
  const end = batch.columns[C.end] as Float64Array | undefined;
  for (let i = 0; i < batch.length; i++) {
    r.flows++;
    if ((sk?.[i] ?? null) !== null || (dk?.[i] ?? null) !== null) r.attributed++;
    const s = start?.[i] ?? NaN;
    const e = end?.[i] ?? NaN;
    if (s < r.fromMs) r.fromMs = s;
    if (e > r.toMs) r.toMs = e;
    else if (Number.isNaN(e) && s > r.toMs) r.toMs = s;
  }
}
