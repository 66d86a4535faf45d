import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from './log.js';
import { Startup, StartupError, settlesWithin } from './startup.js';

function capture() {
  const lines: Array<{ msg: string; step?: string; attempt?: number; level: number }> = [];
  const log = createLogger({ level: 'info', destination: new Writable({ write(c: Buffer, _e, cb) { for (const l of c.toString().split('\n')) if (l) lines.push(JSON.parse(l)); cb(); } }) });
  return { log, lines };
}
const never = () => new Promise<never>(() => undefined);

test('each step is logged when it starts and when it is done, with its result passed on', async () => {
  const { log, lines } = capture();
  const s = new Startup(log, 5_000);
  assert.equal(await s.step('ensure topics', async () => 'ok'), 'ok');
  assert.equal(await s.step('connect producer', async () => 7), 7);
  assert.deepEqual(lines.map((l) => l.msg), ['start-up: ensure topics', 'start-up: ensure topics: done', 'start-up: connect producer', 'start-up: connect producer: done']);
});

test('a stuck step fails start-up by the deadline, naming the step, and its attempt is aborted', async () => {
  const { log } = capture();
  const s = new Startup(log, 400);
  await s.step('ensure topics', async () => undefined);
  let aborted = false;
  const t0 = Date.now();
  await assert.rejects(
    s.step('load checkpoints', ({ signal }) => { signal.addEventListener('abort', () => { aborted = true; }); return never(); }),
    (err: unknown) => err instanceof StartupError && err.step === 'load checkpoints' && /start-up step 'load checkpoints' did not finish within \d+ ms/.test(err.message),
  );
  assert.ok(Date.now() - t0 < 1_500, 'failed at the deadline, not later');
  assert.ok(aborted, 'the abandoned attempt was told to release what it opened');
});

test('a retriable step is tried again with a fresh attempt after one that overran, then goes on', async () => {
  const { log, lines } = capture();
  const s = new Startup(log, 10_000);
  const seen: number[] = [];
  const v = await s.step('connect producer', ({ attempt }) => { seen.push(attempt); return attempt === 1 ? never() : Promise.resolve('connected'); }, { retry: true, attemptMs: 200 });
  assert.equal(v, 'connected');
  assert.deepEqual(seen, [1, 2]);
  assert.ok(lines.some((l) => l.level === 40 && l.msg === 'start-up: connect producer did not finish within 200 ms; retrying'));
});

test('a failure of a step that is not retriable ends start-up at once, with its cause', async () => {
  const { log } = capture();
  const s = new Startup(log, 10_000);
  let tries = 0;
  const cause = new Error('EADDRINUSE 127.0.0.1:9464');
  await assert.rejects(
    s.step('open http', async () => { tries++; throw cause; }),
    (err: unknown) => err instanceof StartupError && err.cause === cause && err.message.includes("start-up step 'open http' failed: EADDRINUSE"),
  );
  assert.equal(tries, 1);
});

test('a retriable step that keeps failing gives up before the deadline, not after', async () => {
  const { log } = capture();
  const s = new Startup(log, 1_500);
  let tries = 0;
  const t0 = Date.now();
  await assert.rejects(
    s.step('ensure topics', async () => { tries++; throw new Error('There is no leader for this topic-partition'); }, { retry: true }),
    (err: unknown) => err instanceof StartupError && /ensure topics' failed: There is no leader/.test(err.message),
  );
  assert.ok(tries >= 2, `retried (${tries} tries)`);
  assert.ok(Date.now() - t0 <= 1_600, 'within the deadline');
});

test('settlesWithin: true for a promise that settles (also by rejecting), false for one that does not', async () => {
  assert.equal(await settlesWithin(Promise.resolve(), 100), true);
  assert.equal(await settlesWithin(Promise.reject(new Error('closed')), 100), true);
  assert.equal(await settlesWithin(never(), 100), false);
});
