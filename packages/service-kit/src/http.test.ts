import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startHttp, type Health, type MetricsSource } from './http.js';

// service-kit does not depend on prom-client: the services pass theirs; this is its shape
const metrics: MetricsSource = { registry: { metrics: async () => 'up 1\n', contentType: 'text/plain; version=0.0.4' } };

test('/healthz answers liveness and /readyz readiness, each from its own probe', async () => {
  let alive: Health = { ok: true, detail: { phase: 'starting' } };
  let ready: Health = { ok: false, detail: { waiting: 'kube-meta' } };
  const http = await startHttp('127.0.0.1', 0, metrics, () => alive, { ready: () => ready });
  try {
    const get = async (path: string) => {
      const r = await fetch(`${http.url}${path}`);
      return { status: r.status, body: await r.text() };
    };
    // starting: alive (a liveness probe must not kill it) but not ready (no traffic yet)
    assert.equal((await get('/healthz')).status, 200);
    const notReady = await get('/readyz');
    assert.equal(notReady.status, 503);
    assert.deepEqual(JSON.parse(notReady.body), { status: 'unavailable', waiting: 'kube-meta' });
    ready = { ok: true, detail: {} };
    assert.equal((await get('/readyz')).status, 200);
    alive = { ok: false, detail: { failed: true } };
    assert.equal((await get('/healthz')).status, 503);
    assert.equal((await get('/metrics')).status, 200);
    const other = await get('/nope');
    assert.equal(other.status, 404);
    assert.match(other.body, /\/readyz/);
  } finally {
    await http.close();
  }
});

test('without a readiness probe /readyz answers as /healthz; without health only /metrics is served', async () => {
  let h: Health = { ok: false, detail: {} };
  const withHealth = await startHttp('127.0.0.1', 0, metrics, () => h);
  const metricsOnly = await startHttp('127.0.0.1', 0, metrics);
  try {
    assert.equal((await fetch(`${withHealth.url}/readyz`)).status, 503);
    h = { ok: true, detail: {} };
    assert.equal((await fetch(`${withHealth.url}/readyz`)).status, 200);
    assert.equal((await fetch(`${metricsOnly.url}/readyz`)).status, 404);
    assert.equal((await fetch(`${metricsOnly.url}/healthz`)).status, 404);
  } finally {
    await withHealth.close();
    await metricsOnly.close();
  }
});
