import { brotliCompressSync, brotliDecompressSync, constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import { compressSync, uncompressSync } from 'lz4-napi';
import type { Candidate, Format } from './types.js';

export interface Compression {
  readonly name: string;
  compress(b: Uint8Array): Uint8Array;
  decompress(b: Uint8Array): Uint8Array;
}

const asBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

export const COMPRESSIONS: readonly Compression[] = [
  { name: 'lz4', compress: (b) => compressSync(asBuffer(b)), decompress: (b) => uncompressSync(b) },
  { name: 'deflate-1', compress: (b) => deflateRawSync(b, { level: 1 }), decompress: (b) => inflateRawSync(b) },
  { name: 'deflate-6', compress: (b) => deflateRawSync(b, { level: 6 }), decompress: (b) => inflateRawSync(b) },
  {
    name: 'brotli-4',
    compress: (b) => brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 4, [constants.BROTLI_PARAM_SIZE_HINT]: b.length } }),
    decompress: (b) => brotliDecompressSync(b),
  },
];

export function compressed(format: Format, c: Compression): Candidate {
  return {
    name: `${format.name}+${c.name}`,
    encode: (batch) => c.compress(format.encode(batch)),
    decode: (buf) => format.decode(c.decompress(buf)),
  };
}
