import fs from 'node:fs';
import type { FlowBatch } from '@sightline/flow';
import { fileSource, newStats, parseObject, ParseError, type ObjectInput, type ParseIssue, type ParseStats } from '@sightline/parsers';

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

/** Issues reported per file before the rest are only counted: a file of a million bad lines must not flood a terminal. */
const MAX_ISSUES_PER_FILE = 100;

export type FileTotals = { files: number } & ParseStats;

/**
 * The per-file loop of `sightline parse` and `sightline enrich`: each file is checked, parsed
 * and handed batch by batch to `onBatch`; a file that cannot be read or parsed is reported on
 * stderr and counted in `failed` while the others go on. Stats are summed over all files,
 * including the records of a file that failed part way.
 */
export async function parseFiles(
  files: readonly string[],
  onBatch: (batch: FlowBatch) => Promise<void> | void,
): Promise<{ total: FileTotals; failed: number }> {
  const total: FileTotals = { files: 0, ...newStats() };
  let failed = 0;
  for (const file of files) {
    const why = await checkReadable(file);
    if (why !== null) {
      process.stderr.write(`sightline: ${file}: cannot read: ${why}\n`);
      failed++;
      continue;
    }
    const stats: ParseStats = newStats();
    let reported = 0;
    const onIssue = (issue: ParseIssue) => {
      if (reported++ < MAX_ISSUES_PER_FILE) process.stderr.write(`sightline: ${describeIssue(issue)}\n`);
    };
    try {
      for await (const batch of parseObject(fileInput(file), { source: file, stats, onIssue })) {
        const wait = onBatch(batch);
        if (wait) await wait;
      }
      total.files++;
    } catch (err) {
      failed++;
      const msg = err instanceof ParseError ? err.message : `${file}: ${(err as Error).message}`;
      process.stderr.write(`sightline: ${msg}\n`);
    } finally {
      if (reported > MAX_ISSUES_PER_FILE) process.stderr.write(`sightline: ${file}: ${reported - MAX_ISSUES_PER_FILE} more issues not shown\n`);
      total.records += stats.records;
      total.nodata += stats.nodata;
      total.skipdata += stats.skipdata;
      total.errors += stats.errors;
      total.incomplete += stats.incomplete;
    }
  }
  return { total, failed };
}

function describeIssue(issue: ParseIssue): string {
  const where = issue.line !== undefined ? `:${issue.line}` : issue.offset !== undefined ? ` (byte ${issue.offset})` : '';
  const tag = issue.kind === 'incomplete' ? 'incomplete: ' : '';
  return `${issue.source}${where}: ${tag}${issue.message}`;
}
