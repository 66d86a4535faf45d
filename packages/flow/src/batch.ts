import { CLOUDS, FIELD_LIST, fieldsForCloud, FLOW_SCHEMA_VERSION, type Cloud, type FieldSpec } from './fields.js';

/**
 * A columnar batch of normalized flows. Parsers fill columns in place (typed arrays for
 * numbers and times, arrays for strings) so the hot path allocates no object per record;
 * a row object is only built at the edges (NDJSON output, tests, the query API).
 *
 * Numbers and times use NaN for null. String columns hold null for absent values.
 * Columns are allocated on first use, so an AWS batch carries no GCP columns.
 */

/** Column index of every field, in FIELD_LIST order. */
export const COL: Readonly<Record<string, number>> = Object.freeze(
  Object.fromEntries(FIELD_LIST.map((s, i) => [s.name, i])),
);

export function colIndex(name: string): number {
  const i = COL[name];
  if (i === undefined) throw new Error(`unknown flow field "${name}"`);
  return i;
}

export type StringColumn = (string | null)[];
export type Column = Float64Array | StringColumn;

export const DEFAULT_BATCH_CAPACITY = 8192;

export class FlowBatch {
  readonly capacity: number;
  /** rows filled so far */
  length = 0;
  readonly columns: (Column | undefined)[];
  /** unknown source fields per row (AWS custom columns, new GCP payload keys); null when none */
  extra: (Record<string, string> | null)[] | undefined;

