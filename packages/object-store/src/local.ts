import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { decompress, detectFormat, fileSource, FORMATS, peek, type ByteSource, type RandomAccessSource } from '@sightline/parsers';
import { CloudError, type CloudKind, type Discovery, type ObjectReader, type ObjectRef } from './types.js';

/**
 * Flow-log objects in local files, with the same contract as the S3, GCS and Azure sources
 * (`Discovery` and `ObjectReader`), so the collector's unit processing reads them as it reads a
 * bucket: the embedded mode (`sightline start`/`demo`) and tests that run the distributed mode
 * over the repository's samples.
 *
 * A unit is a whole file. Its key is its path relative to `base` with `/` separators (as a bucket
 * key), its bucket `container` (`files` by default), and its version the sha256 of its content:
 * the file's "ETag", so the batch ids (the collector's rule, `makeBatchMeta`) stay the same when
 * the same bytes are read again from another checkout, and change when a file is rewritten.
 */

export interface LocalSourceConfig {
  tenant: string;
  /** folders or files walked for objects */
  roots: readonly string[];
  /** keys are paths relative to this folder (default: the first root, or its folder when it is a file) */
  base?: string | undefined;
  /** the refs' bucket (default `files`) */
  container?: string | undefined;
  /** the cloud of every object; absent: each file's, from its content (the parsers' format detection) */
  cloud?: CloudKind | undefined;
  /** the account of every object; absent: `accountOf(key, cloud)`, else `unknown` */
  account?: string | undefined;
}

/** Keys after `last`, in key order (a folder lists in key order, and flow-log keys sort by time). */
export const LocalCursorSchema = z.object({ v: z.literal(1), last: z.string().nullable() });
export type LocalCursor = z.infer<typeof LocalCursorSchema>;

export interface LocalSourceOptions {
  /** an object's account from its key when the config names none (AWS: `AWSLogs/<account>/...`); null: `unknown` */
  accountOf?: (key: string, cloud: CloudKind) => string | null;
}

export interface LocalSource {
  reader: ObjectReader;
  discovery: Discovery<LocalCursor>;
  /** every object now, in key order (a poll from the start) */
  list(signal?: AbortSignal): AsyncIterable<ObjectRef>;
  /** the file a ref names */
  pathOf(ref: ObjectRef): string;
}

/** The cloud of a file whose content no format recognises: it yields no batch, only its error. */
const UNKNOWN_CLOUD: CloudKind = 'aws';
const DETECT_BYTES = 16 * 1024;

export function localSource(config: LocalSourceConfig, opts: LocalSourceOptions = {}): LocalSource {
  const c = { ...config, container: config.container ?? 'files' };
  if (c.roots.length === 0) throw new Error(`local source of tenant ${c.tenant}: no folder or file to read`);
  const roots = c.roots.map((r) => path.resolve(r));
  const base = path.resolve(c.base ?? baseOf(roots[0]!));
  const pathOf = (ref: ObjectRef) => path.join(base, ...ref.key.split('/'));

  const discovery: Discovery<LocalCursor> = {
    async *poll(cursor, signal) {
      const from = cursor === undefined ? null : LocalCursorSchema.parse(cursor).last;
      for (const file of localFiles(roots)) {
        if (signal?.aborted) return;
        const key = path.relative(base, file).split(path.sep).join('/');
        if (from !== null && key <= from) continue;
        const { version, size, cloud } = await describe(file);
        const objectCloud = c.cloud ?? cloud ?? UNKNOWN_CLOUD;
        const account = c.account ?? opts.accountOf?.(key, objectCloud) ?? 'unknown';
        yield { ref: { cloud: objectCloud, tenant: c.tenant, account, bucket: c.container, key, version, size }, cursor: { v: 1, last: key } };
      }
    },
  };

  const reader: ObjectReader = {
    async open(ref) {
      const file = pathOf(ref);
      await access(file, ref);
      // large reads: the parsers are faster than the syscall rate of the 64 KiB default
      return fs.createReadStream(file, { highWaterMark: 1 << 20, ...(ref.range ? { start: ref.range.start, end: ref.range.end - 1 } : {}) });
    },
    async randomAccess(ref): Promise<RandomAccessSource> {
      const file = pathOf(ref);
      await access(file, ref);
      return fileSource(file);
    },
  };

  return {
    reader,
    discovery,
    pathOf,
    async *list(signal) {
      for await (const { ref } of discovery.poll(undefined, signal)) yield ref;
    },
  };
}

function baseOf(root: string): string {
  try {
    return fs.statSync(root).isFile() ? path.dirname(root) : root;
  } catch {
    return root;
  }
}

/** Every regular file under each root, in path order; hidden files and READMEs are not objects. */
export function localFiles(roots: readonly string[]): string[] {
  const out = new Set<string>();
  for (const root of roots) {
    let st: fs.Stats;
    try {
      st = fs.statSync(root);
    } catch {
      // a configuration error (the folder named is not there), not an object gone since it was listed
      throw new Error(`local source ${root}: no such file or folder`);
    }
    if (st.isFile()) {
      out.add(root);
      continue;
    }
    for (const e of fs.readdirSync(root, { withFileTypes: true, recursive: true })) {
      if (!e.isFile() || e.name.startsWith('.') || e.name.endsWith('.md')) continue;
      out.add(path.join(e.parentPath, e.name));
    }
  }
  return [...out].sort();
}

/** The content's sha256 (the version) and size, and the cloud of the format its head is. */
async function describe(file: string): Promise<{ version: string; size: number; cloud: CloudKind | null }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { version: hash.digest('hex'), size, cloud: await cloudOf(file) };
}

async function cloudOf(file: string): Promise<CloudKind | null> {
  const raw = fs.createReadStream(file, { highWaterMark: 64 * 1024 });
  try {
    const { head } = await peek(decompress(raw as AsyncIterable<Uint8Array>, { source: file }) as ByteSource, DETECT_BYTES);
    const id = detectFormat(head, path.basename(file));
    return FORMATS.find((f) => f.id === id)?.cloud ?? null;
  } catch {
    // corrupt compression and the like: the parser says what is wrong when the unit is read
    return null;
  } finally {
    raw.destroy();
  }
}

/** A file gone between listing and reading is `not-found`, as a deleted object is. */
async function access(file: string, ref: ObjectRef): Promise<void> {
  try {
    await fs.promises.access(file, fs.constants.R_OK);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new CloudError(e.code === 'ENOENT' ? 'not-found' : e.code === 'EACCES' ? 'forbidden' : 'other', ref.cloud, `local ${ref.bucket}/${ref.key}`, e.code ?? e.message, false);
  }
}
