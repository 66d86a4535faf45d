import fs from 'node:fs';
import { fileSource, type ObjectInput } from '@sightline/parsers';

/** A local file as a parser input: streamed for text formats, random access for Parquet. */
export function fileInput(path: string): ObjectInput {
  return {
    name: path,
    // large reads: the parsers are faster than the syscall rate of the 64 KiB default
    open: () => fs.createReadStream(path, { highWaterMark: 1 << 20 }),
    randomAccess: () => fileSource(path),
  };
}

/** Checks a file can be opened before streaming it, so "missing" reads as missing, not as a parse error. */
export async function checkReadable(path: string): Promise<string | null> {
  try {
    const st = await fs.promises.stat(path);
    if (st.isDirectory()) return 'is a directory';
    await fs.promises.access(path, fs.constants.R_OK);
    return null;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') return 'no such file';
    if (e.code === 'EACCES') return 'permission denied';
    return e.message;
  }
}
