import type { ByteSource } from '../types.js';

/**
 * Reads at least `n` bytes (or to the end) of a stream without losing them: returns the head
 * and a stream that yields the same bytes again from the start, then the rest. Format
 * detection needs the decompressed head, and the parser then needs every byte.
 */
export async function peek(source: ByteSource, n: number): Promise<{ head: Buffer; stream: ByteSource }> {
  const it = source[Symbol.asyncIterator]();
  const chunks: Uint8Array[] = [];
  let have = 0;
  let done = false;
  while (have < n) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    chunks.push(r.value);
    have += r.value.length;
  }
  const head = Buffer.concat(chunks.map((c) => (Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.length))));
  const stream: ByteSource = {
    async *[Symbol.asyncIterator]() {
      for (const c of chunks) yield c;
      chunks.length = 0;
      if (done) return;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield r.value;
      }
    },
  };
  return { head, stream };
}
