import { endianness } from 'node:os';
import { crc32, deflateRawSync, inflateRawSync } from 'node:zlib';
import { compressSync as lz4Compress, uncompressSync as lz4Uncompress } from 'lz4-napi';
import { BatchMetaSchema, type BatchMeta } from './batch-meta.js';
import { FlowBatch, type Column, type StringColumn } from './batch.js';
import { FIELD_LIST, FLOW_SCHEMA_VERSION } from './fields.js';

const COL_BY_NAME: ReadonlyMap<string, number> = new Map(FIELD_LIST.map((s, i) => [s.name, i]));

/**
 * The Kafka message form of a FlowBatch: a small JSON header (BatchMeta) readable on its own,
 * then a compressed columnar body. Chosen by bench/encoding.bench.ts over Arrow IPC, Avro,
 * protobuf and JSON lines (see bench/README.md for the figures and the reasons).
 *
 * Message layout, little-endian:
 *
 *   0   4  magic "SLFB"
 *   4   1  format version (FORMAT_VERSION)
 *   5   1  body codec (Codec)
 *   6   2  flags, 0 (a reader refuses flags it does not know)
 *   8   4  header length H
 *   12  4  crc32 of the header bytes
 *   16  H  header: BatchMeta as UTF-8 JSON
 *   +0  4  compressed body length C
 *   +4  4  raw body length R
 *   +8  4  crc32 of the compressed body
 *   +12 C  body
 *
 * The crc checks run before anything is parsed or decompressed, so a corrupt message fails
 * with a clear error instead of feeding garbage to JSON.parse or the decompressor.
 *
 * Body, after decompression:
 *
 *   u32 rows, the string table, u16 column count, then per column: u8 name length, name (ASCII),
 *   u8 encoding, data; then u8 extra-present and, if 1, the extra maps.
 *
 * Columns are named rather than numbered so a message stays readable by a build whose field
 * table has moved fields around. Numbers are stored as narrow unsigned offsets from a base when
 * every value is an integer (ports, protocol, counters, whole-ms times), which makes the body
 * several times smaller before compression and cheaper to decompress after. Strings are
 * dictionary-encoded against one table per batch: flow logs repeat accounts, interfaces, subnets
 * and pod names, and the same address fills several columns.
 */

export const MAGIC = 0x42464c53; // "SLFB" read as u32 LE
export const FORMAT_VERSION = 1;

export enum Codec {
  None = 0,
  Lz4 = 1,
  Deflate = 2,
}

export interface EncodeOptions {
  codec?: Codec;
  /** deflate level when codec is Deflate; default 1 (level 6 saves 5% more bytes for twice the encode time) */
  level?: number;
}

/** The codec new messages use: fastest to decode of those measured, see bench/README.md. */
export const DEFAULT_CODEC: Codec = Codec.Lz4;

/** Upper bounds that keep a corrupt length field from turning into a huge allocation. */
export const MAX_HEADER_BYTES = 64 * 1024;
export const MAX_BODY_BYTES = 512 * 1024 * 1024;

const PREFIX = 16;
const BODY_PREFIX = 12;

if (endianness() !== 'LE') throw new Error('the batch encoding copies typed arrays byte for byte and needs a little-endian host');

/** A message that cannot be decoded: says what was wrong and at which byte of the message (or of the decompressed body). */
export class BatchDecodeError extends Error {
  readonly offset: number | undefined;
  readonly source: string | undefined;
  constructor(message: string, where: { offset?: number; body?: boolean; source?: string } = {}) {
    const at = where.offset === undefined ? '' : where.body ? ` (body byte ${where.offset})` : ` (byte ${where.offset})`;
    super(`${where.source ? where.source + ': ' : ''}flow batch message: ${message}${at}`);
    this.name = 'BatchDecodeError';
    this.offset = where.offset;
    this.source = where.source;
  }
}

// ---------------------------------------------------------------- writing

