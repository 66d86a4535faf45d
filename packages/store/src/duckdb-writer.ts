import { DuckDBDataChunk, DuckDBTypeId, type DuckDBAppender, type DuckDBConnection, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import type { BatchMeta, FlowBatch } from '@sightline/flow';
import { CHUNK_ROWS, vectorOf, writeConstantString, writeDoubles, writeInt32s, writeInt64s, writeNulls, writeStrings } from './duckdb-vectors.js';
import { ROLLUP_DIMS, ROLLUPS, rollupTable, rowTime, STORED_FIELDS, type StoredField } from './schema.js';

/**
 * The DuckDB write path: group commit, raw rows appended straight into `flows`.
 *
 * Why it looks like this (measured on the embedded demo at 40x the samples, 449,616 flows, 2 cores):
 * - Each transaction (ledger, raw rows, three rollups) has a fixed cost of a few hundred ms, so the
 *   batches waiting when the connection frees up are written together in one transaction.
 * - The raw rows go into `flows` through an appender inside that transaction, filled column by
 *   column by duckdb-vectors.ts (one native call per column per 2048-row chunk, each distinct string
 *   handed over once per chunk). The earlier path staged every row into a temp table and copied it
 *   into `flows` with `INSERT … SELECT`: two copies of every row, and node-api's per-value vector
 *   calls cost several times the parsing.
 * - Only the rollup keys (16 columns) are staged, into a temp table; the 1m rollup is grouped from it
 *   in SQL, and the 5m and 1h rollups from the 1m rows (a tenth to a hundredth of the rows).
 * A group that fails (a bad value in one batch, or another store on the same file claiming one of
 * its batches first) is rolled back and its batches written one by one, so one bad batch fails
 * alone and every other batch of the group is still written exactly once.
 */

const q = (name: string): string => `"${name.replace(/"/g, '""')}"`;

export interface WriteResult {
  written: boolean;
}

interface Pending {
  m: BatchMeta;
  batch: FlowBatch;
  resolve: (r: WriteResult) => void;
  reject: (e: unknown) => void;
}

/** An appender and what each of its columns is filled from. */
interface Target {
  appender: DuckDBAppender;
  types: DuckDBType[];
  columns: Column[];
}

/**
 * A column of a target table: a stored field (by its batch column), one of the row's own columns,
 * or one the writer does not know (a column a later migration added for a field this code lacks): NULL.
 */
type Column =
  | { kind: 'field'; field: StoredField; type: DuckDBTypeId }
  | { kind: 'tenant' | 'batch_id' | 'row_no' | 'ts' | 'extra' | 'unknown' };

interface Tables {
  flows: Target;
  rk: Target;
}

export class DuckDBWriter {
  private readonly waiting: Pending[] = [];
  private scheduled = false;
  private t: Tables | undefined;

  constructor(
    private readonly conn: DuckDBConnection,
    /** serializes a job with everything else on the connection */
    private readonly run: <T>(job: () => Promise<T>) => Promise<T>,
    private readonly maxGroupRows: number,
  ) {}

  static create(conn: DuckDBConnection, run: <T>(job: () => Promise<T>) => Promise<T>, maxGroupRows: number): DuckDBWriter {
    return new DuckDBWriter(conn, run, maxGroupRows);
  }

  write(m: BatchMeta, batch: FlowBatch): Promise<WriteResult> {
    return new Promise<WriteResult>((resolve, reject) => {
      this.waiting.push({ m, batch, resolve, reject });
      this.schedule();
    });
  }

  /**
   * One job in the connection's queue at a time: batches arriving while a group is being written
   * wait for the next job, which takes all of them (up to maxGroupRows).
   */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    void this.run(async () => {
      this.scheduled = false;
      const group: Pending[] = [];
      let rows = 0;
      while (this.waiting.length > 0 && (group.length === 0 || rows + this.waiting[0]!.batch.length <= this.maxGroupRows)) {
        const p = this.waiting.shift()!;
        group.push(p);
        rows += p.batch.length;
      }
      if (this.waiting.length > 0) this.schedule();
      await this.writeGroup(group);
    });
  }

  private async writeGroup(group: Pending[]): Promise<void> {
    try {
      const known = await this.ledgerHas(group.map((p) => p.m.id));
      const fresh: Pending[] = [];
      const repeats: Pending[] = [];
      const ids = new Set<string>();
      for (const p of group) {
        if (known.has(p.m.id) || ids.has(p.m.id)) repeats.push(p);
        else {
          ids.add(p.m.id);
          fresh.push(p);
        }
      }
      if (fresh.length > 0) await this.commit(fresh);
      for (const p of fresh) p.resolve({ written: true });
      // a repeat inside the group resolves only now, after the copy that was written is committed
      for (const p of repeats) p.resolve({ written: false });
    } catch (e) {
      if (group.length === 1) {
        const p = group[0]!;
        // Another store on the same file committed this batch first: DuckDB reports the
        // primary-key conflict at insert or commit time. The ledger tells which it was.
        if ((await this.ledgerHas([p.m.id]).catch(() => new Set<string>())).has(p.m.id)) p.resolve({ written: false });
        else p.reject(new Error(`duckdb writeBatch ${p.m.id} (tenant ${p.m.tenant}, ${p.batch.length} rows): ${(e as Error).message}`, { cause: e }));
        return;
      }
      // one by one: the bad batch fails alone, a batch claimed meanwhile by another store is found in the ledger
      for (const p of group) await this.writeGroup([p]);
    }
  }

  private async ledgerHas(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const r = await this.conn.runAndReadAll(`SELECT batch_id FROM batches WHERE batch_id IN (${ids.map((_, i) => `$${i + 1}`).join(', ')})`, [...ids]);
    return new Set(r.getColumnsJS()[0]?.map(String) ?? []);
  }

  /**
   * One transaction: ledger claim, the raw rows appended straight into `flows` (the appender joins
   * the connection's open transaction, so a rollback takes them back too), the rollups. Only the
   * rollup keys are staged (a temp table of 16 columns), before the transaction: the 1m rollup is
   * grouped from it, the 5m and 1h from the 1m rows.
   */
  private async commit(group: Pending[]): Promise<void> {
    const t = await this.tables();
    try {
      await this.commitTo(t, group);
    } catch (e) {
      await this.conn.run('ROLLBACK').catch(() => undefined);
      // an appender that failed mid-group may hold rows of the group it did not flush: start afresh
      this.dropTables();
      throw e;
    }
  }

  private async commitTo(t: Tables, group: Pending[]): Promise<void> {
    await this.conn.run('DELETE FROM temp.rk');
    const lp: DuckDBValue[] = [];
    const ledger: string[] = [];
    const times: Float64Array[] = [];
    for (const p of group) {
      const ts = rowTimes(p.m, p.batch);
      times.push(ts);
      let minTs = Infinity;
      let maxTs = -Infinity;
      for (let i = 0; i < p.batch.length; i++) {
        if (ts[i]! < minTs) minTs = ts[i]!;
        if (ts[i]! > maxTs) maxTs = ts[i]!;
      }
      if (p.batch.length === 0) minTs = maxTs = Date.parse(p.m.createdAt);
      appendRollupKeys(t.rk, p.m, p.batch, ts);
      lp.push(p.m.id, p.m.tenant, p.batch.length, BigInt(Math.round(minTs * 1000)), BigInt(Math.round(maxTs * 1000)));
      const n = lp.length;
      ledger.push(`($${n - 4}, $${n - 3}, $${n - 2}, now(), make_timestamp($${n - 1}::BIGINT), make_timestamp($${n}::BIGINT))`);
    }
    t.rk.appender.flushSync();

    await this.conn.run('BEGIN TRANSACTION');
    {
      const claimed = await this.conn.runAndReadAll(`INSERT INTO batches VALUES ${ledger.join(', ')} ON CONFLICT DO NOTHING RETURNING batch_id`, lp);
      if (claimed.currentRowCount !== group.length) throw new Error(`${group.length - claimed.currentRowCount} batch(es) of the group already in the ledger`);
      for (let b = 0; b < group.length; b++) appendRaw(t.flows, group[b]!.m, group[b]!.batch, times[b]!);
      t.flows.appender.flushSync();
      const [finest, ...coarser] = ROLLUPS;
      await this.conn.run(finestRollupSql(finest!.seconds));
      await this.conn.run(`INSERT INTO ${rollupTable(finest!)} (tenant, bucket, ${DIMS_SQL}, flows, packets, bytes) SELECT * FROM temp.rolled`);
      for (const r of coarser) await this.conn.run(coarserRollupSql(r.seconds, rollupTable(r)));
      await this.conn.run('COMMIT');
    }
  }

  /** The appenders on `flows` and on the rollup-key staging table, made on first use (after the migrations). */
  private async tables(): Promise<Tables> {
    if (this.t !== undefined) return this.t;
    await this.conn.run(`CREATE OR REPLACE TEMP TABLE rk (tenant VARCHAR, ts TIMESTAMP, ${ROLLUP_KEY_FIELDS.map((f) => `${q(f.spec.name)} ${f.spec.kind === 'string' ? 'VARCHAR' : 'BIGINT'}`).join(', ')})`);
    const cols = (await this.conn.runAndReadAll(
      `SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() AND schema_name = 'main' AND table_name = 'flows' ORDER BY column_index`,
    )).getColumnsJS()[0]?.map(String) ?? [];
    if (cols.length === 0) throw new Error('duckdb: no flows table (was migrate() run?)');
    this.t = { flows: await target(this.conn, 'flows', 'main', cols), rk: await target(this.conn, 'rk', 'temp', ['tenant', 'ts', ...ROLLUP_KEY_FIELDS.map((f) => f.spec.name)]) };
    return this.t;
  }

  private dropTables(): void {
    if (this.t === undefined) return;
    for (const x of [this.t.flows, this.t.rk]) {
      try {
        // rows of a failed group not flushed yet: closing flushes, and outside the rolled-back
        // transaction they would be committed on their own
        x.appender.clear();
        x.appender.closeSync();
      } catch {
        // an appender that failed may refuse to close; it is dropped either way
      }
    }
    this.t = undefined;
  }

  /** A migration changed `flows`: the next group reads its columns again. */
  reset(): void {
    this.dropTables();
  }

  /** batches waiting or a group job queued */
  get busy(): boolean {
    return this.scheduled || this.waiting.length > 0;
  }

  close(): void {
    this.dropTables();
  }
}

