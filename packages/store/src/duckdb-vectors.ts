import duckdb from '@duckdb/node-bindings';
import type { DuckDBDataChunk } from '@duckdb/node-api';
import os from 'node:os';

/**
 * Filling DuckDB data chunks column by column, with one native call per column per chunk where
 * node-api's vectors make one JavaScript call per value.
 *
 * Why (measured on the embedded demo, 449,616 flows): node-api's `setItem` keeps validity in a
 * BigUint64Array (a BigInt shift and mask per value) and its VARCHAR vector calls into the addon once
 * per string at flush; filling the chunks took several times the parsing itself. Here:
 * - numbers are written into a typed array and copied into the vector in one call (a DOUBLE column
 *   without NaN is copied straight from the batch's Float64Array);
 * - validity is a byte buffer, copied in one call;
 * - a string is handed to DuckDB once per distinct value per chunk; the other rows of the chunk with
 *   that value get a copy of its 16-byte `duckdb_string_t` (the layout of the public C API: length,
 *   then the bytes inline when they fit in 12, else a 4-byte prefix and a pointer into the vector's
 *   own string heap, which lives as long as the vector). Strings of at most 12 ASCII characters are
 *   written inline without calling DuckDB at all. DuckDB itself shares string pointers between rows of
 *   a vector (dictionary and constant vectors), and the appender copies the strings it keeps.
 */

// the 64-bit halves and string_t lengths below are written in the machine's order, which DuckDB reads natively
if (os.endianness() !== 'LE') throw new Error('duckdb-vectors: little-endian machines only');

/** DuckDB's vector size: the appender's fast path is whole chunks of this many rows. */
export const CHUNK_ROWS = 2048;

const STRING_T = 16;
const INT64_LIMIT = 2 ** 63;
const INLINE = 12;

/** Scratch buffers shared by every column of every chunk (filled, copied into the vector, reused). */
const validity = new Uint8Array(CHUNK_ROWS / 8);
const i32 = new Int32Array(CHUNK_ROWS * 4);
const f64 = new Float64Array(CHUNK_ROWS);
const slots = new Uint8Array(CHUNK_ROWS * STRING_T);
const slots32 = new Int32Array(slots.buffer);
const firstRow = new Map<string, number>();
const source = new Int32Array(CHUNK_ROWS);
const nativeRows = new Int32Array(CHUNK_ROWS);

export function vectorOf(chunk: DuckDBDataChunk, column: number): duckdb.Vector {
  return duckdb.data_chunk_get_vector(chunk.chunk, column);
}

function setValidity(v: duckdb.Vector, rows: number, allValid: boolean): void {
  if (allValid) return;
  duckdb.vector_ensure_validity_writable(v);
  duckdb.copy_data_to_vector_validity(v, 0, validity.buffer, 0, Math.ceil(rows / 64) * 8);
}

/** Every row NULL (a column the batch does not carry). */
export function writeNulls(v: duckdb.Vector, rows: number): void {
  validity.fill(0);
  setValidity(v, rows, false);
}

/** DOUBLE from a Float64Array (NaN: NULL), rows [start, start + rows). */
export function writeDoubles(v: duckdb.Vector, src: Float64Array, start: number, rows: number): void {
  validity.fill(0xff);
  let valid = true;
  for (let i = 0; i < rows; i++) {
    if (Number.isNaN(src[start + i]!)) {
      validity[i >> 3]! &= ~(1 << (i & 7));
      valid = false;
    }
  }
  duckdb.copy_data_to_vector(v, 0, src.buffer as ArrayBuffer, src.byteOffset + start * 8, rows * 8);
  setValidity(v, rows, valid);
}

/**
 * BIGINT (or TIMESTAMP in µs with `scale` 1000) from a Float64Array (NaN: NULL), rounded as
 * DuckDB's CAST(round(x) AS BIGINT) would for the values flows carry; each value written as two
 * 32-bit halves, since a BigInt per value costs more than the rest of the row.
 */
