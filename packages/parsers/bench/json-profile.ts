/**
 * Runs one JSON-format parser (or its baseline) over a synthetic input several times, for a
 * CPU profile: the benchmark interleaves parsers and baselines, which muddles a profile.
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/json-profile.ts gcp|vnet [parser|baseline|general]
 *
 * `general` is the VNet parser without its byte-level fast path.
 *
 * Env: LINES (GCP lines / Azure tuples), RUNS.
 */
import { parseGcpJson } from '../src/formats/gcp-vpc-json/gcp-json.js';
import { createAzureVnetParser, parseAzureVnet } from '../src/formats/azure-vnet/azure-vnet.js';
import { newStats, type StreamParser } from '../src/types.js';
import { gcpInput, vnetInput } from './json-inputs.js';

const [which = 'gcp', mode = 'parser'] = process.argv.slice(2);
const RUNS = Number(process.env.RUNS ?? 10);
const CHUNK = 64 * 1024;

async function* chunks(buf: Buffer) {
  for (let i = 0; i < buf.length; i += CHUNK) yield buf.subarray(i, Math.min(buf.length, i + CHUNK));
}

async function once(parser: StreamParser, buf: Buffer): Promise<number> {
  const ctx = { source: 'profile', stats: newStats(), onIssue: (i: { message: string }) => { throw new Error(i.message); } };
  let rows = 0;
  for await (const b of parser(chunks(buf), ctx)) rows += b.length;
  return rows;
}

function baselineLines(buf: Buffer): number {
  let n = 0;
  for (let from = 0, nl = buf.indexOf(10); nl !== -1; from = nl + 1, nl = buf.indexOf(10, from)) {
    JSON.parse(buf.toString('utf8', from, nl));
    n++;
  }
  return n;
}

const input = which === 'gcp' ? { buf: gcpInput(Number(process.env.LINES ?? 20_000)), records: [] } : vnetInput(Number(process.env.LINES ?? 200_000));
const parser = which === 'gcp' ? parseGcpJson : mode === 'general' ? createAzureVnetParser({ fastPath: false }) : parseAzureVnet;
const times: number[] = [];
const cpus: number[] = [];
let rows = 0;
for (let r = 0; r < RUNS; r++) {
  const c0 = process.cpuUsage();
  const t = performance.now();
  if (mode === 'baseline') rows = which === 'gcp' ? baselineLines(input.buf) : input.records.reduce((n, [a, b]) => (JSON.parse(input.buf.toString('utf8', a, b)), n + 1), 0);
  else rows = await once(parser, input.buf);
  times.push(performance.now() - t);
  const c = process.cpuUsage(c0);
  cpus.push((c.user + c.system) / 1000);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
console.log(`${which} ${mode}: ${rows} rows, median ${median(times).toFixed(1)} ms wall, ${median(cpus).toFixed(1)} ms cpu over ${RUNS} runs`);