class Writer {
  buf: Buffer;
  pos = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(Math.max(size, 64));
  }
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }
  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16LE(v, this.pos);
    this.pos += 2;
  }
  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(v, this.pos);
    this.pos += 4;
  }
  f64(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }
  varint(v: number): void {
    this.ensure(5);
    while (v > 0x7f) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.pos++] = v;
  }
  bytes(src: Uint8Array): void {
    this.ensure(src.length);
    this.buf.set(src, this.pos);
    this.pos += src.length;
  }
  ascii(s: string): void {
    this.ensure(s.length);
    this.pos += this.buf.write(s, this.pos, 'latin1');
  }
  result(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

const enum NumEnc {
  AllNull = 0,
  F64 = 1,
  /** f64 base, u8 width (0 = every row equals base, 1, 2, 4 or 6), then width-byte offsets; all-ones offset = null */
  Offset = 2,
  /** as Offset, in whole microseconds: value = (base + offset) / 1000 */
  Micros = 3,
}

const enum StrEnc {
  AllNull = 0,
  /** dictionary, then u8 index width (0 = one entry on every row, 1, 2 or 4) and 1-based indices, 0 = null */
  Dict = 1,
}

const isNegZero = (v: number): boolean => v === 0 && 1 / v < 0;

const MAX_OFFSET_6 = 2 ** 48 - 1;
const NULL_OFFSET = [0, 0xff, 0xffff, 0, 0xffffffff, 0, MAX_OFFSET_6] as const;

function writeNumbers(w: Writer, col: Float64Array, n: number): void {
  let min = Infinity;
  let max = -Infinity;
  let nulls = 0;
  let scale = 1;
  for (let i = 0; i < n; i++) {
    const v = col[i]!;
    if (v !== v) {
      nulls++;
      continue;
    }
    if (!Number.isSafeInteger(v) || isNegZero(v)) {
      scale = 0;
      break;
    }
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (nulls === n) {
    w.u8(NumEnc.AllNull);
    return;
  }
  if (scale === 0) {
    // GCP times carry microseconds: held as whole microseconds when that gives back the exact double
    scale = 1000;
    min = Infinity;
    max = -Infinity;
    for (let i = 0; i < n; i++) {
      const v = col[i]!;
      if (v !== v) continue;
      const us = Math.round(v * 1000);
      if (!Number.isSafeInteger(us) || us / 1000 !== v || isNegZero(v)) {
        scale = 0;
        break;
      }
      if (us < min) min = us;
      if (us > max) max = us;
    }
  }
  const range = max - min;
  if (scale === 0 || range >= MAX_OFFSET_6) {
    w.u8(NumEnc.F64);
    w.ensure(n * 8);
    w.buf.set(new Uint8Array(col.buffer, col.byteOffset, n * 8), w.pos);
    w.pos += n * 8;
    return;
  }
  w.u8(scale === 1 ? NumEnc.Offset : NumEnc.Micros);
  w.f64(min);
  if (nulls === 0 && range === 0) {
    w.u8(0);
    return;
  }
  const width = range < 0xff ? 1 : range < 0xffff ? 2 : range < 0xffffffff ? 4 : 6;
  const nul = NULL_OFFSET[width];
  w.u8(width);
  w.ensure(n * width);
  const b = w.buf;
  let p = w.pos;
  for (let i = 0; i < n; i++) {
    const v = col[i]!;
    const o = v !== v ? nul : (scale === 1 ? v : Math.round(v * 1000)) - min;
    if (width === 1) b[p] = o;
    else if (width === 2) {
      b[p] = o & 0xff;
      b[p + 1] = o >>> 8;
    } else if (width === 4) b.writeUInt32LE(o, p);
    else b.writeUIntLE(o, p, 6);
    p += width;
  }
  w.pos = p;
}

/** Dictionary of distinct strings in first-seen order: u32 count, u32 blob bytes, u8 ascii, varint byte lengths, blob. */
function writeDict(w: Writer, dict: string[]): void {
  // one write of the joined strings: a Buffer.write per entry costs more than the entry
  const blob = dict.join('');
  const total = Buffer.byteLength(blob, 'utf8');
  const ascii = total === blob.length ? 1 : 0;
  w.u32(dict.length);
  w.u32(total);
  w.u8(ascii);
  w.ensure(dict.length * 5 + total);
  if (ascii) for (let i = 0; i < dict.length; i++) w.varint(dict[i]!.length);
  else for (let i = 0; i < dict.length; i++) w.varint(Buffer.byteLength(dict[i]!, 'utf8'));
  w.pos += w.buf.write(blob, w.pos, ascii ? 'latin1' : 'utf8');
}

/** A string column after its first pass: 1-based ids into its own distinct values, 0 = null. */
interface LocalDict {
  ids: Uint32Array;
  dict: string[];
  nulls: number;
}

function localDict(col: StringColumn, n: number, name: string): LocalDict {
  const ids = new Uint32Array(n);
  const map = new Map<string, number>();
  const dict: string[] = [];
  let prev: string | null = null;
  let prevId = 0;
  let nulls = 0;
  for (let i = 0; i < n; i++) {
    const v = col[i];
    if (v === null || v === undefined) {
      nulls++;
      continue;
    }
    // consecutive rows often repeat a value (same interface, same account): skip the hash lookup
    if (v === prev) {
      ids[i] = prevId;
      continue;
    }
    if (typeof v !== 'string') throw new Error(`cannot encode row ${i} of ${name}: expected a string, got ${typeof v}`);
    let id = map.get(v);
    if (id === undefined) {
      dict.push(v);
      id = dict.length;
      map.set(v, id);
    }
    ids[i] = id;
    prev = v;
    prevId = id;
  }
  return { ids, dict, nulls };
}

/**
 * The batch-wide string table. One table rather than one per column because the same values
 * fill several columns (an address is in src_addr, srcaddr and pkt_srcaddr; a pod name in
 * GCP's src and dest columns): each distinct string is stored and decoded once.
 */
class StringTable {
  readonly strings: string[] = [];
  private readonly map = new Map<string, number>();
  /** 1-based id of s */
  id(s: string): number {
    let k = this.map.get(s);
    if (k === undefined) {
      this.strings.push(s);
      k = this.strings.length;
      this.map.set(s, k);
    }
    return k;
  }
}

function writeStrings(w: Writer, d: LocalDict, remap: Uint32Array, n: number): void {
  if (d.nulls === n) {
    w.u8(StrEnc.AllNull);
    return;
  }
  w.u8(StrEnc.Dict);
  if (d.nulls === 0 && d.dict.length === 1) {
    w.u8(0);
    w.u32(remap[1]!);
    return;
  }
  let max = 0;
  for (let k = 1; k < remap.length; k++) if (remap[k]! > max) max = remap[k]!;
  const width = max <= 0xff ? 1 : max <= 0xffff ? 2 : 4;
  w.u8(width);
  w.ensure(n * width);
  const b = w.buf;
  const ids = d.ids;
  let p = w.pos;
  if (width === 1) for (let i = 0; i < n; i++) b[p++] = remap[ids[i]!]!;
  else if (width === 2) {
    for (let i = 0; i < n; i++, p += 2) {
      const id = remap[ids[i]!]!;
      b[p] = id & 0xff;
      b[p + 1] = id >>> 8;
    }
  } else {
    for (let i = 0; i < n; i++, p += 4) b.writeUInt32LE(remap[ids[i]!]!, p);
  }
  w.pos = p;
}

/** Extra maps as varints: per row 0 for none or pair count + 1, then (key, value) string-table ids. */
function extraIds(extra: readonly (Record<string, string> | null)[] | undefined, n: number, table: StringTable): number[] | null {
  if (extra === undefined) return null;
  let any = false;
  for (let i = 0; i < n && !any; i++) any = extra[i] != null;
  if (!any) return null;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const e = extra[i];
    if (e == null) {
      out.push(0);
      continue;
    }
    const keys = Object.keys(e);
    out.push(keys.length + 1);
    for (const k of keys) {
      const v = e[k];
      if (typeof v !== 'string') throw new Error(`cannot encode row ${i} extra "${k}": expected a string, got ${typeof v}`);
      out.push(table.id(k), table.id(v));
    }
  }
  return out;
}

function compress(raw: Buffer, codec: Codec, level: number): Buffer {
  switch (codec) {
    case Codec.None:
      return raw;
    case Codec.Lz4:
      return lz4Compress(raw);
    case Codec.Deflate:
      return deflateRawSync(raw, { level });
    default:
      throw new Error(`unknown codec ${String(codec)}`);
  }
}

/** The message for one batch. `meta.records` must equal `batch.length`; meta is validated. */
export function encodeBatch(meta: BatchMeta, batch: FlowBatch, opts: EncodeOptions = {}): Buffer {
  const m = BatchMetaSchema.parse(meta);
  if (m.records !== batch.length) throw new Error(`batch ${m.id}: meta.records is ${m.records} but the batch holds ${batch.length} rows`);
  if (m.schema !== FLOW_SCHEMA_VERSION) throw new Error(`batch ${m.id}: meta.schema is ${m.schema}, this build writes schema ${FLOW_SCHEMA_VERSION}`);
  const codec = opts.codec ?? DEFAULT_CODEC;
  const n = batch.length;

  const present: number[] = [];
  for (let i = 0; i < batch.columns.length; i++) if (batch.columns[i] !== undefined) present.push(i);

  // string columns first, so the table can be written ahead of the columns that refer to it;
  // low-cardinality columns take the first ids and so keep one-byte indices
  const locals = new Map<number, LocalDict>();
  for (const i of present) {
    const spec = FIELD_LIST[i]!;
    const col = batch.columns[i] as Column;
    if ((spec.kind === 'string') === col instanceof Float64Array) throw new Error(`cannot encode ${spec.name}: the column has the wrong kind for a ${spec.kind} field`);
    if (spec.kind === 'string') locals.set(i, localDict(col as StringColumn, n, spec.name));
  }
  const table = new StringTable();
  const remaps = new Map<number, Uint32Array>();
  for (const [i, d] of [...locals].sort((x, y) => x[1].dict.length - y[1].dict.length)) {
    const remap = new Uint32Array(d.dict.length + 1);
    for (let k = 0; k < d.dict.length; k++) remap[k + 1] = table.id(d.dict[k]!);
    remaps.set(i, remap);
  }
  const extra = extraIds(batch.extra, n, table);

  const w = new Writer(n * 64 + 1024);
  w.u32(n);
  writeDict(w, table.strings);
  w.u16(present.length);
  for (const i of present) {
    const spec = FIELD_LIST[i]!;
    w.u8(spec.name.length);
    w.ascii(spec.name);
    if (spec.kind === 'string') writeStrings(w, locals.get(i)!, remaps.get(i)!, n);
    else writeNumbers(w, batch.columns[i] as Float64Array, n);
  }
  if (extra === null) w.u8(0);
  else {
    w.u8(1);
    for (const v of extra) w.varint(v);
  }
  const raw = w.result();
  const body = compress(raw, codec, opts.level ?? 1);

  const header = Buffer.from(JSON.stringify(m), 'utf8');
  if (header.length > MAX_HEADER_BYTES) throw new Error(`batch ${m.id}: header is ${header.length} bytes, more than ${MAX_HEADER_BYTES}`);
  const out = Buffer.allocUnsafe(PREFIX + header.length + BODY_PREFIX + body.length);
  out.writeUInt32LE(MAGIC, 0);
  out[4] = FORMAT_VERSION;
  out[5] = codec;
  out.writeUInt16LE(0, 6);
  out.writeUInt32LE(header.length, 8);
  out.writeUInt32LE(crc32(header), 12);
  header.copy(out, PREFIX);
  let p = PREFIX + header.length;
  out.writeUInt32LE(body.length, p);
  out.writeUInt32LE(raw.length, p + 4);
  out.writeUInt32LE(crc32(body), p + 8);
  body.copy(out, p + BODY_PREFIX);
  return out;
}

// ---------------------------------------------------------------- reading

interface Framed {
  meta: BatchMeta;
  codec: Codec;
  bodyStart: number;
  bodyLength: number;
  rawLength: number;
}

function frame(buf: Uint8Array, source: string | undefined): Framed {
  const err = (msg: string, offset?: number): BatchDecodeError =>
    new BatchDecodeError(msg, offset === undefined ? { source } : { offset, source });
  if (!(buf instanceof Uint8Array)) throw err(`expected bytes, got ${buf === null ? 'null' : typeof buf}`);
  if (buf.length < PREFIX) throw err(`truncated: ${buf.length} bytes, the fixed prefix alone is ${PREFIX}`);
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.readUInt32LE(0) !== MAGIC) throw err(`not a flow batch: magic is 0x${b.subarray(0, 4).toString('hex')}, expected "SLFB"`, 0);
  const version = b[4]!;
  if (version > FORMAT_VERSION) throw err(`format version ${version} is newer than this build reads (${FORMAT_VERSION}); upgrade the consumer`, 4);
  if (version < 1) throw err(`format version ${version} is invalid`, 4);
  const codec = b[5]!;
  if (codec !== Codec.None && codec !== Codec.Lz4 && codec !== Codec.Deflate) throw err(`unknown body codec ${codec}`, 5);
  const flags = b.readUInt16LE(6);
  if (flags !== 0) throw err(`unknown flags 0x${flags.toString(16)}`, 6);
  const hlen = b.readUInt32LE(8);
  if (hlen > MAX_HEADER_BYTES) throw err(`header length ${hlen} exceeds ${MAX_HEADER_BYTES}`, 8);
  const bodyPrefix = PREFIX + hlen;
  if (b.length < bodyPrefix + BODY_PREFIX) throw err(`truncated: ${b.length} bytes, header and body prefix need ${bodyPrefix + BODY_PREFIX}`, b.length);
  const header = b.subarray(PREFIX, bodyPrefix);
  if (crc32(header) !== b.readUInt32LE(12)) throw err('header checksum mismatch (corrupt message)', PREFIX);
  let json: unknown;
  try {
    json = JSON.parse(header.toString('utf8'));
  } catch (e) {
    throw err(`header is not JSON: ${(e as Error).message}`, PREFIX);
  }
  const parsed = BatchMetaSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw err(`invalid header: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'rejected'}`, PREFIX);
  }
  const meta = parsed.data;
  if (meta.schema > FLOW_SCHEMA_VERSION) {
    throw err(`batch ${meta.id} has flow schema ${meta.schema}, newer than this build (${FLOW_SCHEMA_VERSION}); upgrade the consumer`, PREFIX);
  }
  const clen = b.readUInt32LE(bodyPrefix);
  const rlen = b.readUInt32LE(bodyPrefix + 4);
  const bodyStart = bodyPrefix + BODY_PREFIX;
  if (rlen > MAX_BODY_BYTES) throw err(`body length ${rlen} exceeds ${MAX_BODY_BYTES}`, bodyPrefix + 4);
  if (b.length !== bodyStart + clen) {
    const what = b.length < bodyStart + clen ? 'truncated' : 'trailing bytes';
    throw err(`${what}: message is ${b.length} bytes, header says ${bodyStart + clen}`, Math.min(b.length, bodyStart + clen));
  }
  return { meta, codec, bodyStart, bodyLength: clen, rawLength: rlen };
}

