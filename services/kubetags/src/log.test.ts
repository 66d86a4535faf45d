import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger } from './log.js';

// The agent logs its backend config and requests: its logger takes service-kit's one redaction
// list, so a proxy password or client key is redacted as well as its bearer token.
test('the kubetags logger redacts its token and any password or key', async () => {
  let text = '';
  const log = createLogger({ level: 'info', destination: new Writable({ write(c: Buffer, _e, cb) { text += c.toString(); cb(); } }) });
  log.info({ backend: { token: 'K1', headers: { Authorization: 'Bearer K2' } }, proxy: { password: 'K3' }, tls: { keyFile: 'K4' } }, 'config');
  await new Promise((r) => setImmediate(r));
  assert.match(text, /"name":"kubetags"/);
  for (const s of ['K1', 'K2', 'K3', 'K4']) assert.ok(!text.includes(s), `${s} reached the log line: ${text}`);
});
