import { gunzipSync } from 'node:zlib';
import { DEFAULT_BATCH_CAPACITY, FlowBatch, colIndex, normalizeIp, type StringColumn } from '@sightline/flow';
import { parquetMetadataAsync, parquetRead, parquetSchema, type AsyncBuffer, type DecodedArray, type FileMetaData } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { Interner, normalizedAddr } from '../../core/intern.js';
import { awsField, type AwsFieldSpec } from '../aws-vpc-text/aws-fields.js';
import { ParseError, type ParseContext, type RandomAccessParser, type RandomAccessSource } from '../../types.js';

/**
 * AWS VPC flow logs delivered as Parquet (the S3 option): the same fields as the text format,
 * as columns named with underscores (`account_id`, `pkt_srcaddr`; hyphenated names accepted
 * too), ints as int32 or int64, gzip-compressed by AWS. Output is the same as the text parser's,
 * with format `aws-vpc-parquet`.
 *
 * Row groups are read one at a time through the RandomAccessSource, so memory is bounded by one
 * row group's columns, never the whole file.
 */

export const AWS_PARQUET_FORMAT = 'aws-vpc-parquet';

/** What makes one AWS Parquet format differ from another: its field table and rows' `format` value. */
export interface AwsParquetDialect {
  readonly format: string;
  readonly field: (name: string) => AwsFieldSpec | undefined;
}

export const AWS_VPC_PARQUET: AwsParquetDialect = { format: AWS_PARQUET_FORMAT, field: awsField };

/** Column names of a Parquet file (its footer), for telling the AWS Parquet formats apart; null when it has no readable footer. */
export async function parquetColumnNames(input: RandomAccessSource): Promise<string[] | null> {
  if (input.size < 12) return null;
  try {
    const metadata = await parquetMetadataAsync(asyncBuffer(input));
    return parquetSchema(metadata).children.map((c) => c.element.name);
  } catch {
    return null;
  }
}

export function createAwsParquetParser(dialect: AwsParquetDialect): RandomAccessParser {
  return (input, ctx) => parseAwsParquetAs(dialect, input, ctx);
}

export const parseAwsParquet: RandomAccessParser = createAwsParquetParser(AWS_VPC_PARQUET);

const CLOUD_COL = colIndex('cloud');
const FORMAT_COL = colIndex('format');

/** node's native inflate is several times faster than the pure-JS one for AWS's default codec */
const PARQUET_COMPRESSORS = {
  ...compressors,
  GZIP: (input: Uint8Array): Uint8Array => new Uint8Array(gunzipSync(input)),
};

function asyncBuffer(input: RandomAccessSource): AsyncBuffer {
  return {
    byteLength: input.size,
    slice: async (start: number, end?: number): Promise<ArrayBuffer> => {
      const stop = end ?? input.size;
      const u8 = await input.read(start, stop - start);
      return u8.buffer.slice(u8.byteOffset, u8.byteOffset + u8.byteLength) as ArrayBuffer;
    },
  };
}

type Cell = unknown;

/** One source column and where it goes. */
interface Mapping {
  name: string;
  spec: AwsFieldSpec | undefined;
}

async function* parseAwsParquetAs(dialect: AwsParquetDialect, input: RandomAccessSource, ctx: ParseContext): AsyncGenerator<FlowBatch, void, undefined> {
  const cap = ctx.batchCapacity ?? DEFAULT_BATCH_CAPACITY;
  if (input.size < 12) throw new ParseError(ctx.source, `not a Parquet file (${input.size} bytes, too short for a footer)`);
  const file = asyncBuffer(input);
  let metadata: FileMetaData;
  try {
    metadata = await parquetMetadataAsync(file);
  } catch (e) {
    throw new ParseError(ctx.source, `not a readable Parquet file: ${e instanceof Error ? e.message : String(e)}`);
  }
  const names = parquetSchema(metadata).children.map((c) => c.element.name);
  const maps: Mapping[] = names.map((name) => ({ name, spec: dialect.field(name) }));
  if (!maps.some((m) => m.spec)) {
    throw new ParseError(ctx.source, `Parquet columns name no known AWS flow-log field (${names.slice(0, 8).join(', ')})`);
  }
  const statusIdx = maps.findIndex((m) => m.spec?.kind === 'log_status');
  const hasExtras = maps.some((m) => !m.spec);

  const addrCache = new Interner(1 << 18);
  let batch = new FlowBatch(cap);
  let row = 0;
  const flush = (): FlowBatch => {
    const b = batch;
    b.length = row;
    b.strings(CLOUD_COL).fill('aws', 0, row);
    b.strings(FORMAT_COL).fill(dialect.format, 0, row);
    ctx.stats.records += row;
    batch = new FlowBatch(cap);
    row = 0;
    return b;
  };

  let groupStart = 0;
  for (let g = 0; g < metadata.row_groups.length; g++) {
    const groupRows = Number(metadata.row_groups[g]!.num_rows);
    const groupEnd = groupStart + groupRows;
    const data: (Cell[] | DecodedArray | undefined)[] = new Array(names.length).fill(undefined);
    try {
      await parquetRead({
        file,
        metadata,
        rowStart: groupStart,
        rowEnd: groupEnd,
        compressors: PARQUET_COMPRESSORS,
        onChunk: (chunk) => {
          const k = names.indexOf(chunk.columnName);
          if (k < 0) return;
          if (chunk.rowStart === groupStart && chunk.rowEnd === groupEnd) {
            data[k] = chunk.columnData;
            return;
          }
          // a column delivered in pieces: place each piece at its rows
          let col = data[k] as Cell[] | undefined;
          if (col === undefined || !Array.isArray(col)) data[k] = col = new Array<Cell>(groupRows).fill(null);
          for (let i = chunk.rowStart; i < chunk.rowEnd; i++) {
            if (i >= groupStart && i < groupEnd) col[i - groupStart] = chunk.columnData[i - chunk.rowStart];
          }
        },
      });
    } catch (e) {
      throw new ParseError(ctx.source, `row group ${g} (rows ${groupStart}-${groupEnd - 1}) cannot be read: ${e instanceof Error ? e.message : String(e)}`);
    }

    rows: for (let i = 0; i < groupRows; i++) {
      const status = statusIdx >= 0 ? str(data[statusIdx]?.[i]) : null;
      if (status === 'NODATA') {
        ctx.stats.nodata++;
        continue;
      }
      if (status === 'SKIPDATA') {
        ctx.stats.skipdata++;
        continue;
      }
      let extra: Record<string, string> | null = null;
      for (let k = 0; k < maps.length; k++) {
        const m = maps[k]!;
        const v = data[k]?.[i];
        const spec = m.spec;
        if (!spec) {
          const s = str(v);
          if (s !== null) (extra ??= {})[m.name] = s;
          continue;
        }
        const problem = fill(batch, row, spec, v, addrCache);
        if (problem !== null) {
          ctx.stats.errors++;
          ctx.onIssue({
            kind: 'error',
            source: ctx.source,
            message: `row ${groupStart + i + 1} (row group ${g}): column ${m.name} ${problem}`,
          });
          clearRow(batch, row);
          continue rows;
        }
      }
      if (hasExtras) batch.extras()[row] = extra;
      row++;
      if (row >= cap) yield flush();
    }
    groupStart = groupEnd;
  }
  if (row > 0) yield flush();
}

