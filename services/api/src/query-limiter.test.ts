import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClientGone, QueryLimiter, QueryLimitsSchema, QueryRejected, type QueryEvent } from './query-limiter.js';

const limiter = (l: Record<string, number>) => new QueryLimiter(QueryLimitsSchema.parse(l));

test('limiter: a freed slot goes to the next tenant in turn, not to the tenant with the longest queue', async () => {
  const lim = limiter({ concurrent: 2, perTenant: 2, queuePerTenant: 300 });
  const events: QueryEvent[] = [];
  lim.on((e) => events.push(e));
  const never = () => new AbortController().signal;
  const a1 = await lim.acquire('A', never());
  const a2 = await lim.acquire('A', never());
  const queuedA = Array.from({ length: 200 }, () => lim.acquire('A', never()));
  const b = lim.acquire('B', never());
  assert.deepEqual(lim.stats('A'), { running: 2, waiting: 200 });
  a1();
  // B is served first although A's 200 came before it (admission is synchronous with the release)
  const admittedB = events.find((e) => e.type === 'admitted' && e.tenant === 'B');
  assert.deepEqual(admittedB, { type: 'admitted', tenant: 'B', othersWaiting: 200, waited: true });
  const bRelease = await b;
  assert.deepEqual(lim.stats('A'), { running: 1, waiting: 200 });
  // B done, A's next runs; A's queue drains in order
  bRelease();
  a2();
  const next = await queuedA[0]!;
  next();
  assert.deepEqual(lim.stats(), { running: 2, waiting: 197 });
});

test('limiter: past the queue 429; a waiting query whose client left is dropped without running', async () => {
  const lim = limiter({ concurrent: 1, perTenant: 1, queuePerTenant: 2, retryAfterSeconds: 3 });
  const events: QueryEvent[] = [];
  lim.on((e) => events.push(e));
  const release = await lim.acquire('A', new AbortController().signal);
  const gone = new AbortController();
  const w1 = lim.acquire('A', gone.signal);
  const w2 = lim.acquire('A', new AbortController().signal);
  await assert.rejects(lim.acquire('A', new AbortController().signal), (e: unknown) => e instanceof QueryRejected && e.retryAfterSeconds === 3);
  gone.abort(new ClientGone());
  await assert.rejects(w1, ClientGone);
  assert.ok(events.some((e) => e.type === 'dropped' && e.reason === 'client-gone'));
  assert.deepEqual(lim.stats('A'), { running: 1, waiting: 1 });
  release();
  (await w2)();
  assert.equal(events.filter((e) => e.type === 'admitted').length, 2, 'the dropped query never ran');
  assert.deepEqual(lim.stats(), { running: 0, waiting: 0 });
});

test('limiter: per-tenant limit below the global one leaves a slot for another tenant at once', async () => {
  const lim = limiter({ concurrent: 3, perTenant: 2, queuePerTenant: 10 });
  const never = new AbortController().signal;
  await lim.acquire('A', never);
  await lim.acquire('A', never);
  const third = lim.acquire('A', never);
  assert.deepEqual(lim.stats('A'), { running: 2, waiting: 1 });
  await lim.acquire('B', never);
  assert.deepEqual(lim.stats(), { running: 3, waiting: 1 });
  void third;
  assert.throws(() => QueryLimitsSchema.parse({ concurrent: 1, perTenant: 2 }), /perTenant/);
});
