import { BIGINT, DuckDBTableFunction, DuckDBTypeId, TIMESTAMP, VARCHAR, type DuckDBConnection, type DuckDBDataChunk, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import { CLOUDS, FIELD_LIST, type BatchMeta, type FlowBatch } from '@sightline/flow';
import { CHUNK_ROWS, vectorOf, writeConstantString, writeDoubles, writeInt32s, writeInt64s, writeNulls, writeStrings } from './duckdb-vectors.js';
import { servicePortSql } from './query-sql.js';
import { routeBatch, tableFields, type TableFields } from './route.js';
import { cloudFlowTable, ROLLUP_DIMS, ROLLUPS, rollupTable, rowTime, SERVICE_PORT, STORED_FIELDS, WIDE_FLOW_TABLE, type StoredField } from './schema.js';

/**
 * The DuckDB write path: group commit, raw rows inserted straight into their cloud's table
 * (`flows_<cloud>`, layout (b): schema.ts cloudFlowTable; `flows` is a view over those tables).
 *
 * Why it looks like this (measured on the embedded demo at 40x the samples, 449,616 flows, 2 cores):
 * - Each transaction (ledger, raw rows, three rollups) has a fixed cost of a few hundred ms, so the
 *   batches waiting when the connection frees up are written together in one transaction.
 * - DuckDB reads the group's rows from a table function (`RowSource`) whose chunks are filled column
 *   by column by duckdb-vectors.ts (one native call per column per 2048-row chunk, each distinct
 *   string handed over once per chunk). The earlier path staged every row into a temp table and
 *   copied it into `flows` with `INSERT … SELECT`: two copies of every row, node-api's per-value
 *   vector calls cost several times the parsing, and the rows went through the WAL, so the checkpoint
 *   at close compressed all of them again.
 * - The rollup keys come from a second table function over the same batches; the 1m rollup is
 *   grouped from them, the 5m and 1h rollups from the 1m rows (a tenth to a hundredth of the rows).
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

/**
 * A column of a target table: a stored field (by its batch column), one of the row's own columns,
 * or one the writer does not know (a column a later migration added for a field this code lacks): NULL.
 */
type Column =
  | { kind: 'field'; field: StoredField; type: DuckDBTypeId }
  | { kind: 'tenant' | 'batch_id' | 'row_no' | 'ts' | 'extra' | 'unknown' };

/** A batch of the group being written (or the rows of it that go to one raw table), with each row's time (ms). */
interface Item {
  m: BatchMeta;
  batch: FlowBatch;
  ts: Float64Array;
  /** the batch's row numbers of these rows, when they are part of a batch split between raw tables */
  rowNo?: Int32Array;
}

/** A raw flow table the writer fills: its columns, which fields it holds, the table function that yields its rows. */
interface RawTable {
  readonly name: string;
  /** by FIELD_LIST index: 1 where the table has the field's column */
  readonly holds: TableFields;
  readonly source: RowSource;
}

interface Functions {
  /** the cloud tables, in CLOUDS order */
  clouds: RawTable[];
  wide: RawTable;
  keys: RowSource;
}

/** Fills `rows` rows of a chunk from the item's rows [start, start + rows). */
type Fill = (out: DuckDBDataChunk, it: Item, start: number, rows: number) => void;

let functionSeq = 0;

/**
 * A table function registered on the connection that yields the rows of the items given to
 * `scan`, a chunk per call, never two batches in one chunk (tenant and batch id are constants of a
 * chunk). DuckDB calls it from its own thread; node-api runs the call on the JavaScript thread and
 * blocks the scan until it returns, so `scan`'s query sees exactly these items. A fill that throws
 * fails the query with its message.
 */
class RowSource {
  private items: Item[] = [];
  private b = 0;
  private start = 0;

  constructor(conn: DuckDBConnection, readonly name: string, columns: { name: string; type: DuckDBType }[], fill: Fill) {
    const fn = DuckDBTableFunction.create({
      name,
      bindFunction: (info) => {
        for (const c of columns) info.addResultColumn(c.name, c.type);
      },
      initFunction: () => {},
      mainFunction: (info, out) => {
        try {
          while (this.b < this.items.length && this.start >= this.items[this.b]!.batch.length) {
            this.b++;
            this.start = 0;
          }
          const it = this.items[this.b];
          if (it === undefined) {
            out.rowCount = 0;
            return;
          }
          const rows = Math.min(CHUNK_ROWS, it.batch.length - this.start);
          out.rowCount = rows;
          fill(out, it, this.start, rows);
          this.start += rows;
        } catch (e) {
          info.setError(e instanceof Error ? e.message : String(e));
          out.rowCount = 0;
        }
      },
    });
    conn.registerTableFunction(fn);
  }

  /** Runs `query` (which reads this function once) over `items`. */
  async scan<T>(items: Item[], query: () => Promise<T>): Promise<T> {
    this.items = items;
    this.b = 0;
    this.start = 0;
    try {
      return await query();
    } finally {
      this.items = [];
    }
  }
}

export class DuckDBWriter {
  private readonly waiting: Pending[] = [];
  private scheduled = false;
  private f: Functions | undefined;

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
   * One transaction: ledger claim, the raw rows, the rollups. The raw rows and the rollup keys are
   * read by DuckDB from table functions over the group's batches (`INSERT INTO flows_aws SELECT *
   * FROM rows()`, one insert per raw table the group has rows for), which fill each 2048-row chunk
   * when DuckDB asks for it: nothing is staged, the insert runs on DuckDB's threads (JavaScript fills
   * a chunk per call between its own work), and an insert of more than a row group is written compressed to the database file as it goes instead
   * of into the WAL for a checkpoint to compress later (measured: a 300 MB WAL and a checkpoint at
   * close that took a third of the demo with an appender). The 1m rollup is grouped from the keys,
   * the 5m and 1h from the 1m rows.
   */
  private async commit(group: Pending[]): Promise<void> {
    const f = await this.functions();
    const ledger: string[] = [];
    const lp: DuckDBValue[] = [];
    const items: Item[] = [];
    // each raw table's rows of the group, in arrival order: a table's rows go in with one insert
    const parts = new Map<RawTable, Item[]>();
    for (const p of group) {
      const ts = rowTimes(p.m, p.batch);
      let minTs = Infinity;
      let maxTs = -Infinity;
      for (let i = 0; i < ts.length; i++) {
        if (ts[i]! < minTs) minTs = ts[i]!;
        if (ts[i]! > maxTs) maxTs = ts[i]!;
      }
      if (p.batch.length === 0) minTs = maxTs = Date.parse(p.m.createdAt);
      items.push({ m: p.m, batch: p.batch, ts });
      for (const part of route(items[items.length - 1]!, f)) {
        const list = parts.get(part.table);
        if (list === undefined) parts.set(part.table, [part.item]);
        else list.push(part.item);
      }
      lp.push(p.m.id, p.m.tenant, p.batch.length, BigInt(Math.round(minTs * 1000)), BigInt(Math.round(maxTs * 1000)));
      const n = lp.length;
      ledger.push(`($${n - 4}, $${n - 3}, $${n - 2}, now(), make_timestamp($${n - 1}::BIGINT), make_timestamp($${n}::BIGINT))`);
    }
    await this.conn.run('BEGIN TRANSACTION');
    try {
      const claimed = await this.conn.runAndReadAll(`INSERT INTO batches VALUES ${ledger.join(', ')} ON CONFLICT DO NOTHING RETURNING batch_id`, lp);
      if (claimed.currentRowCount !== group.length) throw new Error(`${group.length - claimed.currentRowCount} batch(es) of the group already in the ledger`);
      for (const [t, its] of parts) await t.source.scan(its, () => this.conn.run(`INSERT INTO ${q(t.name)} SELECT * FROM ${t.source.name}()`));
      const [finest, ...coarser] = ROLLUPS;
      await f.keys.scan(items, () => this.conn.run(finestRollupSql(finest!.seconds, f.keys.name)));
      await this.conn.run(`INSERT INTO ${rollupTable(finest!)} (tenant, bucket, ${DIMS_SQL}, flows, packets, bytes) SELECT * FROM temp.rolled`);
      for (const r of coarser) await this.conn.run(coarserRollupSql(r.seconds, rollupTable(r)));
      await this.conn.run('COMMIT');
    } catch (e) {
      await this.conn.run('ROLLBACK').catch(() => undefined);
      throw e;
    }
  }

  /**
   * The table functions, registered on first use (after the migrations: each raw table's columns
   * are read from the database): one per raw table (the three cloud tables and `flows_wide`) and
   * one for the rollup keys.
   */
  private async functions(): Promise<Functions> {
    if (this.f !== undefined) return this.f;
    const id = `${process.pid}_${++functionSeq}`;
    const raw = async (table: string): Promise<RawTable> => {
      const cols = (await this.conn.runAndReadAll(
        `SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() AND schema_name = 'main' AND table_name = $1 ORDER BY column_index`,
        [table],
      )).getColumnsJS()[0]?.map(String) ?? [];
      if (cols.length === 0) throw new Error(`duckdb: no ${table} table (was migrate() run?)`);
      // the column types, as the engine has them (an appender reports them; it writes nothing)
      const probe = await this.conn.createAppender(table);
      const types = Array.from({ length: probe.columnCount }, (_, i) => probe.columnType(i));
      probe.closeSync();
      if (types.length !== cols.length) throw new Error(`duckdb: ${table} has ${types.length} columns, ${cols.length} named`);
      const columns = cols.map((name, i): Column => {
        if (name === 'tenant' || name === 'batch_id' || name === 'row_no' || name === 'ts' || name === 'extra') return { kind: name };
        const field = BY_NAME.get(name);
        return field === undefined ? { kind: 'unknown' } : { kind: 'field', field, type: types[i]!.typeId };
      });
      const holds = tableFields(cols);
      const source = new RowSource(this.conn, `sightline_${table}_rows_${id}`, cols.map((name, i) => ({ name, type: types[i]! })), (out, it, start, rows) =>
        fillRaw(out, columns, it, start, rows),
      );
      return { name: table, holds, source };
    };
    const clouds: RawTable[] = [];
    for (const c of CLOUDS) clouds.push(await raw(cloudFlowTable(c)));
    const wide = await raw(WIDE_FLOW_TABLE);
    const keys = new RowSource(
      this.conn,
      `sightline_rollup_keys_${id}`,
      [
        { name: 'tenant', type: VARCHAR },
        { name: 'ts', type: TIMESTAMP },
        ...ROLLUP_KEY_FIELDS.map((f) => ({ name: f.spec.name, type: f.spec.kind === 'string' ? VARCHAR : BIGINT })),
      ],
      fillRollupKeys,
    );
    this.f = { clouds, wide, keys };
    return this.f;
  }

  /** A migration changed the raw tables: the next group reads their columns again. */
  reset(): void {
    this.f = undefined;
  }

  /** batches waiting or a group job queued */
  get busy(): boolean {
    return this.scheduled || this.waiting.length > 0;
  }

  close(): void {
    this.f = undefined;
  }
}

const BY_NAME = new Map(STORED_FIELDS.map((f) => [f.spec.name, f]));
const DIMS_SQL = ROLLUP_DIMS.map(q).join(', ');
/** The rollup keys over the key rows: the service port is computed from the two ports (the raw table's expression). */
const DIMS_SELECT = ROLLUP_DIMS.map((d) => (d === SERVICE_PORT ? `${servicePortSql('duckdb', q)} AS ${q(d)}` : q(d))).join(', ');
/** The key rows' fields: the stored rollup dimensions, the two ports (for the service port), then the two summed measures. */
const ROLLUP_KEY_FIELDS: readonly StoredField[] = [...ROLLUP_DIMS.filter((d) => d !== SERVICE_PORT), 'src_port', 'dst_port', 'packets', 'bytes'].map((d) => {
  const f = BY_NAME.get(d);
  if (f === undefined) throw new Error(`duckdb writer: rollup key ${d} is not a stored field`);
  return f;
});

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

/** One chunk of raw rows: every column of a raw table, in its order. */
function fillRaw(out: DuckDBDataChunk, columns: readonly Column[], it: Item, start: number, rows: number): void {
  const { m, batch } = it;
  const extra = batch.extra;
  for (const [k, c] of columns.entries()) {
    const v = vectorOf(out, k);
    switch (c.kind) {
      case 'tenant':
        writeConstantString(v, rows, m.tenant);
        break;
      case 'batch_id':
        writeConstantString(v, rows, m.id);
        break;
      case 'row_no': {
        const rowNo = it.rowNo;
        writeInt32s(v, rows, rowNo === undefined ? (i) => start + i : (i) => rowNo[start + i]!);
        break;
      }
      case 'ts':
        writeInt64s(v, it.ts, start, rows, 1000);
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
}

/**
 * The parts of an item by raw table (route.ts says which rows go where): the whole item, uncopied,
 * when its rows all go to one table, else copies of the rows that keep their row numbers.
 */
function route(it: Item, f: Functions): { table: RawTable; item: Item }[] {
  const tables = [...f.clouds, f.wide];
  return routeBatch(it.batch, f.clouds.map((t) => t.holds), f.wide.holds, `duckdb batch ${it.m.id}`).map(({ table, rows }) => ({
    table: tables[table]!,
    item:
      rows === undefined
        ? it
        : { m: it.m, batch: it.batch.pick(rows), ts: Float64Array.from(rows, (r) => it.ts[r]!), rowNo: it.rowNo === undefined ? rows : Int32Array.from(rows, (r) => it.rowNo![r]!) },
  }));
}

/** One chunk of rollup keys: tenant, row time, dimensions, packets, bytes. */
function fillRollupKeys(out: DuckDBDataChunk, it: Item, start: number, rows: number): void {
  writeConstantString(vectorOf(out, 0), rows, it.m.tenant);
  writeInt64s(vectorOf(out, 1), it.ts, start, rows, 1000);
  for (const [k, f] of ROLLUP_KEY_FIELDS.entries()) fillField(vectorOf(out, k + 2), f, f.spec.kind === 'string' ? DuckDBTypeId.VARCHAR : DuckDBTypeId.BIGINT, it.batch, start, rows);
}

/** The finest rollup of the group's keys, into a temp table the coarser rollups are summed from. */
function finestRollupSql(seconds: number, keys: string): string {
  return `CREATE OR REPLACE TEMP TABLE rolled AS SELECT tenant, time_bucket(INTERVAL '${seconds} seconds', ts) AS bucket, ${DIMS_SELECT},
      count(*) AS flows, sum(packets) AS packets, sum(bytes) AS bytes
    FROM ${keys}() GROUP BY tenant, bucket, ${DIMS_SQL}`;
}

function coarserRollupSql(seconds: number, table: string): string {
  return `INSERT INTO ${table} (tenant, bucket, ${DIMS_SQL}, flows, packets, bytes)
    SELECT tenant, time_bucket(INTERVAL '${seconds} seconds', bucket) AS b2, ${DIMS_SQL}, sum(flows), sum(packets), sum(bytes)
    FROM temp.rolled GROUP BY tenant, b2, ${DIMS_SQL}`;
}
