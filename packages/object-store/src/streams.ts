import { Transform, type Readable } from 'node:stream';

/**
 * Wraps an SDK body stream so that its bytes are counted as they are consumed (not before: a
 * 'data' listener on the body would start it flowing and lose what nobody reads yet), its
 * errors are mapped (to CloudError, dropping the SDK's request), and destroying the result
 * releases the connection.
 */
export function countedStream(src: Readable | NodeJS.ReadableStream, onBytes: (n: number) => void, mapError: (err: unknown) => Error): Readable {
  const out = new Transform({
    transform(chunk: Buffer, _enc, done) {
      onBytes(chunk.length);
      done(null, chunk);
    },
  });
  const source = src as Readable;
  source.on('error', (err) => out.destroy(mapError(err)));
  out.on('close', () => {
    if (typeof source.destroy === 'function' && !source.destroyed) source.destroy();
  });
  source.pipe(out);
  return out;
}
