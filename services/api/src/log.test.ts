import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger } from './log.js';

// The API logs requests and its config (kafka, store): its logger takes service-kit's one
// redaction list, so passwords and keys are redacted as well as its tokens and cookies.
test('the API logger redacts tokens, cookies, passwords and keys', async () => {
  let text = '';
  const log = createLogger({ level: 'info', destination: new Writable({ write(c: Buffer, _e, cb) { text += c.toString(); cb(); } }) });
  log.info({ headers: { authorization: 'Bearer A1', cookie: 'A2' }, reader: { tokenSha256: 'A3' }, kafka: { sasl: { password: 'A4' } }, store: { s3: { secretAccessKey: 'A5' } } }, 'config');
  await new Promise((r) => setImmediate(r));
  assert.match(text, /"name":"api"/);
  for (const s of ['A1', 'A2', 'A3', 'A4', 'A5']) assert.ok(!text.includes(s), `${s} reached the log line: ${text}`);
});
