import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from './config.js';

test('config: defaults filled around the tokens file; bad fields named with the file', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'api-config-'));
  const file = path.join(dir, 'api.json');
  writeFileSync(file, JSON.stringify({ tokensFile: '/etc/sightline/tokens.json' }));
  const c = loadConfig(file);
  assert.deepEqual([c.listen.host, c.listen.port, c.kafka.topicPrefix, c.tls], ['127.0.0.1', 8443, 'sightline.', undefined]);
  writeFileSync(file, JSON.stringify({ tokensFile: 't.json', listen: { port: 70000 }, kafka: { topicPrefix: 'a b' } }));
  assert.throws(() => loadConfig(file), (e: unknown) => e instanceof Error && e.message.startsWith(`config ${file}`) && /listen\.port/.test(e.message) && /kafka\.topicPrefix/.test(e.message));
  writeFileSync(file, '{');
  assert.throws(() => loadConfig(file), /config .*api\.json/);
});
