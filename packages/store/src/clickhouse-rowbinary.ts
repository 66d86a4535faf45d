import type { BatchMeta, FlowBatch } from '@sightline/flow';
import { quoteIdent } from './clickhouse-sql.js';
import { STORED_FIELDS, TIME_SOURCES, type StoredField } from './schema.js';

/**
 * Flow batches as one RowBinary body for `INSERT INTO flows (columns) FORMAT RowBinary`.
 * Measured on the 18.16 test server against TabSeparated of every column (8192 enriched AWS
 * flows): naming only the columns some row of the body has cuts the server's parsing to a third
 * (an AWS batch fills ~35 of the ~140 flow columns; the rest take their NULL default), and
 * RowBinary instead of text takes the client's encoding from ~75 ms to a few ms per batch.
 *
 * Layouts (little-endian): String = varint length + UTF-8 bytes (LowCardinality(String) reads
 * the same), Nullable(T) = one byte 1 for NULL else 0 then T, UInt32 = 4 bytes, Int64 = 8 bytes,
 * Float64 = 8 bytes, DateTime = UInt32 seconds. Times are Int64 microseconds, which is also the
 * layout of DateTime64(6) on servers that have it.
 */

export interface RowBinaryItem {
  meta: BatchMeta;
  batch: FlowBatch;
  /** row time in whole seconds (the `ts` column), one per row */
  secs: Float64Array;
}

export interface RowBinaryBody {
  /** the INSERT's column list, in body order */
  columns: string;
  body: Buffer;
  rows: number;
}

const TWO32 = 4294967296;

class Writer {
  buf: Buffer;
  view: DataView;
  pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(Math.max(size, 1024));
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  u32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }

  i64(v: number): void {
    this.ensure(8);
    if (v >= 0 && v < Number.MAX_SAFE_INTEGER) {
      this.view.setUint32(this.pos, v % TWO32, true);
      this.view.setUint32(this.pos + 4, Math.floor(v / TWO32), true);
    } else {
      this.view.setBigInt64(this.pos, BigInt(v), true);
    }
    this.pos += 8;
  }

  f64(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  str(s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    this.ensure(n + 5);
    let len = n;
    while (len >= 0x80) {
      this.buf[this.pos++] = (len & 0x7f) | 0x80;
      len >>>= 7;
    }
    this.buf[this.pos++] = len;
    this.pos += this.buf.write(s, this.pos, n, 'utf8');
  }
}

const present = (v: unknown): boolean => v !== null && v !== undefined && !(typeof v === 'number' && Number.isNaN(v));

/** The stored fields some row of these batches has a value for (every other column stays NULL). */
export function presentFields(items: readonly { batch: FlowBatch }[]): StoredField[] {
  return STORED_FIELDS.filter((f) =>
    items.some(({ batch }) => {
      const c = batch.columns[f.col];
      if (c === undefined) return false;
      for (let r = 0; r < batch.length; r++) if (present(c[r])) return true;
      return false;
    }),
  );
}

export function rowBinaryBody(items: readonly RowBinaryItem[]): RowBinaryBody {
  const fields = presentFields(items);
  const withExtra = items.some(({ batch }) => batch.extra?.some((e) => e !== null && e !== undefined) === true);
  const rows = items.reduce((a, i) => a + i.batch.length, 0);
  const w = new Writer(rows * (40 + fields.length * 12));
  for (const { meta, batch, secs } of items) {
    const cols = fields.map((f) => batch.columns[f.col]);
    for (let r = 0; r < batch.length; r++) {
      w.str(meta.tenant);
      w.str(meta.id);
      w.u32(r);
      w.u32(secs[r]!);
      for (let k = 0; k < fields.length; k++) {
        const f = fields[k]!;
        const v = cols[k]?.[r];
        if (!present(v)) {
          w.u8(1);
          continue;
        }
        w.u8(0);
        if (typeof v === 'string') w.str(v);
        else if (f.spec.kind === 'time') w.i64(Math.round((v as number) * 1000));
        else if (f.integer) w.i64(Math.round(v as number));
        else w.f64(v as number);
      }
      if (withExtra) {
        const ex = batch.extra?.[r];
        if (ex) {
          w.u8(0);
          w.str(JSON.stringify(ex));
        } else w.u8(1);
      }
    }
  }
  const names = ['tenant', 'batch_id', 'row_no', 'ts', ...fields.map((f) => f.spec.name), ...(withExtra ? ['extra'] : [])];
  return { columns: names.map(quoteIdent).join(', '), body: w.buf.subarray(0, w.pos), rows };
}

/** The row's time (ms) for partitioning and the rollups: the first time field it has, else the batch's creation. */
export function rowTime(batch: FlowBatch, r: number, fallback: number): number {
  for (const c of TIME_SOURCES) {
    const col = batch.columns[c];
    if (col instanceof Float64Array) {
      const v = col[r]!;
      if (!Number.isNaN(v)) return v;
    }
  }
  return fallback;
}
