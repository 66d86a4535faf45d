import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FORMATS } from './registry.js';

/**
 * The package's layout, checked: one folder per format, shared pieces only in core/, no import
 * cycle, no format importing another cloud's files, one FNV-1a and one class of each cache.
 */

const src = dirname(fileURLToPath(import.meta.url));
const files = (d: string): string[] =>
  readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? (e.name === 'testdata' ? [] : files(join(d, e.name))) : e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [join(d, e.name)] : []));
const SOURCES = files(src);
const rel = (f: string) => relative(src, f);

/** Relative imports of a file (values and types alike), as paths under src. */
function importsOf(f: string): string[] {
  const text = readFileSync(f, 'utf8');
  return [...text.matchAll(/from '(\.{1,2}\/[^']+)\.js'/g)].map((m) => rel(resolve(dirname(f), m[1]!) + '.ts'));
}

test('every registered format has its folder with a spec, and every format folder is registered', () => {
  const folders = readdirSync(join(src, 'formats'), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  const specs = new Set(SOURCES.filter((f) => f.endsWith('/spec.ts')).map((f) => rel(dirname(f)).replace(/^formats\//, '')));
  for (const f of FORMATS) assert.ok(specs.has(f.id) || specs.has(f.id.replace(/-(text|parquet)$/, '')), `${f.id}: a formats/ folder with spec.ts`);
  for (const d of folders) if (specs.has(d)) assert.ok(FORMATS.some((f) => f.id === d || f.id.startsWith(`${d}-`)), `formats/${d}: registered`);
});

test('no import cycle among the package files', () => {
  const graph = new Map(SOURCES.map((f) => [rel(f), importsOf(f)]));
  const state = new Map<string, 1 | 2>();
  const visit = (n: string, path: string[]): void => {
    if (state.get(n) === 2) return;
    assert.notEqual(state.get(n), 1, `import cycle: ${[...path, n].join(' -> ')}`);
    state.set(n, 1);
    for (const m of graph.get(n) ?? []) visit(m, [...path, n]);
    state.set(n, 2);
  };
  for (const n of graph.keys()) visit(n, []);
});

test('a cloud\'s formats import no other cloud\'s files, and core/ imports no format', () => {
  const cloudOf = (p: string) => /^formats\/(aws|gcp|azure)-/.exec(p)?.[1];
  for (const f of SOURCES) {
    const from = rel(f);
    for (const to of importsOf(f)) {
      if (from.startsWith('core/')) assert.ok(!to.startsWith('formats/'), `${from} imports ${to}`);
      const a = cloudOf(from);
      const b = cloudOf(to);
      if (a !== undefined && b !== undefined) assert.equal(a, b, `${from} imports ${to}`);
    }
  }
});

test('one FNV-1a and one class of each cache, in core/intern.ts', () => {
  for (const f of SOURCES) {
    if (rel(f) === 'core/intern.ts') continue;
    const text = readFileSync(f, 'utf8');
    assert.ok(!/0x811c9dc5|16777619|0x01000193/.test(text), `${rel(f)} writes FNV-1a out again`);
    assert.ok(!/class \w*Interner\b|class AddrCache\b/.test(text), `${rel(f)} declares its own cache`);
  }
});
