import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { COL, type FlowBatch } from '@sightline/flow';
import { newStats, parseObject, type FormatId, type ParseStats } from '@sightline/parsers';
import { fileInput } from '../file-input.js';

/**
 * The embedded default, as far as it exists today: parse the bundled sample flow logs of all
 * three clouds and print what they hold. Later work replaces this with the whole embedded
 * pipeline (collect, enrich, store, serve).
 */
const SAMPLES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../samples');

export async function runStart(args: string[]): Promise<number> {
  const dir = args[0] ?? SAMPLES_DIR;
  const files = listFiles(dir);
  if (files.length === 0) {
    process.stderr.write(`sightline start: no sample files under ${dir}\n`);
    return 1;
  }
  const byFormat = new Map<string, Agg>();
  const talkers = new Map<string, number>();
  const stats: ParseStats = newStats();
  let failed = 0;
  const t0 = performance.now();
  for (const file of files) {
    let format: FormatId | 'unknown' = 'unknown';
    try {
      const onIssue = () => {};
      const seen = new Set<string>();
      for await (const batch of parseObject(fileInput(file), { source: file, stats, onIssue }, (f) => (format = f))) {
        tally(batch, format, byFormat, talkers, seen);
      }
      for (const f of seen) byFormat.get(f)!.files++;
    } catch (err) {
      failed++;
      process.stderr.write(`sightline: ${(err as Error).message}\n`);
    }
  }
  const ms = performance.now() - t0;
  const lines: string[] = [];
  lines.push(`Sightline embedded default: parsed ${files.length - failed}/${files.length} sample files from ${path.relative(process.cwd(), dir) || '.'} in ${ms.toFixed(0)} ms`);
  lines.push('');
  lines.push(pad('format', 18) + pad('files', 7) + pad('flows', 10) + pad('bytes', 14) + 'rejected');
  for (const [fmt, a] of [...byFormat.entries()].sort()) {
    lines.push(pad(fmt, 18) + pad(String(a.files), 7) + pad(String(a.flows), 10) + pad(String(a.bytes), 14) + String(a.rejected));
  }
  lines.push('');
  lines.push(`records ${stats.records}, nodata ${stats.nodata}, skipdata ${stats.skipdata}, errors ${stats.errors}, incomplete ${stats.incomplete}`);
  lines.push('');
  lines.push('top talkers by bytes (source -> destination):');
  for (const [pair, bytes] of [...talkers.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10)) {
    lines.push(`  ${pad(pair, 48)} ${bytes}`);
  }
  process.stdout.write(lines.join('\n') + '\n');
  return failed > 0 ? 1 : 0;
}

interface Agg {
  files: number;
  flows: number;
  bytes: number;
  rejected: number;
}

/** Per record format (azure-nsg-v1/v2 are told apart per record, not per file). */
function tally(batch: FlowBatch, detected: string, byFormat: Map<string, Agg>, talkers: Map<string, number>, seen: Set<string>): void {
  const format = batch.columns[COL.format!] as (string | null)[] | undefined;
  const bytes = batch.columns[COL.bytes!] as Float64Array | undefined;
  const src = batch.columns[COL.src_addr!] as (string | null)[] | undefined;
  const dst = batch.columns[COL.dst_addr!] as (string | null)[] | undefined;
  const action = batch.columns[COL.action!] as (string | null)[] | undefined;
  for (let i = 0; i < batch.length; i++) {
    const b = bytes && !Number.isNaN(bytes[i]!) ? bytes[i]! : 0;
    const fmt = format?.[i] ?? detected;
    seen.add(fmt);
    let agg = byFormat.get(fmt);
    if (!agg) byFormat.set(fmt, (agg = { files: 0, flows: 0, bytes: 0, rejected: 0 }));
    agg.flows++;
    agg.bytes += b;
    if (action?.[i] === 'reject') agg.rejected++;
    const key = `${src?.[i] ?? '?'} -> ${dst?.[i] ?? '?'}`;
    talkers.set(key, (talkers.get(key) ?? 0) + b);
  }
}

function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && !e.name.startsWith('.') && !e.name.endsWith('.md')) out.push(path.join(e.parentPath ?? e.path, e.name));
  }
  return out.sort();
}

const pad = (s: string, n: number) => (s.length >= n ? s + ' ' : s + ' '.repeat(n - s.length));
