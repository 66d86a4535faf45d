import type { DetectHead } from './format-spec.js';
import { RANDOM_ACCESS_FORMATS, STREAM_FORMATS, type FormatId } from './registry.js';

/** Parquet's magic, at the start (and end) of every Parquet file. */
export const isParquet = (head: Uint8Array): boolean => head.length >= 4 && head[0] === 0x50 && head[1] === 0x41 && head[2] === 0x52 && head[3] === 0x31;

/** What detection sees of a decompressed head: its first 16 KiB as text, BOM and leading white space removed. */
export function detectHead(head: Uint8Array, name = ''): DetectHead {
  const text = latin1Prefix(head, 16 * 1024).replace(/^\uFEFF/, '').trimStart();
  const nl = text.indexOf('\n');
  return { text, firstLine: nl === -1 ? text : text.slice(0, nl), name };
}

/**
 * Which stream format a (decompressed) head of an object is, asking the registry's formats in
 * its order. Content decides; the object name only breaks ties where content is ambiguous (an
 * Azure blob prefix that is nothing but `{"records":[` could be either Azure format until a
 * record arrives). The head should be the first few KiB; detection looks at the first record only.
 *
 * A Parquet head gives the registry's catch-all Parquet format: which one a Parquet file is
 * shows in its columns, at its end (parseObject reads them).
 */
export function detectFormat(head: Uint8Array, name = ''): FormatId | null {
  if (isParquet(head)) return (RANDOM_ACCESS_FORMATS.find((f) => f.detectColumns([]))?.id as FormatId | undefined) ?? null;
  const h = detectHead(head, name);
  return (STREAM_FORMATS.find((f) => f.detect(h))?.id as FormatId | undefined) ?? null;
}

function latin1Prefix(b: Uint8Array, max: number): string {
  return Buffer.from(b.buffer, b.byteOffset, Math.min(b.length, max)).toString('latin1');
}