  constructor(capacity: number = DEFAULT_BATCH_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity <= 0) throw new Error(`batch capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.columns = new Array<Column | undefined>(FIELD_LIST.length).fill(undefined);
  }

  /**
   * A batch over columns built elsewhere (a decoder): capacity is the row count (at least 1),
   * so the batch is complete as given. Columns are indexed like FIELD_LIST and checked for kind and length.
   */
  static fromColumns(
    length: number,
    columns: readonly (Column | undefined)[],
    extra?: (Record<string, string> | null)[],
  ): FlowBatch {
    if (!Number.isInteger(length) || length < 0) throw new Error(`batch length must be a non-negative integer, got ${length}`);
    if (columns.length !== FIELD_LIST.length) throw new Error(`expected ${FIELD_LIST.length} columns, got ${columns.length}`);
    const b = new FlowBatch(Math.max(length, 1));
    for (let i = 0; i < columns.length; i++) {
      const c = columns[i];
      if (c === undefined) continue;
      const spec = FIELD_LIST[i]!;
      if ((spec.kind === 'string') === c instanceof Float64Array) throw new Error(`column ${spec.name} has the wrong kind for a ${spec.kind} field`);
      if (c.length < length) throw new Error(`column ${spec.name} has ${c.length} values for ${length} rows`);
      b.columns[i] = c;
    }
    if (extra !== undefined) {
      if (extra.length < length) throw new Error(`extra has ${extra.length} entries for ${length} rows`);
      b.extra = extra;
    }
    b.length = length;
    return b;
  }

  /** A copy of rows [start, end), with the same columns allocated. */
  slice(start: number, end: number = this.length): FlowBatch {
    const s = Math.max(0, Math.min(start, this.length));
    const e = Math.max(s, Math.min(end, this.length));
    const n = e - s;
    const cols = this.columns.map((c): Column | undefined => {
      if (c === undefined) return undefined;
      if (c instanceof Float64Array) {
        const out = new Float64Array(Math.max(n, 1)).fill(NaN);
        out.set(c.subarray(s, e));
        return out;
      }
      const out = c.slice(s, e);
      if (n === 0) out.push(null);
      return out;
    });
    const extra = this.extra === undefined ? undefined : this.extra.slice(s, e).map((x) => (x ? { ...x } : null));
    if (extra !== undefined && n === 0) extra.push(null);
    return FlowBatch.fromColumns(n, cols, extra);
  }

  /** A copy of the given rows (indexes into this batch, in the order given), with the same columns allocated. */
  pick(rows: ArrayLike<number>): FlowBatch {
    const n = rows.length;
    const cols = this.columns.map((c): Column | undefined => {
      if (c === undefined) return undefined;
      if (c instanceof Float64Array) {
        const out = new Float64Array(Math.max(n, 1)).fill(NaN);
        for (let j = 0; j < n; j++) out[j] = c[rows[j]!]!;
        return out;
      }
      const out = Array.from({ length: Math.max(n, 1) }, (_, j) => (j < n ? (c[rows[j]!] ?? null) : null));
      return out;
    });
    const ex = this.extra;
    const extra = ex === undefined ? undefined : Array.from({ length: Math.max(n, 1) }, (_, j) => (j < n ? (ex[rows[j]!] ?? null) : null));
    return FlowBatch.fromColumns(n, cols, extra);
  }

  get full(): boolean {
    return this.length >= this.capacity;
  }

  /** The Float64Array of a number or time column, allocated (all NaN) on first use. */
  numbers(index: number): Float64Array {
    let c = this.columns[index];
    if (c === undefined) {
      const spec = FIELD_LIST[index];
      if (!spec || spec.kind === 'string') throw new Error(`column ${spec?.name ?? index} is not numeric`);
      c = new Float64Array(this.capacity).fill(NaN);
      this.columns[index] = c;
    }
    return c as Float64Array;
  }

  /** The array of a string column, allocated (all null) on first use. */
  strings(index: number): StringColumn {
    let c = this.columns[index];
    if (c === undefined) {
      const spec = FIELD_LIST[index];
      if (!spec || spec.kind !== 'string') throw new Error(`column ${spec?.name ?? index} is not a string column`);
      c = new Array<string | null>(this.capacity).fill(null);
      this.columns[index] = c;
    }
    return c as StringColumn;
  }

  extras(): (Record<string, string> | null)[] {
    if (this.extra === undefined) this.extra = new Array<Record<string, string> | null>(this.capacity).fill(null);
    return this.extra;
  }

  /** Value of one cell: string, number or epoch ms, null when absent or the column was never filled. */
  get(row: number, index: number): string | number | null {
    const c = this.columns[index];
    if (c === undefined) return null;
    const v = c[row];
    if (v === undefined || v === null) return null;
    if (typeof v === 'number' && Number.isNaN(v)) return null;
    return v;
  }

  cloudOf(row: number): Cloud {
    const v = this.get(row, CLOUD_COL);
    if (typeof v !== 'string' || !(CLOUDS as readonly string[]).includes(v)) throw new Error(`row ${row} has no cloud`);
    return v as Cloud;
  }

  /** The row as a plain object: every field of its cloud (null where absent), times as ISO-8601. */
  row(row: number): FlowRow {
    const out: FlowRow = {};
    for (const spec of fieldsFor(this.cloudOf(row), this.get(row, FORMAT_COL))) out[spec.name] = this.cell(row, spec);
    const ex = this.extra?.[row];
    if (ex) out.extra = { ...ex };
    return out;
  }

  /** One NDJSON line (no newline), same content as JSON.stringify(row(i)) but without building the object. */
  jsonLine(row: number): string {
    const specs = fieldsFor(this.cloudOf(row), this.get(row, FORMAT_COL));
    let s = '{';
    for (let k = 0; k < specs.length; k++) {
      const spec = specs[k]!;
      const c = this.columns[spec.index];
      if (k > 0) s += ',';
      s += spec.key;
      if (c === undefined) {
        s += 'null';
        continue;
      }
      const v = c[row];
      if (typeof v === 'number') {
        if (Number.isNaN(v)) s += 'null';
        else if (spec.kind === 'time') s += '"' + isoTime(v) + '"';
        else s += String(v);
      } else if (v === null || v === undefined) s += 'null';
      else s += JSON.stringify(v);
    }
    const ex = this.extra?.[row];
    if (ex) s += ',"extra":' + JSON.stringify(ex);
    return s + '}';
  }

  private cell(row: number, spec: IndexedSpec): string | number | null {
    const v = this.get(row, spec.index);
    if (v !== null && spec.kind === 'time' && typeof v === 'number') return isoTime(v);
    return v;
  }
}

/**
 * First difference between two batches' content, or null when they hold the same flows:
 * cell values (NaN and null are the same absence; an unallocated column equals an all-null one)
 * and extra maps. Meant for tests and consistency checks, not hot paths.
 */
export function batchDiff(a: FlowBatch, b: FlowBatch): string | null {
  if (a.length !== b.length) return `length ${a.length} != ${b.length}`;
  for (let i = 0; i < FIELD_LIST.length; i++) {
    if (a.columns[i] === undefined && b.columns[i] === undefined) continue;
    for (let r = 0; r < a.length; r++) {
      const x = a.get(r, i);
      const y = b.get(r, i);
      if (!Object.is(x, y)) return `row ${r} field ${FIELD_LIST[i]!.name}: ${JSON.stringify(x)} != ${JSON.stringify(y)}`;
    }
  }
  for (let r = 0; r < a.length; r++) {
    const x = a.extra?.[r] ?? null;
    const y = b.extra?.[r] ?? null;
    if (x === null && y === null) continue;
    if (x === null || y === null) return `row ${r} extra: ${JSON.stringify(x)} != ${JSON.stringify(y)}`;
    const kx = Object.keys(x);
    if (kx.length !== Object.keys(y).length || kx.some((k) => !Object.hasOwn(y, k) || x[k] !== y[k])) {
      return `row ${r} extra: ${JSON.stringify(x)} != ${JSON.stringify(y)}`;
    }
  }
  return null;
}

export type FlowRow = Record<string, string | number | null | Record<string, string>>;

interface IndexedSpec extends FieldSpec {
  readonly index: number;
  /** `"name":` pre-encoded for the NDJSON writer */
  readonly key: string;
}

const CLOUD_COL = colIndex('cloud');
const FORMAT_COL = colIndex('format');

/** Output fields by cloud and row format, built on first use (a few formats per cloud). */
const FIELDS_FOR = new Map<string, readonly IndexedSpec[]>();

function index(specs: readonly FieldSpec[]): IndexedSpec[] {
  return specs.map((s) => ({ ...s, index: colIndex(s.name), key: JSON.stringify(s.name) + ':' }));
}

function fieldsFor(cloud: Cloud, format: string | number | null): readonly IndexedSpec[] {
  const f = typeof format === 'string' ? format : '';
  const key = cloud + '/' + f;
  let specs = FIELDS_FOR.get(key);
  if (specs === undefined) {
    specs = index(fieldsForCloud(cloud, [], f === '' ? undefined : f));
    FIELDS_FOR.set(key, specs);
  }
  return specs;
}

/**
 * ISO-8601 UTC with millisecond precision, or microseconds when the value carries them
 * (GCP times have up to nanosecond digits; epoch-ms doubles keep about 0.25 µs).
 */
export function isoTime(ms: number): string {
  const whole = Math.floor(ms);
  const iso = new Date(whole).toISOString();
  const frac = ms - whole;
  if (frac === 0) return iso;
  const micros = Math.round(frac * 1000);
  if (micros === 0 || micros === 1000) return iso;
  return iso.slice(0, -1) + String(micros).padStart(3, '0') + 'Z';
}

export { FLOW_SCHEMA_VERSION };