/**
 * The header alone: checks the frame and the header checksum, validates the header, and
 * leaves the body untouched (a consumer dedupes by id before paying for it).
 */
export function decodeBatchMeta(buf: Uint8Array, source?: string): BatchMeta {
  return frame(buf, source).meta;
}

class Reader {
  pos = 0;
  constructor(
    readonly b: Buffer,
    readonly source: string | undefined,
  ) {}
  fail(msg: string, at: number = this.pos): never {
    throw new BatchDecodeError(msg, { offset: at, body: true, source: this.source });
  }
  need(n: number, what: string): void {
    if (this.pos + n > this.b.length) this.fail(`truncated body: ${what} needs ${n} bytes, ${this.b.length - this.pos} left`);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.b[this.pos++]!;
  }
  u16(what: string): number {
    this.need(2, what);
    const v = this.b.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.b.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  f64(what: string): number {
    this.need(8, what);
    const v = this.b.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }
  varint(what: string): number {
    let v = 0;
    let shift = 0;
    for (;;) {
      const c = this.u8(what);
      v += (c & 0x7f) * 2 ** shift;
      if (c < 0x80) return v;
      shift += 7;
      if (shift > 28) this.fail(`${what}: varint longer than 5 bytes`);
    }
  }
}

function readDict(r: Reader, what: string): string[] {
  const count = r.u32(`${what} dictionary size`);
  const total = r.u32(`${what} dictionary bytes`);
  const ascii = r.u8(`${what} dictionary flag`);
  if (count > r.b.length - r.pos) r.fail(`${what}: dictionary of ${count} entries cannot fit in the body`);
  const lens = new Array<number>(count);
  let sum = 0;
  for (let i = 0; i < count; i++) {
    const len = r.varint(`${what} dictionary`);
    lens[i] = len;
    sum += len;
  }
  if (sum !== total) r.fail(`${what}: dictionary lengths add up to ${sum}, expected ${total}`);
  r.need(total, `${what} dictionary`);
  const dict = new Array<string>(count);
  const start = r.pos;
  if (ascii === 1) {
    // one string for the whole blob and substrings of it: far cheaper than a decode per entry
    const blob = r.b.toString('latin1', start, start + total);
    let p = 0;
    for (let i = 0; i < count; i++) {
      const len = lens[i]!;
      dict[i] = blob.substring(p, p + len);
      p += len;
    }
  } else {
    let p = start;
    for (let i = 0; i < count; i++) {
      const len = lens[i]!;
      dict[i] = r.b.toString('utf8', p, p + len);
      p += len;
    }
  }
  r.pos = start + total;
  return dict;
}

function readStrings(r: Reader, n: number, name: string, table: readonly string[]): StringColumn {
  const out = new Array<string | null>(Math.max(n, 1));
  const enc = r.u8(`${name} encoding`);
  if (enc === StrEnc.AllNull) return out.fill(null);
  if (enc !== StrEnc.Dict) r.fail(`${name}: unknown string encoding ${enc}`, r.pos - 1);
  const size = table.length;
  const width = r.u8(`${name} index width`);
  if (width === 0) {
    const at = r.pos;
    const id = r.u32(`${name} constant`);
    if (id === 0 || id > size) r.fail(`${name}: constant refers to string ${id} of ${size}`, at);
    return out.fill(n === 0 ? null : table[id - 1]!);
  }
  if (width !== 1 && width !== 2 && width !== 4) r.fail(`${name}: invalid index width ${width}`, r.pos - 1);
  r.need(n * width, `${name} indices`);
  const b = r.b;
  let p = r.pos;
  let bad = -1;
  let badId = 0;
  for (let i = 0; i < n; i++) {
    const id = width === 1 ? b[p]! : width === 2 ? b[p]! | (b[p + 1]! << 8) : b.readUInt32LE(p);
    p += width;
    if (id === 0) out[i] = null;
    else if (id <= size) out[i] = table[id - 1]!;
    else {
      bad = i;
      badId = id;
      break;
    }
  }
  if (bad >= 0) r.fail(`${name}: row ${bad} refers to string ${badId} of ${size}`, r.pos + bad * width);
  if (n === 0) out[0] = null;
  r.pos = p;
  return out;
}

function readNumbers(r: Reader, n: number, name: string): Float64Array {
  const out = new Float64Array(Math.max(n, 1));
  const enc = r.u8(`${name} encoding`);
  if (enc === NumEnc.AllNull) return out.fill(NaN);
  if (enc === NumEnc.F64) {
    r.need(n * 8, name);
    new Uint8Array(out.buffer).set(r.b.subarray(r.pos, r.pos + n * 8));
    r.pos += n * 8;
    if (n === 0) out[0] = NaN;
    return out;
  }
  if (enc !== NumEnc.Offset && enc !== NumEnc.Micros) r.fail(`${name}: unknown number encoding ${enc}`, r.pos - 1);
  const base = r.f64(`${name} base`);
  if (!Number.isSafeInteger(base)) r.fail(`${name}: base ${base} is not an integer`, r.pos - 8);
  const width = r.u8(`${name} width`);
  const div = enc === NumEnc.Micros ? 1000 : 1;
  if (width === 0) return out.fill(n === 0 ? NaN : base / div);
  if (width !== 1 && width !== 2 && width !== 4 && width !== 6) r.fail(`${name}: invalid width ${width}`, r.pos - 1);
  r.need(n * width, name);
  const b = r.b;
  let p = r.pos;
  if (width === 1) {
    for (let i = 0; i < n; i++, p++) {
      const o = b[p]!;
      out[i] = o === 0xff ? NaN : (base + o) / div;
    }
  } else if (width === 2) {
    for (let i = 0; i < n; i++, p += 2) {
      const o = b[p]! | (b[p + 1]! << 8);
      out[i] = o === 0xffff ? NaN : (base + o) / div;
    }
  } else if (width === 4) {
    for (let i = 0; i < n; i++, p += 4) {
      const o = b.readUInt32LE(p);
      out[i] = o === 0xffffffff ? NaN : (base + o) / div;
    }
  } else {
    for (let i = 0; i < n; i++, p += 6) {
      const o = b.readUIntLE(p, 6);
      out[i] = o === MAX_OFFSET_6 ? NaN : (base + o) / div;
    }
  }
  if (n === 0) out[0] = NaN;
  r.pos = p;
  return out;
}

function readExtra(r: Reader, n: number, table: readonly string[]): (Record<string, string> | null)[] | undefined {
  const has = r.u8('extra flag');
  if (has === 0) return undefined;
  if (has !== 1) r.fail(`invalid extra flag ${has}`, r.pos - 1);
  const out = new Array<Record<string, string> | null>(Math.max(n, 1)).fill(null);
  for (let i = 0; i < n; i++) {
    const count = r.varint('extra');
    if (count === 0) continue;
    const e: Record<string, string> = {};
    for (let k = 1; k < count; k++) {
      const at = r.pos;
      const key = table[r.varint('extra key') - 1];
      const value = table[r.varint('extra value') - 1];
      if (key === undefined || value === undefined) r.fail(`extra of row ${i} refers past the string table (${table.length} entries)`, at);
      e[key] = value;
    }
    out[i] = e;
  }
  return out;
}

function decompress(buf: Buffer, f: Framed, source: string | undefined): Buffer {
  const body = buf.subarray(f.bodyStart, f.bodyStart + f.bodyLength);
  if (crc32(body) !== buf.readUInt32LE(f.bodyStart - 4)) throw new BatchDecodeError('body checksum mismatch (corrupt message)', { offset: f.bodyStart, source });
  // lz4 blocks start with their decompressed size: check it before the decompressor allocates it
  if (f.codec === Codec.Lz4 && (body.length < 4 || body.readUInt32LE(0) !== f.rawLength)) {
    throw new BatchDecodeError(`lz4 block size does not match the body length ${f.rawLength}`, { offset: f.bodyStart, source });
  }
  let raw: Buffer;
  try {
    raw =
      f.codec === Codec.None
        ? body
        : f.codec === Codec.Lz4
          ? lz4Uncompress(body)
          : inflateRawSync(body, { maxOutputLength: Math.max(f.rawLength, 1) });
  } catch (e) {
    throw new BatchDecodeError(`cannot decompress body (${Codec[f.codec]}): ${(e as Error).message}`, { offset: f.bodyStart, source });
  }
  if (raw.length !== f.rawLength) throw new BatchDecodeError(`body decompressed to ${raw.length} bytes, header says ${f.rawLength}`, { offset: f.bodyStart, source });
  return raw;
}

/** Header and batch. Throws BatchDecodeError on anything malformed; never returns a partial batch. */
export function decodeBatch(buf: Uint8Array, source?: string): { meta: BatchMeta; batch: FlowBatch } {
  // a Kafka tombstone has a null value: a clear error, not a TypeError
  if (!(buf instanceof Uint8Array)) throw new BatchDecodeError(`expected bytes, got ${buf === null ? 'null' : typeof buf}`, { source });
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const f = frame(b, source);
  const r: Reader = new Reader(decompress(b, f, source), source);
  const n = r.u32('row count');
  if (n !== f.meta.records) r.fail(`body holds ${n} rows, header says ${f.meta.records}`, 0);
  const table = readDict(r, 'string table');
  const ncols = r.u16('column count');
  const columns = new Array<Column | undefined>(FIELD_LIST.length).fill(undefined);
  for (let c = 0; c < ncols; c++) {
    const at = r.pos;
    const len = r.u8('column name length');
    r.need(len, 'column name');
    const name = r.b.toString('latin1', r.pos, r.pos + len);
    r.pos += len;
    const index = COL_BY_NAME.get(name);
    if (index === undefined) r.fail(`unknown column "${name}" (flow schema ${f.meta.schema})`, at);
    const spec = FIELD_LIST[index]!;
    if (columns[index] !== undefined) r.fail(`column "${name}" appears twice`, at);
    columns[index] = spec.kind === 'string' ? readStrings(r, n, name, table) : readNumbers(r, n, name);
  }
  const extra = readExtra(r, n, table);
  if (r.pos !== r.b.length) r.fail(`${r.b.length - r.pos} unread bytes after the last column`);
  return { meta: f.meta, batch: FlowBatch.fromColumns(n, columns, extra) };
}
