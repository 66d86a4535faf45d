import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Attributor, awsAccountOfKey, newAttributionStats, type AttributionStats } from '@sightline/attribution';
import { colIndex, makeBatchMeta, type BatchMeta, type FlowBatch, type StringColumn } from '@sightline/flow';
import { fromKubectlList } from '@sightline/kube-model';
import { newStats, parseObject, type ParseIssue, type ParseStats } from '@sightline/parsers';
import type { FlowStore } from '@sightline/store';
import { DEFAULT_LABELS } from '../commands/enrich.js';
import { fileInput } from '../file-input.js';
import type { LoadedConfig } from './config.js';
import { listLocalObjects } from './local-objects.js';

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
  parse: ParseStats;
  attribution: AttributionStats;
  /** the flows' time span (epoch ms; NaN when there were none) */
  fromMs: number;
  toMs: number;
  /** per configured source (the console's Pipeline health): its objects, flows, failures and newest flow end */
  sources: SourceTally[];
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
}

const C = {
  cloud: colIndex('cloud'),
  account: colIndex('account'),
  start: colIndex('start'),
  end: colIndex('end'),
  srcKind: colIndex('src_k8s_kind'),
  dstKind: colIndex('dst_k8s_kind'),
};

/** Builds the attributor from each cluster's kubectl dump and its declared scope. */
export function loadClusters(cfg: LoadedConfig): Attributor {
  const attributor = new Attributor({ labelAllowList: DEFAULT_LABELS });
  for (const c of cfg.config.clusters) {
    const file = path.resolve(cfg.dir, c.kube);
    let json: unknown;
    try {
      json = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      throw new Error(`cluster ${c.name}: ${file}: ${err instanceof Error ? err.message : String(err)}`);
    }
    const dump = fromKubectlList(json, { source: file, labelAllowList: DEFAULT_LABELS });
    attributor.addCluster(c.name, c.scope).load(dump.objects);
  }
  return attributor;
}

/**
 * collect (local objects) → parse → attribute → store, one object at a time, the store write of a
 * batch overlapping the parsing of the next. Batch ids come from
 * the tenant, the object's key and a digest of its content, and the batch's position in it, so
 * running again over the same store writes nothing twice.
 */
export async function runPipeline(cfg: LoadedConfig, store: FlowStore, opts: PipelineOptions = {}): Promise<PipelineResult> {
  const onIssue = opts.onIssue ?? (() => {});
  const attributor = loadClusters(cfg);
  const roots = cfg.config.sources.map((s) => path.resolve(cfg.dir, s));
  const files = listLocalObjects(roots);
  const r: PipelineResult = {
    objects: files.length,
    flows: 0,
    attributed: 0,
    batches: 0,
    duplicates: 0,
    failed: 0,
    parse: newStats(),
    attribution: newAttributionStats(),
    fromMs: Infinity,
    toMs: -Infinity,
    sources: cfg.config.sources.map((source) => ({ source, cloud: null, account: null, objects: 0, flows: 0, failed: 0, newestMs: NaN })),
  };
  const writer = writeBehind(store, r);
  for (const file of files) {
    const key = path.relative(cfg.dir, file).split(path.sep).join('/');
    const version = createHash('sha256').update(await fs.promises.readFile(file)).digest('hex');
    let reported = 0;
    const report = (i: ParseIssue) => {
      if (reported++ < MAX_ISSUES_PER_OBJECT) onIssue(`${key}${i.line !== undefined ? `:${i.line}` : i.offset !== undefined ? ` (byte ${i.offset})` : ''}: ${i.message}`);
    };
    // what the collector's batch meta says for a bucket's object: scopes records of account `unknown`
    const objectAccount = awsAccountOfKey(key);
    let seq = 0;
    const tallied = r.sources[roots.findIndex((root) => file === root || file.startsWith(root + path.sep))];
    const flowsBefore = r.flows;
    // the object's own newest end, kept apart from the run's for its source's lag
    const toBefore = r.toMs;
    r.toMs = -Infinity;
    try {
      for await (const batch of parseObject(fileInput(file), { source: key, stats: r.parse, onIssue: report })) {
        if (batch.length === 0) continue;
        attributor.attributeBatch(batch, r.attribution, { account: objectAccount });
        tally(batch, r);
        const cloud = str(batch, C.cloud);
        if (cloud !== 'aws' && cloud !== 'gcp' && cloud !== 'azure') throw new Error(`batch ${seq} has no cloud`);
        const meta = makeBatchMeta({
          tenant: cfg.config.tenant,
          cloud,
          account: str(batch, C.account) ?? 'unknown',
          source: { container: 'local', key, version, range: null },
          seq: seq++,
          records: batch.length,
        });
        if (tallied && tallied.cloud === null) {
          tallied.cloud = meta.cloud;
          tallied.account = meta.account;
        }
        await writer.enqueue(meta, batch);
      }
    } catch (err) {
      if (err instanceof StoreFailure) throw err.cause;
      r.failed++;
      if (tallied) tallied.failed++;
      onIssue(`${key}: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      if (tallied) {
        tallied.objects++;
        tallied.flows += r.flows - flowsBefore;
        if (r.toMs > (Number.isNaN(tallied.newestMs) ? -Infinity : tallied.newestMs)) tallied.newestMs = r.toMs;
      }
      r.toMs = Math.max(toBefore, r.toMs);
    }
    if (reported > MAX_ISSUES_PER_OBJECT) onIssue(`${key}: ${reported - MAX_ISSUES_PER_OBJECT} more issues not shown`);
  }
  await writer.drain();
  if (r.flows === 0) r.fromMs = r.toMs = NaN;
  return r;
}

/** A store write failed: the run stops (unlike a bad object, which is counted and skipped). */
class StoreFailure extends Error {}

/**
 * Rows parsed ahead of the store. The store writes the batches waiting when it frees up as one
 * transaction (group commit), so several must be waiting for that to pay; the bound keeps memory at
 * a few tens of MB whatever the object sizes.
 */
const MAX_ROWS_IN_FLIGHT = 524_288;

/**
 * The in-process queue between the parsing and the store: the next batches are parsed and
 * attributed while DuckDB writes the previous ones on its own threads.
 */
function writeBehind(store: FlowStore, r: PipelineResult) {
  const inFlight = new Set<Promise<void>>();
  let rows = 0;
  let failure: unknown = null;
  const check = () => {
    if (failure !== null) throw new StoreFailure('store write failed', { cause: failure });
  };
  return {
    async enqueue(meta: BatchMeta, batch: FlowBatch): Promise<void> {
      while (rows + batch.length > MAX_ROWS_IN_FLIGHT && inFlight.size > 0) await Promise.race(inFlight);
      check();
      const n = batch.length;
      rows += n;
      const p: Promise<void> = store.writeBatch(meta, batch).then(
        ({ written }) => {
          r.batches++;
          if (!written) r.duplicates++;
        },
        (err: unknown) => {
          failure ??= err;
        },
      ).finally(() => {
        rows -= n;
        inFlight.delete(p);
      });
      inFlight.add(p);
    },
    async drain(): Promise<void> {
      await Promise.all(inFlight);
      if (failure !== null) throw failure;
    },
  };
}

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
