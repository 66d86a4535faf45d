import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spawnService, startedPort } from './service-process.js';

const script = (body: string): string[] => ['-e', body];

test('seen: a line logged before or after the call; the port of the started line', async () => {
  const p = spawnService({
    name: 'fake',
    argv: script(`console.log('{"msg":"warming up"}'); setTimeout(() => { console.log('{"msg":"fake started","port":4321}'); console.error('bye'); }, 200);`),
  });
  const port = startedPort(p, 'fake');
  await p.seen('warming up');
  assert.equal(await p.seen('warming up'), '{"msg":"warming up"}', 'a line already logged is found again');
  assert.equal(await port, 4321);
  assert.equal(await p.seen('bye'), 'bye', 'stderr lines are kept too');
  assert.equal(await p.exited, 0);
  assert.deepEqual(p.lines, ['{"msg":"warming up"}', '{"msg":"fake started","port":4321}', 'bye']);
});

test('seen: rejects with the last lines when the process exits first; keepLines bounds the lines kept', async () => {
  const p = spawnService({ name: 'fake', argv: script(`for (let i = 0; i < 30; i++) console.log('line ' + i); process.exit(3);`), keepLines: 10 });
  await assert.rejects(p.seen('never'), (e: Error) => /fake exited \(3\) before logging never:\n[\s\S]*line 29$/.test(e.message));
  assert.equal(p.lines.length, 10);
  assert.equal(p.lines[0], 'line 20');
});
