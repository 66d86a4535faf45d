import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SAMPLES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../samples');

function files(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

test('the committed samples are what make-samples.ts writes (deterministic, nothing edited by hand)', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'sightline-samples-'));
  try {
    execFileSync(process.execPath, ['--import', 'tsx', path.join(SAMPLES, 'make-samples.ts'), out], { cwd: SAMPLES, stdio: 'pipe', timeout: 120_000 });
    const made = files(out);
    const committed = files(SAMPLES).filter((f) => f !== 'README.md' && f !== 'make-samples.ts');
    assert.deepEqual(made, committed);
    for (const f of made) assert.ok(fs.readFileSync(path.join(out, f)).equals(fs.readFileSync(path.join(SAMPLES, f))), `${f} differs from the generator's output`);
    const total = made.reduce((s, f) => s + fs.statSync(path.join(out, f)).size, 0);
    assert.ok(total < 5 * 1024 * 1024, `samples stay small enough to commit: ${total} bytes`);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});
