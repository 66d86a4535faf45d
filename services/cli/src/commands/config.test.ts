import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { readConfigFile } from '@sightline/config';
import { backendJsonSchema, backendReference, checkBackendFile, readCommitted } from './config.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const SAMPLE = path.join(ROOT, 'packages/config/src/testdata/sightline.yaml');

test('the committed JSON Schema and reference are what the schemas generate (regenerate: sightline config schema|reference)', () => {
  assert.equal(readCommitted(ROOT, 'schema'), `${JSON.stringify(backendJsonSchema(), null, 2)}\n`, 'docs/config/sightline.schema.json is stale');
  assert.equal(readCommitted(ROOT, 'reference'), backendReference(), 'docs/config/reference.md is stale');
});

test('the sample file is valid for every service, and for the generated JSON Schema', () => {
  assert.deepEqual(checkBackendFile(SAMPLE), []);
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  const validate = ajv.compile(backendJsonSchema());
  const ok = validate(readConfigFile(SAMPLE));
  assert.ok(ok, JSON.stringify(validate.errors, null, 2));
  // and the schema is not a blank cheque: a mistyped knob of a service section is refused by it too
  const bad = readConfigFile(SAMPLE) as { enricher: Record<string, unknown> };
  bad.enricher['writerz'] = 2;
  assert.equal(validate(bad), false);
});

test("check names every service's problems by their place in the one file", () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sl-config-'));
  const file = path.join(dir, 'sightline.yaml');
  const text = readFileSync(SAMPLE, 'utf8')
    .replace('  writers: 2\n', '  writers: 99\n')
    .replace('collector:\n  workers: 4\n', 'collector:\n  workers: 4\n  polIntervalMs: 10\n')
    .replace('  listen: { port: 8443 }\n', '  listen: { port: 8443 }\n  query: { timeoutMs: 0 }\n')
    .replace('        region: eu-west-1\n', '        region: nowhere\n');
  writeFileSync(file, text);
  const problems = checkBackendFile(file);
  for (const want of [/^enricher\.writers: /, /^collector\.polIntervalMs: unknown key$/, /^api\.query\.timeoutMs: /, /^tenants\.acme\.sources\[0\]\.region: /]) {
    assert.ok(problems.some((p) => want.test(p)), `${String(want)} in:\n${problems.join('\n')}`);
  }
});
