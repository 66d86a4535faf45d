/**
 * Service map benchmark (issue 14): in headless Chromium (Debian's, through puppeteer-core), a map of
 * 500 workloads and 5,000 edges must answer a click within 1 s of its data arriving; printed against
 * a map of 50 workloads and 500 edges measured in the same run (median of 3 each, after one warm-up
 * of each; runs alternate so both see the same machine).
 *   pnpm -C services/console bench
 */
import { build } from 'esbuild';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch } from '../test/browser.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, 'bench-output');
const TARGET_MS = 1000;
const RUNS = Number(process.env.RUNS ?? 3);

mkdirSync(OUT, { recursive: true });
await build({ entryPoints: [path.join(ROOT, 'bench', 'page', 'map-bench.ts')], bundle: true, format: 'esm', minify: true, outfile: path.join(OUT, 'map-bench.js'), logLevel: 'warning', define: { 'process.env.NODE_ENV': '"production"' } });
writeFileSync(path.join(OUT, 'index.html'), '<!doctype html><html><head><meta charset="utf-8"><link rel="stylesheet" href="map-bench.css"></head><body><div id="map"></div><script type="module" src="map-bench.js"></script></body></html>\n');
writeFileSync(path.join(OUT, 'map-bench.css'), '#map { width: 1000px; height: 700px; position: relative; }\n');

const server = createServer((req, res) => {
  const name = (req.url ?? '/').split('?')[0] === '/' ? 'index.html' : (req.url ?? '').slice(1);
  try {
    const body = readFileSync(path.join(OUT, path.basename(name)));
    res.writeHead(200, { 'content-type': name.endsWith('.js') ? 'text/javascript' : name.endsWith('.css') ? 'text/css' : 'text/html' });
    res.end(body);
  } catch {
    res.writeHead(404);
    res.end();
  }
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const browser = await launch();
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 800 });
  await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  await page.waitForFunction(() => document.title === 'ready');
  const gl = await page.evaluate(() => {
    const c = document.createElement('canvas').getContext('webgl');
    const i = c?.getExtension('WEBGL_debug_renderer_info');
    return c && i ? String(c.getParameter(i.UNMASKED_RENDERER_WEBGL)) : 'none';
  });
  const once = (w: number, e: number) => page.evaluate((w2, e2) => (window as unknown as { runMap(w: number, e: number): Promise<{ ms: number; nodes: number; edges: number; parts: Record<string, number> }> }).runMap(w2, e2), w, e);
  const small: number[] = [];
  const big: number[] = [];
  await once(50, 500);
  await once(500, 5000);
  let shape = { nodes: 0, edges: 0, parts: {} as Record<string, number> };
  for (let i = 0; i < RUNS; i++) {
    small.push((await once(50, 500)).ms);
    const b = await once(500, 5000);
    big.push(b.ms);
    shape = b;
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const s = median(small);
  const b = median(big);
  process.stdout.write(`WebGL renderer: ${gl}\n`);
  process.stdout.write(`50 workloads / 500 edges: ${small.map((x) => x.toFixed(0)).join(', ')} ms, median ${s.toFixed(0)} ms\n`);
  process.stdout.write(`500 workloads / 5000 edges (${shape.nodes} nodes, ${shape.edges} edges drawn): ${big.map((x) => x.toFixed(0)).join(', ')} ms, median ${b.toFixed(0)} ms\n`);
  process.stdout.write(`last 500-workload run: ${Object.entries(shape.parts).map(([k, v]) => `${k} ${v.toFixed(0)} ms`).join(', ')}\n`);
  process.stdout.write(`ratio 500/50: ${(b / s).toFixed(2)}x; target: interactive within ${TARGET_MS} ms: ${b <= TARGET_MS ? 'met' : 'MISSED'}\n`);
} finally {
  await browser.close();
  server.close();
}
