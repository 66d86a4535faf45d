import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger, errField } from './log.js';

function capture(): { lines: Record<string, unknown>[]; stream: Writable } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { lines, stream };
}

class StepError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StepError';
  }
}

test('an error field keeps its own name and a scrubbed message, and credentials are redacted', async () => {
  const { lines, stream } = capture();
  const log = createLogger({ name: 'test', level: 'info', destination: stream });
  log.error({ err: errField(new StepError('GET https://b.s3/x?X-Amz-Signature=abc123 failed')), source: { secretAccessKey: 'SECRET' } }, 'boom');
  await new Promise((r) => setImmediate(r));
  const [line] = lines;
  assert.deepEqual(line?.err, { type: 'StepError', message: 'GET https://b.s3/x?X-Amz-Signature=[redacted] failed' });
  assert.deepEqual(line?.source, { secretAccessKey: '[redacted]' });
  assert.ok(!JSON.stringify(line).includes('SECRET') && !JSON.stringify(line).includes('abc123'));
});

test('an Error logged as it is gets the same safe shape', async () => {
  const { lines, stream } = capture();
  const log = createLogger({ name: 'test', level: 'info', destination: stream });
  const raw = Object.assign(new StepError('token=hunter2 refused'), { request: { headers: { authorization: 'AWS4 x' } } });
  log.warn({ err: raw }, 'raw');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(lines[0]?.err, { type: 'StepError', message: 'token=[redacted] refused' });
});

test('the one redaction list covers tokens, their hashes, cookies, passwords and keys at any depth a config or request is logged', async () => {
  const { lines, stream } = capture();
  const log = createLogger({ name: 'test', level: 'info', destination: stream });
  log.info({
    request: { headers: { authorization: 'Bearer SECRET-1', cookie: 'c=SECRET-2' } },
    token: 'SECRET-3',
    reader: { tokenSha256: 'SECRET-4' },
    config: { kafka: { sasl: { password: 'SECRET-5' } }, store: { password: 'SECRET-6' }, sources: { aws: { secretAccessKey: 'SECRET-7' } } },
    agent: { bearer: 'SECRET-8' },
  }, 'everything');
  await new Promise((r) => setImmediate(r));
  const text = JSON.stringify(lines[0]);
  // markers no timestamp can contain ("T1" is in every ISO time from 10:00 to 19:59)
  for (let i = 1; i <= 8; i++) assert.ok(!text.includes(`SECRET-${i}`), `SECRET-${i} reached the log line: ${text}`);
  assert.match(text, /\[redacted\]/);
});
