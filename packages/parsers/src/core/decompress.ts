import { Readable } from 'node:stream';
import { createGunzip, type ZlibOptions } from 'node:zlib';
import { z } from 'zod';
import { ParseError, type ByteSource } from '../types.js';

/**
 * The decompression entry of every line-oriented parser: gzip detected by its magic bytes
 * (1f 8b), multi-member gzip supported (what `cat a.gz b.gz` and some writers produce),
 * anything else passed through untouched.
 *
 * zlib inflates on the libuv thread pool while the parser scans the previous chunk on the main
 * thread; large output chunks and a deep readable buffer keep the inflater busy so the two overlap.
 */

export const DecompressOptionsSchema = z
  .object({
    /** object key or file path, used in error messages */
    source: z.string().default('input'),
    /** zlib output chunk size: bigger chunks, fewer thread-pool round trips */
    chunkSize: z.number().int().min(16 * 1024).max(16 * 1024 * 1024).default(256 * 1024),
    /** bytes of inflated output buffered ahead of the parser */
    readAhead: z.number().int().min(64 * 1024).max(256 * 1024 * 1024).default(4 * 1024 * 1024),
  })
  .strict();

export type DecompressOptions = z.input<typeof DecompressOptionsSchema>;

/** The compression detected from the first bytes. */
export type Compression = 'gzip' | 'none';

export function detectCompression(head: Uint8Array): Compression {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b ? 'gzip' : 'none';
}

/**
 * Decompressed bytes of `input` (a Node Readable or any async iterable of byte chunks).
 * A corrupt or truncated gzip stream ends the iteration with a ParseError naming the source
 * and how far it got.
 */
export async function* decompress(
  input: AsyncIterable<Uint8Array> | NodeJS.ReadableStream,
  options: DecompressOptions = {},
): ByteSource {
  const opts = DecompressOptionsSchema.parse(options);
  const it = (input as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();

  // gather at least two bytes to decide (a source may hand out one-byte chunks)
  const head: Uint8Array[] = [];
  let headLen = 0;
  let done = false;
  while (headLen < 2) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    const chunk = toBytes(r.value);
    head.push(chunk);
    headLen += chunk.length;
  }
  const first = head.length === 1 ? head[0]! : concat(head, headLen);

  if (detectCompression(first) === 'none') {
    if (first.length > 0) yield first;
    if (done) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield toBytes(r.value);
    }
  }

  let fed = 0;
  async function* compressed(): AsyncGenerator<Uint8Array> {
    fed += first.length;
    yield first;
    if (done) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      const chunk = toBytes(r.value);
      fed += chunk.length;
      yield chunk;
    }
  }

  // zlib streams pass stream options through to Transform (not in the typings): the default
  // readable buffer (16 KiB) would stall the inflater after each chunk
  const zopts = { chunkSize: opts.chunkSize, readableHighWaterMark: opts.readAhead } as ZlibOptions;
  const gunzip = createGunzip(zopts);
  const src = Readable.from(compressed(), { objectMode: false, highWaterMark: opts.chunkSize });
  let srcError: unknown = null;
  src.on('error', (e) => {
    srcError = e;
    gunzip.destroy(e);
  });
  src.pipe(gunzip);

  let out = 0;
  try {
    for await (const chunk of gunzip) {
      const c = chunk as Buffer;
      out += c.length;
      yield c;
    }
  } catch (e) {
    if (srcError !== null) throw srcError;
    const msg = e instanceof Error ? e.message : String(e);
    throw new ParseError(
      opts.source,
      `corrupt or truncated gzip data (${msg}) after ${out} decompressed bytes, near compressed byte ${gunzip.bytesWritten} of ${fed} read`,
    );
  } finally {
    src.destroy();
    gunzip.destroy();
  }
}

function toBytes(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return Buffer.from(v, 'latin1');
  throw new TypeError(`decompress: expected byte chunks, got ${typeof v}`);
}

function concat(parts: Uint8Array[], len: number): Uint8Array {
  const out = new Uint8Array(len);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