const BY_NAME = new Map(STORED_FIELDS.map((f) => [f.spec.name, f]));
const DIMS_SQL = ROLLUP_DIMS.map(q).join(', ');
/** The staged rollup keys: the dimensions, then the two summed measures. */
const ROLLUP_KEY_FIELDS: readonly StoredField[] = [...ROLLUP_DIMS, 'packets', 'bytes'].map((d) => BY_NAME.get(d)!);

/** An appender on `table` whose columns are `names`, each mapped to what fills it. */
async function target(conn: DuckDBConnection, table: string, schema: string, names: readonly string[]): Promise<Target> {
  // a temp table lives in catalog `temp`, schema `main`
  const appender = schema === 'temp' ? await conn.createAppender(table, 'main', 'temp') : await conn.createAppender(table);
  const types = Array.from({ length: appender.columnCount }, (_, i) => appender.columnType(i));
  if (types.length !== names.length) throw new Error(`duckdb: ${table} has ${types.length} columns, ${names.length} named`);
  const columns = names.map((name, i): Column => {
    if (name === 'tenant' || name === 'batch_id' || name === 'row_no' || name === 'ts' || name === 'extra') return { kind: name };
    const field = BY_NAME.get(name);
    return field === undefined ? { kind: 'unknown' } : { kind: 'field', field, type: types[i]!.typeId };
  });
  return { appender, types, columns };
}