export function writeInt64s(v: duckdb.Vector, src: Float64Array, start: number, rows: number, scale = 1): void {
  validity.fill(0xff);
  let valid = true;
  for (let i = 0; i < rows; i++) {
    let x = src[start + i]!;
    if (Number.isNaN(x)) {
      validity[i >> 3]! &= ~(1 << (i & 7));
      valid = false;
      i32[2 * i] = 0;
      i32[2 * i + 1] = 0;
      continue;
    }
    x = Math.round(x * scale);
    if (!(x >= -INT64_LIMIT && x < INT64_LIMIT)) throw new RangeError(`${src[start + i]} is out of the BIGINT range (row ${start + i})`);
    i32[2 * i] = x >>> 0; // ToUint32 is x modulo 2^32: the low half, negative values included
    i32[2 * i + 1] = Math.floor(x / 4294967296) | 0;
  }
  duckdb.copy_data_to_vector(v, 0, i32.buffer, 0, rows * 8);
  setValidity(v, rows, valid);
}

/** INTEGER from a function of the row (never NULL). */
export function writeInt32s(v: duckdb.Vector, rows: number, value: (i: number) => number): void {
  for (let i = 0; i < rows; i++) i32[i] = value(i);
  duckdb.copy_data_to_vector(v, 0, i32.buffer, 0, rows * 4);
}

/** DOUBLE from a function of the row (never NULL). */
export function writeDoublesOf(v: duckdb.Vector, rows: number, value: (i: number) => number): void {
  for (let i = 0; i < rows; i++) f64[i] = value(i);
  duckdb.copy_data_to_vector(v, 0, f64.buffer, 0, rows * 8);
}

/** The same string in every row (the tenant, the batch id of a chunk of one batch). */
export function writeConstantString(v: duckdb.Vector, rows: number, s: string): void {
  writeStrings(v, rows, () => s);
}

/**
 * VARCHAR from a function of the row (null/undefined: NULL). Each distinct value is given to DuckDB
 * once per chunk (or written inline when short ASCII); its other rows copy that string_t.
 */
export function writeStrings(v: duckdb.Vector, rows: number, value: (i: number) => string | null | undefined): void {
  validity.fill(0xff);
  let valid = true;
  let natives = 0;
  firstRow.clear();
  for (let i = 0; i < rows; i++) {
    const x = value(i);
    if (x === null || x === undefined) {
      validity[i >> 3]! &= ~(1 << (i & 7));
      valid = false;
      source[i] = -1;
      slots32.fill(0, 4 * i, 4 * i + 4);
      continue;
    }
    const first = firstRow.get(x);
    if (first !== undefined) {
      source[i] = first;
      continue;
    }
    firstRow.set(x, i);
    source[i] = i;
    if (!inline(x, i)) {
      duckdb.vector_assign_string_element(v, i, x);
      nativeRows[natives++] = i;
    }
  }
  if (natives > 0) {
    // the string_t DuckDB wrote for the values it was given (vector_get_data returns a copy)
    const data = duckdb.vector_get_data(v, rows * STRING_T);
    const d32 = data.byteOffset % 4 === 0 ? new Int32Array(data.buffer, data.byteOffset, rows * 4) : new Int32Array(data.slice().buffer);
    for (let k = 0; k < natives; k++) {
      const i = nativeRows[k]!;
      slots32.set(d32.subarray(4 * i, 4 * i + 4), 4 * i);
    }
  }
  for (let i = 0; i < rows; i++) {
    const s = source[i]!;
    if (s >= 0 && s !== i) {
      slots32[4 * i] = slots32[4 * s]!;
      slots32[4 * i + 1] = slots32[4 * s + 1]!;
      slots32[4 * i + 2] = slots32[4 * s + 2]!;
      slots32[4 * i + 3] = slots32[4 * s + 3]!;
    }
  }
  duckdb.copy_data_to_vector(v, 0, slots.buffer, 0, rows * STRING_T);
  setValidity(v, rows, valid);
}

/** Writes `x` inline into slot `i` when it is at most 12 ASCII characters; false otherwise. */
function inline(x: string, i: number): boolean {
  const n = x.length;
  if (n > INLINE) return false;
  const o = i * STRING_T;
  for (let k = 0; k < n; k++) {
    const c = x.charCodeAt(k);
    if (c > 0x7f) return false;
    slots[o + 4 + k] = c;
  }
  slots32[4 * i] = n;
  slots.fill(0, o + 4 + n, o + STRING_T);
  return true;
}
