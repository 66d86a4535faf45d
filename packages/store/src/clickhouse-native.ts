import { quoteIdent } from './clickhouse-sql.js';
import { encodeString, i64, presentFields, u32, Writer, type RowBinaryItem } from './clickhouse-rowbinary.js';
import type { StoredField } from './schema.js';

/**
 * Flow batches as one block of ClickHouse's Native format, for `INSERT INTO flows (columns) FORMAT
 * Native`: column after column instead of row after row. Measured in the distributed benchmark's
 * enricher profile (2M AWS flows, 18.16): building the RowBinary body was 70% of the enricher's CPU
 * (~35 µs a row under that load; 5 µs a row alone), its row loop touching every column per row.
 * Column-major, each column is one tight loop over one array (no per-row dispatch on the kind), the
 * batch's constant tenant and id are a pattern fill, and the server reads whole columns instead of
 * parsing value by value.
 *
 * Layout: varint column count, varint row count, then per column its name, its type (both as
 * String) and its values. Nullable(T) = a byte per row (1 for NULL), then T for every row (NULLs as
 * T's default); String = varint length + UTF-8 bytes; UInt32, Int64, Float64 little-endian; DateTime
 * = UInt32 seconds; DateTime64(6) = Int64 microseconds. The type named for each column is the
 * table's own (`types`), except LowCardinality(T), which is sent as T: the insert then carries
 * `low_cardinality_allow_in_native_format = 0` and the server converts (its own Native encoding of
 * LowCardinality is a dictionary per block).
 */

export interface NativeBody {
  /** the INSERT's column list, in block order */
  columns: string;
  body: Buffer;
  rows: number;
  /** a column is sent as the plain type of a LowCardinality column: the insert needs low_cardinality_allow_in_native_format = 0 */
  plainForLowCardinality: boolean;
}