/** Each row's time (ms): the first time field it has, else the batch's creation. */
function rowTimes(m: BatchMeta, batch: FlowBatch): Float64Array {
  const fallback = Date.parse(m.createdAt);
  const ts = new Float64Array(batch.length);
  for (let r = 0; r < batch.length; r++) ts[r] = rowTime(batch, r, fallback);
  return ts;
}

/** Fills column `c` of a chunk from rows [start, start + rows) of the batch. */
function fillField(v: ReturnType<typeof vectorOf>, f: StoredField, type: DuckDBTypeId, batch: FlowBatch, start: number, rows: number): void {
  const c = batch.columns[f.col];
  if (c === undefined) return writeNulls(v, rows);
  if (c instanceof Float64Array) {
    if (type === DuckDBTypeId.DOUBLE) return writeDoubles(v, c, start, rows);
    if (type === DuckDBTypeId.BIGINT) return writeInt64s(v, c, start, rows);
    if (type === DuckDBTypeId.TIMESTAMP) return writeInt64s(v, c, start, rows, 1000);
  } else if (type === DuckDBTypeId.VARCHAR) return writeStrings(v, rows, (i) => c[start + i]);
  throw new Error(`duckdb: field ${f.spec.name} (${f.spec.kind}) cannot be written to a ${DuckDBTypeId[type]} column`);
}