/** Writes one value; returns what is wrong with it, or null. */
function fill(batch: FlowBatch, row: number, spec: AwsFieldSpec, v: Cell, addrCache: Interner): string | null {
  switch (spec.kind) {
    case 'int':
    case 'time': {
      let n: number;
      if (v === null || v === undefined) n = NaN;
      else if (typeof v === 'number') n = v;
      else if (typeof v === 'bigint') n = Number(v);
      else if (v instanceof Date) n = spec.kind === 'time' ? v.getTime() / 1000 : NaN;
      else if (typeof v === 'string' && v === '-') n = NaN;
      else if (typeof v === 'string' && /^\d{1,15}$/.test(v)) n = Number(v);
      else return `is not an integer: ${JSON.stringify(String(v))}`;
      if (!Number.isNaN(n) && (!Number.isInteger(n) || n < 0 || n > spec.max)) return `is out of range: ${n}`;
      batch.numbers(spec.column)[row] = spec.kind === 'time' ? n * 1000 : n;
      return null;
    }
    case 'action': {
      const s = str(v);
      if (s !== null && s !== 'ACCEPT' && s !== 'REJECT') return `is not ACCEPT, REJECT or null: ${JSON.stringify(s)}`;
      batch.strings(spec.column)[row] = s === null ? null : s === 'ACCEPT' ? 'accept' : 'reject';
      return null;
    }
    case 'flow_direction': {
      const s = str(v);
      if (s !== null && s !== 'ingress' && s !== 'egress') return `is not ingress, egress or null: ${JSON.stringify(s)}`;
      set(batch, spec, row, s);
      return null;
    }
    case 'addr':
    case 'srcaddr':
    case 'dstaddr': {
      const s = str(v);
      let a: string | null = null;
      if (s !== null) {
        a = normalizedAddr(addrCache, s);
        if (a === null) return `is not an IP address: ${JSON.stringify(s.slice(0, 64))}`;
      }
      set(batch, spec, row, a);
      return null;
    }
    default: {
      const s = v === null || v === undefined ? null : typeof v === 'string' ? v : String(v);
      set(batch, spec, row, s === '-' ? null : s);
      return null;
    }
  }
}

function set(batch: FlowBatch, spec: AwsFieldSpec, row: number, s: string | null): void {
  batch.strings(spec.column)[row] = s;
  if (spec.column2 >= 0) batch.strings(spec.column2)[row] = s;
}

function str(v: Cell): string | null {
  if (v === null || v === undefined) return null;
  const s = typeof v === 'string' ? v : String(v);
  return s === '-' ? null : s;
}

/** A rejected row leaves no partial values behind for the next row to inherit. */
function clearRow(batch: FlowBatch, row: number): void {
  for (const c of batch.columns) {
    if (c === undefined) continue;
    if (c instanceof Float64Array) c[row] = NaN;
    else (c as StringColumn)[row] = null;
  }
  if (batch.extra) batch.extra[row] = null;
}

/** A RandomAccessSource over an open file (CLI and tests). */
export async function fileSource(path: string): Promise<RandomAccessSource & { close(): Promise<void> }> {
  const { open } = await import('node:fs/promises');
  const fh = await open(path, 'r');
  const { size } = await fh.stat();
  return {
    size,
    async read(offset: number, length: number): Promise<Uint8Array> {
      const buf = Buffer.allocUnsafe(length);
      const { bytesRead } = await fh.read(buf, 0, length, offset);
      return buf.subarray(0, bytesRead);
    },
    close: () => fh.close(),
  };
}