/** `types`: the target table's column types by name (system.columns). */
export function nativeBody(items: readonly RowBinaryItem[], types: ReadonlyMap<string, string>, table = 'flows'): NativeBody {
  const fields = presentFields(items);
  const withExtra = items.some(({ batch }) => batch.extra?.some((e) => e !== null && e !== undefined) === true);
  const rows = items.reduce((a, i) => a + i.batch.length, 0);
  const names = ['tenant', 'batch_id', 'row_no', 'ts', ...fields.map((f) => f.spec.name), ...(withExtra ? ['extra'] : [])];
  let plainForLowCardinality = false;
  const typeOf = (name: string): string => {
    const t = types.get(name);
    if (t === undefined) throw new Error(`clickhouse native insert: the table ${table} has no column ${name} (migrations not applied?)`);
    const lc = /^LowCardinality\((.*)\)$/.exec(t);
    if (lc) plainForLowCardinality = true;
    return lc ? lc[1]! : t;
  };
  // sized once (a growing buffer copies itself): strings at their UTF-16 length plus a length byte
  // (the writer still grows for non-ASCII), 9 bytes per other value
  let size = 4096 + names.length * 64;
  for (const { meta, batch } of items) {
    size += batch.length * (meta.tenant.length + meta.id.length + 10);
    for (const f of fields) {
      const c = batch.columns[f.col];
      if (f.spec.kind !== 'string' || c === undefined) {
        size += batch.length * 9;
        continue;
      }
      const sc = c as (string | null)[];
      size += batch.length * 2;
      for (let r = 0; r < batch.length; r++) size += sc[r]?.length ?? 0;
    }
  }
  const w = new Writer(size);
  w.varint(names.length);
  w.varint(rows);

  // tenant and batch_id: the batch's bytes repeated over its rows
  for (const name of ['tenant', 'batch_id'] as const) {
    head(w, name, typeOf(name));
    const nullable = /^Nullable\(/.test(types.get(name) ?? '');
    if (nullable) fillByte(w, rows, 0);
    for (const { meta, batch } of items) {
      const one = encodeString(name === 'tenant' ? meta.tenant : meta.id);
      w.ensure(one.length * batch.length);
      w.buf.fill(one, w.pos, w.pos + one.length * batch.length);
      w.pos += one.length * batch.length;
    }
  }
  head(w, 'row_no', typeOf('row_no'));
  w.ensure(rows * 4);
  for (const { batch, rowNo } of items) {
    if (rowNo) for (let r = 0; r < batch.length; r++) w.pos = u32(w.buf, w.pos, rowNo[r]!);
    else for (let r = 0; r < batch.length; r++) w.pos = u32(w.buf, w.pos, r);
  }
  head(w, 'ts', typeOf('ts'));
  w.ensure(rows * 4);
  for (const { secs } of items) for (let r = 0; r < secs.length; r++) w.pos = u32(w.buf, w.pos, secs[r]!);

  for (const f of fields) {
    const type = typeOf(f.spec.name);
    head(w, f.spec.name, type);
    if (f.spec.kind === 'string') stringColumn(w, items, f);
    else numberColumn(w, items, f, /Float64/.test(type) ? 'f64' : f.spec.kind === 'time' ? 'micros' : 'i64');
  }
  if (withExtra) {
    head(w, 'extra', typeOf('extra'));
    w.ensure(rows);
    for (const { batch } of items) for (let r = 0; r < batch.length; r++) w.buf[w.pos++] = batch.extra?.[r] ? 0 : 1;
    for (const { batch } of items) {
      for (let r = 0; r < batch.length; r++) {
        const ex = batch.extra?.[r];
        w.str(ex ? JSON.stringify(ex) : '');
      }
    }
  }
  return { columns: names.map(quoteIdent).join(', '), body: w.buf.subarray(0, w.pos), rows, plainForLowCardinality };
}

function head(w: Writer, name: string, type: string): void {
  w.str(name);
  w.str(type);
}

function fillByte(w: Writer, n: number, v: number): void {
  w.ensure(n);
  w.buf.fill(v, w.pos, w.pos + n);
  w.pos += n;
}

/** Nullable(String): the null map, then every value ('' for NULL). */
function stringColumn(w: Writer, items: readonly RowBinaryItem[], f: StoredField): void {
  let total = 0;
  for (const { batch } of items) total += batch.length;
  w.ensure(total);
  for (const { batch } of items) {
    const c = batch.columns[f.col] as (string | null)[] | undefined;
    for (let r = 0; r < batch.length; r++) w.buf[w.pos++] = c === undefined || c[r] === null || c[r] === undefined ? 1 : 0;
  }
  for (const { batch } of items) {
    const c = batch.columns[f.col] as (string | null)[] | undefined;
    if (c === undefined) {
      fillByte(w, batch.length, 0);
      continue;
    }
    for (let r = 0; r < batch.length; r++) {
      const v = c[r];
      if (v === null || v === undefined) {
        w.ensure(1);
        w.buf[w.pos++] = 0;
      } else w.str(v);
    }
  }
}

/** Nullable(Int64 | Float64 | DateTime64(6)): the null map, then 8 bytes a row (0 for NULL). */
function numberColumn(w: Writer, items: readonly RowBinaryItem[], f: StoredField, as: 'f64' | 'i64' | 'micros'): void {
  let total = 0;
  for (const { batch } of items) total += batch.length;
  w.ensure(total * 9);
  const buf = w.buf;
  let p = w.pos;
  for (const { batch } of items) {
    const c = batch.columns[f.col] as Float64Array | undefined;
    if (c === undefined) {
      buf.fill(1, p, p + batch.length);
      p += batch.length;
      continue;
    }
    for (let r = 0; r < batch.length; r++) buf[p++] = Number.isNaN(c[r]!) ? 1 : 0;
  }
  for (const { batch } of items) {
    const c = batch.columns[f.col] as Float64Array | undefined;
    if (c === undefined) {
      buf.fill(0, p, p + batch.length * 8);
      p += batch.length * 8;
      continue;
    }
    for (let r = 0; r < batch.length; r++) {
      const v = c[r]!;
      if (Number.isNaN(v)) {
        buf.fill(0, p, p + 8);
        p += 8;
      } else if (as === 'f64') p = buf.writeDoubleLE(v, p);
      else p = i64(buf, p, Math.round(as === 'micros' ? v * 1000 : v));
    }
  }
  w.pos = p;
}

