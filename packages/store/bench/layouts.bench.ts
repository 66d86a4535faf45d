import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { DuckDBDataChunk, DuckDBInstance, mapValue, timestampValue, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { CLOUDS, FIELD_LIST, type Cloud } from '@sightline/flow';
import { endpoints } from '@sightline/testkit';
import { z } from 'zod';
import { clickhouseMigrations, type ClickHouseFeatures } from '../src/clickhouse-schema.js';
import { Writer } from '../src/clickhouse-rowbinary.js';
import { quoteIdent } from '../src/clickhouse-sql.js';
import { ClickHouseStore } from '../src/clickhouse-store.js';
import { duckdbMigrations } from '../src/duckdb-schema.js';
import { V1_FLOW_COLUMNS, type FrozenKind } from '../src/schema-frozen.js';

/**
 * Which flow table layout (issue 11, point 1). The same rows, the three clouds' real sample mix
 * (samples/make-samples.ts at BENCH_SCALE, collected, parsed and attributed by `sightline demo`,
 * then read back), written into each candidate layout on both engines, in one run:
 *   (c)  today's wide table (migration 1's own DDL: ~145 typed columns, one row per flow);
 *   (a)  common + Kubernetes + a few promoted fields typed, every other cloud field in one column:
 *        a-json: a JSON text column (both engines);
 *        a-map:  DuckDB MAP(VARCHAR, VARCHAR);
 *        a-arr:  ClickHouse parallel arrays extra_keys/extra_values (18.16 has no Map type);
 *   (b)  a table per cloud holding exactly that cloud's fields, behind one UNION ALL view.
 * Every layout is written the same way, straight into its table (no staging copy): DuckDB through
 * an appender, 2048-row chunks, a flush per batch; ClickHouse one RowBinary INSERT per batch naming
 * the columns the batch fills, one batch at a time. No ledger, no rollups: they are the same for
 * every layout (they are keyed by typed columns), so they would only add the same cost to each.
 * Per layout: insert rate, bytes per flow on disk, and three queries (medians of QUERY_RUNS):
 *   top10: top-10 destination workloads by bytes (typed columns in every layout);
 *   aws:   AWS tcp_flags, filtered (IS NOT NULL) and grouped, with flows and bytes (not promoted in (a));
 *   gcp:   GCP src_vpc.vpc_name, top 10 by bytes (not promoted in (a)).
 * Every figure is the median of BENCH_RUNS runs, each on a fresh table, with its ratio to (c) of
 * the same engine. The queries' answers are compared across layouts: a layout that answers
 * differently stops the run.
 *   pnpm -C packages/store bench:layouts   (BENCH_SCALE=20: ~226k flows; BENCH_RUNS=3; BENCH_CH=0 skips ClickHouse)
 */
const Env = z.object({
  BENCH_SCALE: z.coerce.number().positive().default(20),
  BENCH_RUNS: z.coerce.number().int().min(1).default(3),
  BENCH_CH: z.enum(['0', '1']).default('1'),
});
const env = Env.parse(process.env);
const QUERY_RUNS = 5;
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const TENANT = 'demo';
const CHUNK = 2048;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const now = (): number => performance.now();
/** DuckDB identifiers (ClickHouse ones go through quoteIdent). */
const dq = (name: string): string => `"${name.replace(/"/g, '""')}"`;
const ident = (e: 'duckdb' | 'clickhouse', name: string): string => (e === 'duckdb' ? dq(name) : quoteIdent(name));
const load = (): string => os.loadavg().map((x) => x.toFixed(2)).join(' ');

// ---------------------------------------------------------------- the fields of each layout

const KIND: ReadonlyMap<string, FrozenKind> = new Map(V1_FLOW_COLUMNS.map((c) => [c.name, c.kind]));
const kindOf = (name: string): FrozenKind => {
  const k = KIND.get(name);
  if (k === undefined) throw new Error(`field ${name} is not a column of today's flows table`);
  return k;
};
/** Filled by every cloud. */
const COMMON = FIELD_LIST.filter((s) => s.clouds.length === 0 && s.group === undefined).map((s) => s.name);
const K8S = FIELD_LIST.filter((s) => s.group === 'k8s').map((s) => s.name);
/**
 * Cloud fields promoted to typed columns in (a): one network identity per cloud, to measure the
 * mechanism. The API's dimensions and the dashboards' keys are all in COMMON and K8S.
 */
const PROMOTED = ['vpc_id', 'reporter', 'flow_state'];
const TYPED_A = [...COMMON, ...K8S, ...PROMOTED];
const TYPED_A_SET = new Set(TYPED_A);
/** Fields of one cloud's table in (b): the common ones, its own, and the Kubernetes ones. */
const cloudFields = (cloud: Cloud): string[] =>
  FIELD_LIST.filter((s) => s.group === 'k8s' || s.clouds.length === 0 || s.clouds.includes(cloud)).map((s) => s.name);
const ALL_FIELDS = V1_FLOW_COLUMNS.map((c) => c.name);

// ---------------------------------------------------------------- the rows

type Column = (string | null)[] | Float64Array;
interface Batch {
  id: string;
  cloud: Cloud;
  n: number;
  /** row time, epoch ms */
  ts: Float64Array;
  /** the fields some row of the batch fills (numbers and times in Float64Array, NaN for null; times in ms) */
  cols: Map<string, Column>;
}

/** Generates BENCH_SCALE x the samples and runs `sightline demo` on them once per scale (kept in /tmp). */
function demoDatabase(): string {
  const dir = path.join(os.tmpdir(), `sightline-layouts-bench-x${env.BENCH_SCALE}`);
  const db = path.join(dir, 'db', 'sightline.duckdb');
  if (fs.existsSync(path.join(dir, '.complete'))) return db;
  console.log(`generating ${env.BENCH_SCALE}x the samples and attributing them with sightline demo, into ${dir} ...`);
  fs.rmSync(dir, { recursive: true, force: true });
  const data = path.join(dir, 'data');
  execFileSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'samples/make-samples.ts'), data], {
    env: { ...process.env, SAMPLES_SCALE: String(env.BENCH_SCALE) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  fs.copyFileSync(path.join(ROOT, 'samples/sightline.json'), path.join(data, 'sightline.json'));
  execFileSync(process.execPath, [path.join(ROOT, 'services/cli/dist/main.js'), 'demo', '--config', path.join(data, 'sightline.json'), '--data', path.join(dir, 'db'), '--port', '0'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  fs.writeFileSync(path.join(dir, '.complete'), '');
  return db;
}

/** The attributed flows of the demo store, batch by batch as the pipeline wrote them, with only the fields each batch fills. */
async function loadBatches(file: string): Promise<Batch[]> {
  const inst = await DuckDBInstance.create(file, { access_mode: 'READ_ONLY' });
  const c = await inst.connect();
  const sel = ALL_FIELDS.map((f) => {
    const k = kindOf(f);
    return k === 't' ? `epoch_ms(${dq(f)})::DOUBLE` : k === 'i' || k === 'f' ? `${dq(f)}::DOUBLE` : dq(f);
  });
  const ids = (await c.runAndReadAll(`SELECT batch_id FROM flows WHERE tenant = '${TENANT}' GROUP BY batch_id ORDER BY min(ts), batch_id`)).getRows().map((r) => String(r[0]));
  const out: Batch[] = [];
  for (const id of ids) {
    const r = await c.runAndReadAll(`SELECT epoch_ms(ts)::DOUBLE, ${sel.join(', ')} FROM flows WHERE batch_id = '${id}' ORDER BY row_no`);
    const cols = r.getColumnsJS();
    const n = r.currentRowCount;
    const cm = new Map<string, Column>();
    ALL_FIELDS.forEach((f, i) => {
      const v = cols[i + 1]!;
      if (!v.some((x) => x !== null)) return;
      const k = kindOf(f);
      cm.set(f, k === 's' || k === 'lc' ? v.map((x) => (x === null ? null : String(x))) : Float64Array.from(v, (x) => (x === null ? NaN : Number(x))));
    });
    const cloud = (cm.get('cloud') as (string | null)[])[0] as Cloud;
    out.push({ id, cloud, n, ts: Float64Array.from(cols[0]!, (x) => Number(x)), cols: cm });
  }
  c.closeSync();
  inst.closeSync();
  return out;
}

/** The value of field `f` in row `r` as JSON would hold it (null when absent). */
function value(col: Column, r: number): string | number | null {
  if (col instanceof Float64Array) {
    const x = col[r]!;
    return Number.isNaN(x) ? null : x;
  }
  return col[r] ?? null;
}

// ---------------------------------------------------------------- layouts

type Engine = 'duckdb' | 'clickhouse';
type Extra = 'none' | 'json' | 'map' | 'arr';
interface Layout {
  name: string;
  engines: readonly Engine[];
  /** the table(s) written, and the relation queried */
  tables: (b: Batch) => string;
  relation: string;
  /** typed fields of the table a batch goes to */
  typed: (b: Batch) => readonly string[];
  extra: Extra;
  /** SQL reading a field (typed column or from the extra column) */
  field: (engine: Engine, f: string, kind: 'i' | 's') => string;
}

const typedField = (e: Engine, f: string): string => ident(e, f);

function extraField(extra: Extra): Layout['field'] {
  return (engine, f, kind) => {
    if (TYPED_A_SET.has(f)) return ident(engine, f);
    const lit = `'${f}'`;
    if (engine === 'duckdb') {
      // JSON keeps numbers as numbers; the MAP holds every value as text
      if (extra === 'json') return kind === 'i' ? `CAST(json_extract(extra, '$.${f}') AS BIGINT)` : `json_extract_string(extra, '$.${f}')`;
      return kind === 'i' ? `CAST(map_extract_value(extra, ${lit}) AS BIGINT)` : `map_extract_value(extra, ${lit})`;
    }
    // ClickHouse 18.16: visitParam* reads top-level keys of flat JSON; arrays by key position (0 = absent)
    if (extra === 'json') return kind === 'i' ? `if(visitParamHas(extra, ${lit}), visitParamExtractInt(extra, ${lit}), NULL)` : `if(visitParamHas(extra, ${lit}), visitParamExtractString(extra, ${lit}), NULL)`;
    const v = `if(indexOf(extra_keys, ${lit}) = 0, NULL, extra_values[indexOf(extra_keys, ${lit})])`;
    return kind === 'i' ? `toInt64OrNull(${v})` : v;
  };
}

const LAYOUTS: readonly Layout[] = [
  { name: 'c wide', engines: ['duckdb', 'clickhouse'], tables: () => 'flows', relation: 'flows', typed: () => ALL_FIELDS, extra: 'none', field: typedField },
  { name: 'a json', engines: ['duckdb', 'clickhouse'], tables: () => 'flows_a', relation: 'flows_a', typed: () => TYPED_A, extra: 'json', field: extraField('json') },
  { name: 'a map', engines: ['duckdb'], tables: () => 'flows_a', relation: 'flows_a', typed: () => TYPED_A, extra: 'map', field: extraField('map') },
  { name: 'a arrays', engines: ['clickhouse'], tables: () => 'flows_a', relation: 'flows_a', typed: () => TYPED_A, extra: 'arr', field: extraField('arr') },
  { name: 'b per cloud', engines: ['duckdb', 'clickhouse'], tables: (b) => `flows_${b.cloud}`, relation: 'flows_b', typed: (b) => cloudFields(b.cloud), extra: 'none', field: typedField },
];

/** The fields of a row that (a) keeps in its extra column. */
function extras(b: Batch): [string, Column][] {
  return [...b.cols].filter(([f]) => !TYPED_A_SET.has(f));
}

// ---------------------------------------------------------------- queries

interface Query {
  name: string;
  sql: (l: Layout, e: Engine) => string;
}
const QUERIES: readonly Query[] = [
  {
    name: 'top10',
    sql: (l) => `SELECT dst_k8s_namespace, dst_k8s_workload, sum(bytes) AS b FROM ${l.relation} WHERE tenant = '${TENANT}'
      GROUP BY dst_k8s_namespace, dst_k8s_workload ORDER BY b DESC, dst_k8s_workload LIMIT 10`,
  },
  {
    name: 'aws tcp_flags',
    sql: (l, e) => {
      const f = l.field(e, 'tcp_flags', 'i');
      return `SELECT ${f} AS k, count(*) AS n, sum(bytes) AS b FROM ${l.relation} WHERE tenant = '${TENANT}' AND cloud = 'aws' AND ${f} IS NOT NULL
        GROUP BY k ORDER BY n DESC, k`;
    },
  },
  {
    name: 'gcp src_vpc',
    sql: (l, e) => {
      const f = l.field(e, 'src_vpc_vpc_name', 's');
      return `SELECT ${f} AS k, sum(bytes) AS b FROM ${l.relation} WHERE tenant = '${TENANT}' AND cloud = 'gcp' GROUP BY k ORDER BY b DESC, k LIMIT 10`;
    },
  },
];

// ---------------------------------------------------------------- DuckDB

const DUCK_TYPE: Record<FrozenKind, string> = { s: 'VARCHAR', lc: 'VARCHAR', i: 'BIGINT', f: 'DOUBLE', t: 'TIMESTAMP' };
const HEAD = ['tenant VARCHAR NOT NULL', 'batch_id VARCHAR NOT NULL', 'row_no INTEGER NOT NULL', 'ts TIMESTAMP NOT NULL'];

function duckdbDdl(l: Layout): string[] {
  const cols = (fields: readonly string[]): string[] => fields.map((f) => `${dq(f)} ${DUCK_TYPE[kindOf(f)]}`);
  if (l.extra === 'none' && l.relation === 'flows') return [...duckdbMigrations()[0]!.statements];
  if (l.extra !== 'none') return [`CREATE TABLE flows_a (${[...HEAD, ...cols(TYPED_A), `extra ${l.extra === 'map' ? 'MAP(VARCHAR, VARCHAR)' : 'VARCHAR'}`].join(', ')})`];
  return [
    ...CLOUDS.map((c) => `CREATE TABLE flows_${c} (${[...HEAD, ...cols(cloudFields(c))].join(', ')})`),
    `CREATE VIEW flows_b AS ${CLOUDS.map((c) => {
      const own = new Set(cloudFields(c));
      return `SELECT tenant, batch_id, row_no, ts, ${ALL_FIELDS.map((f) => (own.has(f) ? dq(f) : `CAST(NULL AS ${DUCK_TYPE[kindOf(f)]}) AS ${dq(f)}`)).join(', ')} FROM flows_${c}`;
    }).join(' UNION ALL ')}`,
  ];
}

/** The table's columns in order, from the catalog (today's table also has `extra`, which stays NULL here). */
async function duckdbColumns(c: DuckDBConnection, table: string): Promise<string[]> {
  const r = await c.runAndReadAll(`SELECT column_name FROM information_schema.columns WHERE table_name = '${table}' ORDER BY ordinal_position`);
  return r.getRows().map((x) => String(x[0]));
}

async function duckdbRun(l: Layout, batches: readonly Batch[], dir: string, run: number): Promise<{ secs: number; clientSecs: number; bytes: number; c: DuckDBConnection; close: () => void }> {
  const file = path.join(dir, `${l.name.replace(/ /g, '-')}-${run}.duckdb`);
  const inst = await DuckDBInstance.create(file);
  const c = await inst.connect();
  for (const s of duckdbDdl(l)) await c.run(s);
  const tables = [...new Set(batches.map((b) => l.tables(b)))];
  const colsOf = new Map<string, string[]>();
  for (const t of tables) colsOf.set(t, await duckdbColumns(c, t));
  const nulls: null[] = new Array<null>(CHUNK).fill(null);
  const t0 = now();
  let engine = 0;
  const appenders = new Map(await Promise.all(tables.map(async (t) => [t, await c.createAppender(t)] as const)));
  for (const b of batches) {
    const table = l.tables(b);
    const ap = appenders.get(table)!;
    const names = colsOf.get(table)!;
    const types = names.map((_, i) => ap.columnType(i));
    const ex = l.extra === 'none' ? [] : extras(b);
    for (let start = 0; start < b.n; start += CHUNK) {
      const rows = Math.min(CHUNK, b.n - start);
      const chunk = DuckDBDataChunk.create(types, rows);
      const none = rows === CHUNK ? nulls : nulls.slice(0, rows);
      names.forEach((name, i) => {
        const v = chunk.getColumnVector(i);
        if (name === 'tenant') for (let k = 0; k < rows; k++) v.setItem(k, TENANT);
        else if (name === 'batch_id') for (let k = 0; k < rows; k++) v.setItem(k, b.id);
        else if (name === 'row_no') for (let k = 0; k < rows; k++) v.setItem(k, start + k);
        else if (name === 'ts') for (let k = 0; k < rows; k++) v.setItem(k, timestampValue(BigInt(Math.round(b.ts[start + k]! * 1000))));
        else if (name === 'extra') {
          if (l.extra === 'none') {
            chunk.setColumnValues(i, none);
            return;
          }
          for (let k = 0; k < rows; k++) {
            const r = start + k;
            if (l.extra === 'map') {
              const entries = [];
              for (const [f, col] of ex) {
                const x = value(col, r);
                if (x !== null) entries.push({ key: f, value: String(x) });
              }
              v.setItem(k, entries.length ? mapValue(entries) : null);
            } else {
              const o: Record<string, string | number> = {};
              let any = false;
              for (const [f, col] of ex) {
                const x = value(col, r);
                if (x !== null) {
                  o[f] = x;
                  any = true;
                }
              }
              v.setItem(k, any ? JSON.stringify(o) : null);
            }
          }
        } else {
          const col = b.cols.get(name);
          if (col === undefined) {
            // an absent field: a column of NULLs (the wide table's cost per batch)
            chunk.setColumnValues(i, none);
            return;
          }
          const kind = kindOf(name);
          if (col instanceof Float64Array)
            for (let k = 0; k < rows; k++) {
              const x = col[start + k]!;
              v.setItem(k, Number.isNaN(x) ? null : kind === 'i' ? BigInt(Math.round(x)) : kind === 't' ? timestampValue(BigInt(Math.round(x * 1000))) : x);
            }
          else for (let k = 0; k < rows; k++) v.setItem(k, (col[start + k] ?? null) as DuckDBValue);
        }
        v.flush();
      });
      const t1 = now();
      ap.appendDataChunk(chunk);
      engine += now() - t1;
    }
    const t2 = now();
    ap.flushSync();
    engine += now() - t2;
  }
  for (const ap of appenders.values()) ap.closeSync();
  const secs = (now() - t0) / 1000;
  const clientSecs = secs - engine / 1000;
  await c.run('CHECKPOINT');
  const bytes = fs.statSync(file).size;
  return {
    secs,
    clientSecs,
    bytes,
    c,
    close: () => {
      c.closeSync();
      inst.closeSync();
    },
  };
}

async function duckdbQuery(c: DuckDBConnection, sql: string): Promise<string> {
  return JSON.stringify((await c.runAndReadAll(sql)).getRowsJson());
}

// ---------------------------------------------------------------- ClickHouse

function chType(k: FrozenKind, ft: ClickHouseFeatures): string {
  if (k === 't') return ft.dateTime64 ? "Nullable(DateTime64(6, 'UTC'))" : 'Nullable(Int64)';
  if (k === 'i') return 'Nullable(Int64)';
  if (k === 'f') return 'Nullable(Float64)';
  return k === 'lc' && ft.lowCardinality ? 'LowCardinality(Nullable(String))' : 'Nullable(String)';
}

/** Migration 1's engine, partitioning and sorting key, for every layout. */
const CH_ENGINE = `ENGINE = ReplacingMergeTree PARTITION BY toYYYYMMDD(ts)
  ORDER BY (tenant, toStartOfHour(ts), ifNull(dst_k8s_namespace, ''), ifNull(dst_k8s_workload, ''), ts, batch_id, row_no)`;

function clickhouseDdl(l: Layout, db: string, ft: ClickHouseFeatures): string[] {
  const d = quoteIdent(db);
  const head = [`tenant ${ft.lowCardinality ? 'LowCardinality(String)' : 'String'}`, 'batch_id String', 'row_no UInt32', "ts DateTime('UTC')"];
  const cols = (fields: readonly string[]): string[] => fields.map((f) => `${quoteIdent(f)} ${chType(kindOf(f), ft)}`);
  if (l.relation === 'flows') return [clickhouseMigrations(db, ft)[0]!.statements[0]!];
  if (l.extra !== 'none') {
    const ex = l.extra === 'arr' ? ['extra_keys Array(String)', 'extra_values Array(String)'] : ['extra String'];
    return [`CREATE TABLE ${d}.flows_a (${[...head, ...cols(TYPED_A), ...ex].join(', ')}) ${CH_ENGINE}`];
  }
  return [
    ...CLOUDS.map((c) => `CREATE TABLE ${d}.flows_${c} (${[...head, ...cols(cloudFields(c))].join(', ')}) ${CH_ENGINE}`),
    `CREATE VIEW ${d}.flows_b AS ${CLOUDS.map((c) => {
      const own = new Set(cloudFields(c));
      return `SELECT tenant, batch_id, row_no, ts, ${ALL_FIELDS.map((f) => (own.has(f) ? quoteIdent(f) : `CAST(NULL AS ${chType(kindOf(f), ft)}) AS ${quoteIdent(f)}`)).join(', ')} FROM ${d}.flows_${c}`;
    }).join(' UNION ALL ')}`,
  ];
}

/** One batch as RowBinary for its table in layout `l`: the typed fields it fills, then the extra column(s). */
function chBody(l: Layout, b: Batch): { columns: string; body: Buffer } {
  const typed = l.typed(b).filter((f) => b.cols.has(f));
  const kinds = typed.map(kindOf);
  const cols = typed.map((f) => b.cols.get(f)!);
  const ex = l.extra === 'none' ? [] : extras(b);
  const o = new Writer(1 << 20);
  for (let r = 0; r < b.n; r++) {
    o.str(TENANT);
    o.str(b.id);
    o.u32(r);
    o.u32(Math.floor(b.ts[r]! / 1000));
    for (let k = 0; k < typed.length; k++) {
      const x = value(cols[k]!, r);
      if (x === null) {
        o.u8(1);
        continue;
      }
      o.u8(0);
      const kind = kinds[k]!;
      if (typeof x === 'string') o.str(x);
      else if (kind === 'f') o.f64(x);
      else o.i64(Math.round(kind === 't' ? x * 1000 : x));
    }
    if (l.extra === 'arr') {
      const ks: string[] = [];
      const vs: string[] = [];
      for (const [f, col] of ex) {
        const x = value(col, r);
        if (x !== null) {
          ks.push(f);
          vs.push(String(x));
        }
      }
      o.varint(ks.length);
      for (const s of ks) o.str(s);
      o.varint(vs.length);
      for (const s of vs) o.str(s);
    } else if (l.extra === 'json') {
      const obj: Record<string, string | number> = {};
      for (const [f, col] of ex) {
        const x = value(col, r);
        if (x !== null) obj[f] = x;
      }
      o.str(JSON.stringify(obj));
    }
  }
  const names = ['tenant', 'batch_id', 'row_no', 'ts', ...typed, ...(l.extra === 'arr' ? ['extra_keys', 'extra_values'] : l.extra === 'json' ? ['extra'] : [])];
  return { columns: names.map(quoteIdent).join(', '), body: o.buf.subarray(0, o.pos) };
}

async function clickhouseRun(store: ClickHouseStore, ft: ClickHouseFeatures, l: Layout, batches: readonly Batch[]): Promise<{ secs: number; clientSecs: number; bytes: number; db: string }> {
  const ch = store.client;
  const db = `sightline_layouts_${randomBytes(4).toString('hex')}`;
  await ch.command({ query: `CREATE DATABASE ${quoteIdent(db)}` });
  for (const s of clickhouseDdl(l, db, ft)) await ch.command({ query: s });
  const t0 = now();
  let client = 0;
  for (const b of batches) {
    const t1 = now();
    const { columns, body } = chBody(l, b);
    client += now() - t1;
    const res = await ch.exec({ query: `INSERT INTO ${quoteIdent(db)}.${quoteIdent(l.tables(b))} (${columns}) FORMAT RowBinary`, values: Readable.from([body]) });
    res.stream.resume();
    await new Promise<void>((ok, fail) => res.stream.on('end', ok).on('error', fail));
  }
  const secs = (now() - t0) / 1000;
  const tables = [...new Set(batches.map((b) => l.tables(b)))];
  for (const t of tables) await ch.command({ query: `OPTIMIZE TABLE ${quoteIdent(db)}.${quoteIdent(t)} FINAL` });
  const rs = await ch.query({ query: `SELECT sum(bytes_on_disk) AS b FROM system.parts WHERE database = '${db}' AND active`, format: 'JSONEachRow' });
  const bytes = Number((await rs.json<{ b: string }>())[0]?.b ?? NaN);
  return { secs, clientSecs: client / 1000, bytes, db };
}

async function clickhouseQuery(ch: ClickHouseClient, sql: string): Promise<string> {
  const rs = await ch.query({ query: sql, format: 'JSONEachRow' }); // 18.16 has no JSONCompactEachRow
  // numbers as text on both sides of the comparison (ClickHouse quotes 64-bit integers)
  return JSON.stringify((await rs.json<Record<string, unknown>>()).map((r) => Object.values(r).map((x) => (x === null ? null : String(x)))));
}

// ---------------------------------------------------------------- run

interface Figures {
  rate: number[];
  /** share of the insert time spent in JavaScript building the engine's input (chunks, RowBinary) */
  client: number[];
  bytesPerFlow: number[];
  ms: Record<string, number[]>;
}

async function main(): Promise<void> {
  const batches = await loadBatches(demoDatabase());
  const flows = batches.reduce((a, b) => a + b.n, 0);
  const byCloud = CLOUDS.map((c) => `${c} ${batches.filter((b) => b.cloud === c).reduce((a, b) => a + b.n, 0)}`).join(', ');
  console.log(`${flows} flows in ${batches.length} batches (${byCloud}); ${os.cpus().length} CPUs; load average ${load()}`);
  console.log(`(a) typed: ${COMMON.length} common + ${K8S.length} Kubernetes + promoted ${PROMOTED.join(', ')}; (b) columns per cloud: ${CLOUDS.map((c) => `${c} ${cloudFields(c).length}`).join(', ')}; (c) ${ALL_FIELDS.length}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sightline-layouts-'));
  const figures = new Map<string, Figures>();
  const answers = new Map<string, string>();
  const fig = (key: string): Figures => {
    let f = figures.get(key);
    if (!f) figures.set(key, (f = { rate: [], client: [], bytesPerFlow: [], ms: Object.fromEntries(QUERIES.map((q) => [q.name, []])) }));
    return f;
  };
  const check = (engine: Engine, q: Query, l: Layout, got: string): void => {
    const k = `${engine} ${q.name}`;
    const want = answers.get(k);
    if (want === undefined) answers.set(k, got);
    else if (want !== got) throw new Error(`${engine} ${l.name}: ${q.name} answers ${got.slice(0, 300)}, (c) answered ${want.slice(0, 300)}`);
  };
  const report = (key: string, f: Figures): void =>
    console.log(`  ${key.replace('|', ' ')}: ${Math.round(f.rate.at(-1)!)} flows/s, ${f.bytesPerFlow.at(-1)!.toFixed(1)} B/flow, ${QUERIES.map((q) => `${q.name} ${f.ms[q.name]!.at(-1)!.toFixed(1)} ms`).join(', ')}`);
  const timeQueries = async (engine: Engine, l: Layout, f: Figures, exec: (sql: string) => Promise<string>): Promise<void> => {
    for (const q of QUERIES) {
      const sql = q.sql(l, engine);
      check(engine, q, l, await exec(sql)); // also the warm-up
      const xs: number[] = [];
      for (let i = 0; i < QUERY_RUNS; i++) {
        const t = now();
        await exec(sql);
        xs.push(now() - t);
      }
      f.ms[q.name]!.push(median(xs));
    }
  };
  const store = env.BENCH_CH === '1' ? ClickHouseStore.open({ url: endpoints().clickhouseUrl, database: 'default' }) : undefined;
  const ft = store ? await store.features() : undefined;
  try {
    for (let run = 0; run < env.BENCH_RUNS; run++) {
      for (const l of LAYOUTS) {
        if (l.engines.includes('duckdb')) {
          const r = await duckdbRun(l, batches, dir, run);
          const f = fig(`duckdb|${l.name}`);
          f.rate.push(flows / r.secs);
          f.client.push(r.clientSecs / r.secs);
          f.bytesPerFlow.push(r.bytes / flows);
          await timeQueries('duckdb', l, f, (sql) => duckdbQuery(r.c, sql));
          report(`duckdb|${l.name}`, f);
          r.close();
          for (const x of fs.readdirSync(dir)) fs.rmSync(path.join(dir, x), { force: true });
        }
        if (store && ft && l.engines.includes('clickhouse')) {
          const r = await clickhouseRun(store, ft, l, batches);
          const q = createClient({ url: endpoints().clickhouseUrl, database: r.db });
          try {
            const f = fig(`clickhouse ${ft.version}|${l.name}`);
            f.rate.push(flows / r.secs);
            f.client.push(r.clientSecs / r.secs);
            f.bytesPerFlow.push(r.bytes / flows);
            await timeQueries('clickhouse', l, f, (sql) => clickhouseQuery(q, sql));
            report(`clickhouse ${ft.version}|${l.name}`, f);
          } finally {
            await q.close();
            await store.client.command({ query: `DROP DATABASE IF EXISTS ${quoteIdent(r.db)}` });
          }
        }
      }
      console.log(`run ${run + 1}/${env.BENCH_RUNS} done; load average ${load()}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    await store?.close();
  }
  // the table: medians, and each engine's ratio to its wide table (c)
  const qn = QUERIES.map((q) => q.name);
  console.log(`\nmedians of ${env.BENCH_RUNS} runs (queries: median of ${QUERY_RUNS} each run); ratio to (c) of the same engine in brackets; load average at the end ${load()}`);
  console.log(`| engine | layout | insert flows/s | JS share of insert | bytes/flow | ${qn.map((q) => `${q} ms`).join(' | ')} |`);
  console.log(`| --- | --- | --- | --- | --- | ${qn.map(() => '---').join(' | ')} |`);
  for (const [key, f] of figures) {
    const [engine, layout] = key.split('|') as [string, string];
    const base = figures.get(`${engine}|c wide`)!;
    const cell = (x: number, b: number, d: number): string => `${x.toLocaleString('en-US', { maximumFractionDigits: d })} (${(x / b).toFixed(2)})`;
    const ms = qn.map((q) => cell(median(f.ms[q]!), median(base.ms[q]!), 1));
    console.log(`| ${engine} | ${layout} | ${cell(Math.round(median(f.rate)), median(base.rate), 0)} | ${Math.round(median(f.client) * 100)}% | ${cell(median(f.bytesPerFlow), median(base.bytesPerFlow), 1)} | ${ms.join(' | ')} |`);
  }
}

await main();