/** Appends one batch's raw rows, 2048 per chunk. A field the batch carries must have its column. */
function appendRaw(t: Target, m: BatchMeta, batch: FlowBatch, ts: Float64Array): void {
  for (const f of STORED_FIELDS) {
    if (batch.columns[f.col] !== undefined && !t.columns.some((c) => c.kind === 'field' && c.field === f)) {
      throw new Error(`duckdb: the flows table has no column ${f.spec.name} (a migration is missing)`);
    }
  }
  const extra = batch.extra !== undefined && batch.extra.some((x) => x !== null && x !== undefined) ? batch.extra : undefined;
  const n = batch.length;
  for (let start = 0; start < n; start += CHUNK_ROWS) {
    const rows = Math.min(CHUNK_ROWS, n - start);
    const chunk = DuckDBDataChunk.create(t.types, rows);
    for (const [k, c] of t.columns.entries()) {
      const v = vectorOf(chunk, k);
      switch (c.kind) {
        case 'tenant':
          writeConstantString(v, rows, m.tenant);
          break;
        case 'batch_id':
          writeConstantString(v, rows, m.id);
          break;
        case 'row_no':
          writeInt32s(v, rows, (i) => start + i);
          break;
        case 'ts':
          writeInt64s(v, ts, start, rows, 1000);
          break;
        case 'extra':
          if (extra === undefined) writeNulls(v, rows);
          else
            writeStrings(v, rows, (i) => {
              const x = extra[start + i];
              return x ? JSON.stringify(x) : null;
            });
          break;
        case 'unknown':
          writeNulls(v, rows);
          break;
        case 'field':
          fillField(v, c.field, c.type, batch, start, rows);
      }
    }
    t.appender.appendDataChunk(chunk);
  }
}

/** Appends one batch's rollup keys (tenant, row time, dimensions, packets, bytes). */
function appendRollupKeys(t: Target, m: BatchMeta, batch: FlowBatch, ts: Float64Array): void {
  const n = batch.length;
  for (let start = 0; start < n; start += CHUNK_ROWS) {
    const rows = Math.min(CHUNK_ROWS, n - start);
    const chunk = DuckDBDataChunk.create(t.types, rows);
    writeConstantString(vectorOf(chunk, 0), rows, m.tenant);
    writeInt64s(vectorOf(chunk, 1), ts, start, rows, 1000);
    for (const [k, f] of ROLLUP_KEY_FIELDS.entries()) fillField(vectorOf(chunk, k + 2), f, t.types[k + 2]!.typeId, batch, start, rows);
    t.appender.appendDataChunk(chunk);
  }
}

/** The finest rollup of the staged keys, into a temp table the coarser rollups are summed from. */
function finestRollupSql(seconds: number): string {
  return `CREATE OR REPLACE TEMP TABLE rolled AS SELECT tenant, time_bucket(INTERVAL '${seconds} seconds', ts) AS bucket, ${DIMS_SQL},
      count(*) AS flows, sum(packets) AS packets, sum(bytes) AS bytes
    FROM temp.rk GROUP BY tenant, bucket, ${DIMS_SQL}`;
}

function coarserRollupSql(seconds: number, table: string): string {
  return `INSERT INTO ${table} (tenant, bucket, ${DIMS_SQL}, flows, packets, bytes)
    SELECT tenant, time_bucket(INTERVAL '${seconds} seconds', bucket) AS b2, ${DIMS_SQL}, sum(flows), sum(packets), sum(bytes)
    FROM temp.rolled GROUP BY tenant, b2, ${DIMS_SQL}`;
}
