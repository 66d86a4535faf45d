import { DuckDBDataChunk, LIST, listValue, VARCHAR, type DuckDBAppender, type DuckDBConnection, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import type { BatchMeta, FlowBatch } from '@sightline/flow';
import { ROLLUP_DIMS, ROLLUPS, rollupTable, rowTime, STORED_FIELDS, type StoredField } from './schema.js';

/**
 * The DuckDB write path: group commit over column-subset staging tables.
 *
 * Why it looks like this (measured on 8,192-row enriched batches, 2 cores): filling one staging
 * table of every stored column (~160) cost ~200 ms per batch, almost all of it setting NULLs in
 * columns the batch does not have, and each batch's own transaction (ledger, raw insert, three
 * rollup inserts) another ~250 ms whatever its size. So:
 * - a batch is staged into a temp table holding only the columns it carries (one table per
 *   column set, kept for the connection's life; AWS, GCP and Azure batches each have their own);
 * - the batches waiting when the connection frees up are written in one transaction: one ledger
 *   insert, and per column set one raw insert and one insert per rollup.
 * A group that fails (a bad value in one batch, or another store on the same file claiming one of
 * its batches first) is rolled back and its batches written one by one, so one bad batch fails
 * alone and every other batch of the group is still written exactly once.
 */

const q = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** DuckDB vectors hold 2048 rows; appending a full chunk at a time is the appender's fast path. */
const CHUNK_ROWS = 2048;

export interface WriteResult {
  written: boolean;
}

interface Pending {
  m: BatchMeta;
  batch: FlowBatch;
  resolve: (r: WriteResult) => void;
  reject: (e: unknown) => void;
}

/** One staging table and its appender, for batches carrying exactly `fields` (and `extra` or not). */
interface Staging {
  table: string;
  fields: readonly StoredField[];
  extra: boolean;
  appender: DuckDBAppender;
  types: DuckDBType[];
  /**
   * Per field, the distinct strings of the current group (low-cardinality string fields only;
   * undefined for the others): such a column is staged as 1-based ids into this list, passed to
   * the inserts as a parameter. Setting a string in a DuckDB vector from JavaScript costs ~360 ns,
   * an integer ~40 ns, and flows repeat these strings (namespaces, workloads, actions) in most rows.
   * High-cardinality strings (addresses, pods, interface ids) stay strings: DuckDB binds a list
   * parameter element by element and copies it into the plan, which cost more than it saved once
   * the lists had tens of thousands of addresses (measured: 0.9 s of planning for a 65k-row group).
   */
  dicts: (Dictionary | undefined)[];
}

class Dictionary {
  readonly ids = new Map<string, number>();
  readonly values: string[] = [];
  id(v: string): number {
    let id = this.ids.get(v);
    if (id === undefined) {
      this.values.push(v);
      id = this.values.length;
      this.ids.set(v, id);
    }
    return id;
  }
  clear(): void {
    this.ids.clear();
    this.values.length = 0;
  }
}

/** A batch of the group, staged and ready for the transaction. */
interface Staged {
  p: Pending;
  /** index of the batch in the group (the staging tables' `b` column) */
  b: number;
  minTs: number;
  maxTs: number;
}

export class DuckDBWriter {
  private readonly waiting: Pending[] = [];
  private scheduled = false;
  private readonly stagings = new Map<string, Staging>();

  constructor(
    private readonly conn: DuckDBConnection,
    /** serializes a job with everything else on the connection */
    private readonly run: <T>(job: () => Promise<T>) => Promise<T>,
    private readonly maxGroupRows: number,
  ) {}

  static async create(conn: DuckDBConnection, run: <T>(job: () => Promise<T>) => Promise<T>, maxGroupRows: number): Promise<DuckDBWriter> {
    await conn.run('CREATE TEMP TABLE IF NOT EXISTS grp (b INTEGER, tenant VARCHAR, batch_id VARCHAR)');
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

  /** Stages the group's batches, then one transaction: ledger claim, raw rows, rollups. */
  private async commit(group: Pending[]): Promise<void> {
    for (const s of this.stagings.values()) for (const d of s.dicts) d?.clear();
    const used: Staging[] = [];
    const staged: Staged[] = [];
    await this.conn.run('DELETE FROM temp.grp');
    for (let b = 0; b < group.length; b++) {
      const p = group[b]!;
      const s = await this.stagingFor(p.batch);
      // first batch of this column set in the group: its staging table is emptied and inserted from once
      if (!used.includes(s)) {
        await this.conn.run(`DELETE FROM temp.${s.table}`);
        used.push(s);
      }
      const { minTs, maxTs } = stage(s, b, p.m, p.batch);
      staged.push({ p, b, minTs, maxTs });
    }
    for (const s of used) s.appender.flushSync();
    const params: DuckDBValue[] = [];
    const values = staged.map(({ p, b }) => {
      params.push(b, p.m.tenant, p.m.id);
      return `($${params.length - 2}, $${params.length - 1}, $${params.length})`;
    });
    await this.conn.run(`INSERT INTO temp.grp VALUES ${values.join(', ')}`, params);

    await this.conn.run('BEGIN TRANSACTION');
    try {
      const lp: DuckDBValue[] = [];
      const rows = staged.map(({ p, minTs, maxTs }) => {
        lp.push(p.m.id, p.m.tenant, p.batch.length, BigInt(Math.round(minTs * 1000)), BigInt(Math.round(maxTs * 1000)));
        const n = lp.length;
        return `($${n - 4}, $${n - 3}, $${n - 2}, now(), make_timestamp($${n - 1}::BIGINT), make_timestamp($${n}::BIGINT))`;
      });
      const claimed = await this.conn.runAndReadAll(`INSERT INTO batches VALUES ${rows.join(', ')} ON CONFLICT DO NOTHING RETURNING batch_id`, lp);
      if (claimed.currentRowCount !== staged.length) throw new Error(`${staged.length - claimed.currentRowCount} batch(es) of the group already in the ledger`);
      for (const s of used) {
        const raw = rawInsertSql(s);
        await this.conn.run(raw.sql, raw.params, raw.types);
        const [finest, ...coarser] = ROLLUPS;
        const roll = finestRollupSql(s, finest!.seconds);
        await this.conn.run(roll.sql, roll.params, roll.types);
        await this.conn.run(`INSERT INTO ${rollupTable(finest!)} SELECT * FROM temp.rolled`);
        for (const r of coarser) await this.conn.run(coarserRollupSql(r.seconds, rollupTable(r)));
      }
      await this.conn.run('COMMIT');
    } catch (e) {
      await this.conn.run('ROLLBACK').catch(() => undefined);
      throw e;
    }
  }

  /** The staging table for the batch's column set, created on first use. */
  private async stagingFor(batch: FlowBatch): Promise<Staging> {
    const fields = STORED_FIELDS.filter((f) => batch.columns[f.col] !== undefined);
    const extra = batch.extra !== undefined && batch.extra.some((x) => x !== null && x !== undefined);
    const key = `${fields.map((f) => f.col).join(',')}${extra ? '+extra' : ''}`;
    let s = this.stagings.get(key);
    if (s === undefined) {
      const table = `staging_${this.stagings.size}`;
      await this.conn.run(`CREATE OR REPLACE TEMP TABLE ${table} (
        b INTEGER, row_no INTEGER, ts_ms DOUBLE,
        ${fields.map((f) => `${q(f.spec.name)} ${f.spec.kind !== 'string' ? 'DOUBLE' : f.lowCardinality ? 'INTEGER' : 'VARCHAR'}`).join(', ')}${fields.length > 0 ? ',' : ''}
        extra VARCHAR)`);
      const appender = await this.conn.createAppender(table, 'main', 'temp');
      const types = Array.from({ length: appender.columnCount }, (_, i) => appender.columnType(i));
      s = { table, fields, extra, appender, types, dicts: fields.map((f) => (f.spec.kind === 'string' && f.lowCardinality ? new Dictionary() : undefined)) };
      this.stagings.set(key, s);
    }
    return s;
  }

  /** batches waiting or a group job queued */
  get busy(): boolean {
    return this.scheduled || this.waiting.length > 0;
  }

  close(): void {
    for (const s of this.stagings.values()) s.appender.closeSync();
    this.stagings.clear();
  }
}

/** Appends one batch to its staging table (only its own columns), 2048 rows per chunk. */
function stage(s: Staging, b: number, m: BatchMeta, batch: FlowBatch): { minTs: number; maxTs: number } {
  const fallbackTs = Date.parse(m.createdAt);
  const n = batch.length;
  let minTs = Infinity;
  let maxTs = -Infinity;
  for (let start = 0; start < n; start += CHUNK_ROWS) {
    const rows = Math.min(CHUNK_ROWS, n - start);
    const chunk = DuckDBDataChunk.create(s.types, rows);
    const bv = chunk.getColumnVector(0);
    const rowNo = chunk.getColumnVector(1);
    const ts = chunk.getColumnVector(2);
    for (let i = 0; i < rows; i++) {
      const r = start + i;
      bv.setItem(i, b);
      rowNo.setItem(i, r);
      const t = rowTime(batch, r, fallbackTs);
      if (t < minTs) minTs = t;
      if (t > maxTs) maxTs = t;
      ts.setItem(i, t);
    }
    bv.flush();
    rowNo.flush();
    ts.flush();
    for (let k = 0; k < s.fields.length; k++) {
      const v = chunk.getColumnVector(k + 3);
      const c = batch.columns[s.fields[k]!.col]!;
      if (c instanceof Float64Array)
        for (let i = 0; i < rows; i++) {
          const x = c[start + i]!;
          v.setItem(i, Number.isNaN(x) ? null : x);
        }
      else if (s.dicts[k] === undefined) for (let i = 0; i < rows; i++) v.setItem(i, (c[start + i] ?? null) as DuckDBValue);
      else {
        const d = s.dicts[k]!;
        for (let i = 0; i < rows; i++) {
          const x = c[start + i];
          v.setItem(i, x === null || x === undefined ? null : d.id(x));
        }
      }
      v.flush();
    }
    const ex = chunk.getColumnVector(s.fields.length + 3);
    for (let i = 0; i < rows; i++) {
      const x = s.extra ? batch.extra?.[start + i] : null;
      ex.setItem(i, x ? JSON.stringify(x) : null);
    }
    ex.flush();
    s.appender.appendDataChunk(chunk);
  }
  if (n === 0) minTs = maxTs = fallbackTs;
  return { minTs, maxTs };
}

const msToTs = (e: string): string => `make_timestamp(CAST(round(${e} * 1000) AS BIGINT))`;

interface Statement {
  sql: string;
  params: DuckDBValue[];
  types: DuckDBType[];
}

/**
 * Expressions reading a staging table's columns as stored values. String columns are looked up in
 * their group dictionary, which becomes a statement parameter the first time it is used.
 */
class Exprs {
  readonly params: DuckDBValue[] = [];
  readonly types: DuckDBType[] = [];
  constructor(private readonly s: Staging) {}

  /** the stored value of `f` from column `col` of the staging row (`s.` prefix), or a typed NULL */
  value(f: StoredField, col = `s.${q(f.spec.name)}`): string {
    const k = this.s.fields.indexOf(f);
    const has = k >= 0;
    if (f.spec.kind === 'string') {
      if (!has) return 'NULL::VARCHAR';
      if (!f.lowCardinality) return col;
      this.params.push(listValue(this.s.dicts[k]!.values));
      this.types.push(LIST(VARCHAR));
      return `($${this.params.length}::VARCHAR[])[${col}]`;
    }
    if (f.spec.kind === 'time') return has ? msToTs(col) : 'NULL::TIMESTAMP';
    if (f.integer) return has ? `CAST(${col} AS BIGINT)` : 'NULL::BIGINT';
    return has ? col : 'NULL::DOUBLE';
  }

  statement(sql: string): Statement {
    return { sql, params: this.params, types: this.types };
  }
}

function rawInsertSql(s: Staging): Statement {
  const e = new Exprs(s);
  const present = s.fields;
  return e.statement(`INSERT INTO flows (tenant, batch_id, row_no, ts, ${present.map((f) => q(f.spec.name)).join(', ')}${present.length > 0 ? ',' : ''} extra)
    SELECT g.tenant, g.batch_id, s.row_no, ${msToTs('s.ts_ms')} AS ts, ${present.map((f) => e.value(f)).join(', ')}${present.length > 0 ? ',' : ''} s.extra
    FROM temp.${s.table} s JOIN temp.grp g ON g.b = s.b`);
}

const BY_NAME = new Map(STORED_FIELDS.map((f) => [f.spec.name, f]));
const DIMS_SQL = ROLLUP_DIMS.map(q).join(', ');

/**
 * The finest rollup of the staged rows, into a temp table; the coarser rollups are summed from it
 * (a tenth to a hundredth of the rows) instead of grouping the staged rows three times. Grouped on
 * the staged ids, the strings looked up once per rollup row.
 */
function finestRollupSql(s: Staging, seconds: number): Statement {
  const e = new Exprs(s);
  const dimFields = ROLLUP_DIMS.map((d) => BY_NAME.get(d)!);
  const inner = dimFields.filter((f) => s.fields.includes(f)).map((f) => `s.${q(f.spec.name)}`);
  const outer = dimFields.map((f) => `${e.value(f, `r.${q(f.spec.name)}`)} AS ${q(f.spec.name)}`);
  const sum = (name: string): string => (s.fields.includes(BY_NAME.get(name)!) ? `sum(CAST(s.${q(name)} AS BIGINT))` : 'NULL::BIGINT');
  return e.statement(`CREATE OR REPLACE TEMP TABLE rolled AS SELECT r.tenant, r.bucket, ${outer.join(', ')}, r.flows, r.packets, r.bytes
    FROM (SELECT g.tenant, time_bucket(INTERVAL '${seconds} seconds', ${msToTs('s.ts_ms')}) AS bucket, ${inner.map((c) => `${c}, `).join('')}
            count(*) AS flows, ${sum('packets')} AS packets, ${sum('bytes')} AS bytes
          FROM temp.${s.table} s JOIN temp.grp g ON g.b = s.b GROUP BY ALL) r`);
}

function coarserRollupSql(seconds: number, table: string): string {
  return `INSERT INTO ${table} SELECT tenant, time_bucket(INTERVAL '${seconds} seconds', bucket) AS b2, ${DIMS_SQL}, sum(flows), sum(packets), sum(bytes)
    FROM temp.rolled GROUP BY tenant, b2, ${DIMS_SQL}`;
}
