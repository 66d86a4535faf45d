import type { Readable } from 'node:stream';
import type { FlowBatch } from '@sightline/flow';
import { detectHead } from './detect.js';
import { decompress } from './core/decompress.js';
import { peek } from './core/peek.js';
import { parquetColumnNames } from './formats/aws-vpc-parquet/aws-parquet.js';
import { RANDOM_ACCESS_FORMATS, STREAM_FORMATS } from './registry.js';
import { NoRecordsError, ParseError, type ByteSource, type ParseContext, type ParseIssue, type RandomAccessSource } from './types.js';

/** One flow-log object, wherever it lives (a file, an S3/GCS/Azure object). */
export interface ObjectInput {
  /** file path or object key: used for format hints and every message */
  name: string;
  /** the raw bytes as stored (gzip or plain) */
  open(): Readable | ByteSource;
  /** random access to the raw bytes; needed for Parquet, whose footer comes first */
  randomAccess?(): Promise<RandomAccessSource>;
}

/** Bytes of decompressed head used for detection: enough for an AWS header or a first GCP/Azure record. */
const DETECT_BYTES = 16 * 1024;

/**
 * Detects the format of an object from its content (and name where content is ambiguous)
 * and streams its flows. Throws ParseError when the object as a whole cannot be read
 * (empty, not a flow log, corrupt compression); bad lines inside go to ctx.onIssue.
 * An object read to its end that gave errors and not one flow throws NoRecordsError (a
 * ParseError) at the end: every caller then treats it as a bad object, not as an empty one.
 */
export async function* parseObject(input: ObjectInput, ctx: ParseContext): AsyncGenerator<FlowBatch, void, undefined> {
  // ctx.stats may be shared by several objects (the embedded pipeline sums them): count from here
  // NODATA and SKIPDATA lines are good lines that carry no flow: an AWS file of them and one
  // corrupt line is a readable object with a bad line, not a bad object
  const good = () => ctx.stats.records + ctx.stats.nodata + ctx.stats.skipdata;
  const good0 = good();
  const errors0 = ctx.stats.errors;
  let first: ParseIssue | undefined;
  const inner: ParseContext = {
    ...ctx,
    onIssue: (issue) => {
      if (first === undefined && issue.kind === 'error') first = issue;
      ctx.onIssue(issue);
    },
  };
  yield* detectAndParse(input, inner);
  const errors = ctx.stats.errors - errors0;
  if (good() === good0 && errors > 0) throw new NoRecordsError(ctx.source, errors, first);
}

async function* detectAndParse(input: ObjectInput, ctx: ParseContext): AsyncGenerator<FlowBatch, void, undefined> {
  const raw = input.open();
  const { head: rawHead, stream: rawStream } = await peek(raw, 4);
  if (rawHead.length >= 4 && rawHead.toString('latin1', 0, 4) === 'PAR1') {
    destroy(raw);
    if (!input.randomAccess) throw new ParseError(input.name, 'Parquet needs random access to the object, and this input has none');
    const ra = await input.randomAccess();
    try {
      // which Parquet format shows in the columns; a file without a readable footer goes to the
      // catch-all format's parser, whose error says what is wrong with it
      const names = (await parquetColumnNames(ra)) ?? [];
      const spec = RANDOM_ACCESS_FORMATS.find((f) => f.detectColumns(names));
      if (spec === undefined) throw new ParseError(input.name, `a Parquet file of no known format (columns ${names.slice(0, 8).join(', ')})`);
      yield* spec.parse(ra, ctx);
    } finally {
      await ra.close?.();
    }
    return;
  }
  const { head, stream } = await peek(decompress(rawStream, { source: input.name }), DETECT_BYTES);
  try {
    if (head.length === 0) throw new ParseError(input.name, 'empty file: no header and no records');
    const h = detectHead(head, input.name);
    const spec = STREAM_FORMATS.find((f) => f.detect(h));
    if (spec === undefined) {
      throw new ParseError(input.name, `not a flow log of any known format (starts with ${JSON.stringify(printable(head))})`, { offset: 0 });
    }
    yield* spec.parse(stream, ctx);
  } finally {
    destroy(raw);
  }
}

function destroy(s: Readable | ByteSource): void {
  if ('destroy' in s && typeof s.destroy === 'function') s.destroy();
}

function printable(head: Buffer): string {
  const s = head.toString('latin1', 0, Math.min(head.length, 40));
  return s.replace(/[^\x20-\x7e]/g, '.');
}
