import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Attributor } from '@sightline/attribution';
import { colIndex, FlowBatch } from '@sightline/flow';
import { countAttribution, EnricherMetrics } from './metrics.js';

/**
 * The attributor's GKE counters reach Prometheus: an end attributed from GCP's own gke_details
 * (no cluster of the scope knew the address) is counted as a fallback, per tenant.
 */

async function value(m: EnricherMetrics, name: string, tenant: string): Promise<number> {
  const v = (await m.registry.getSingleMetric(name)?.get())?.values ?? [];
  return v.filter((s) => s.labels.tenant === tenant).reduce((a, s) => a + s.value, 0);
}

test('gke_details fallbacks and disagreements are exported as counters', async () => {
  const b = new FlowBatch(1);
  const s = (name: string, v: string) => (b.strings(colIndex(name))[0] = v);
  s('cloud', 'gcp');
  s('format', 'gcp-vpc-json');
  s('src_addr', '10.8.0.12');
  s('dst_addr', '10.8.9.9');
  s('src_gke_pod_name', 'web-1');
  s('src_gke_pod_namespace', 'shop');
  b.numbers(colIndex('start'))[0] = Date.parse('2026-12-02T06:00:00Z');
  b.numbers(colIndex('end'))[0] = Date.parse('2026-12-02T06:00:05Z');
  b.length = 1;
  const stats = new Attributor().attributeBatch(b);
  assert.equal(stats.gkeFallback, 1);
  const m = new EnricherMetrics(false);
  countAttribution(m, 'acme', stats);
  assert.equal(await value(m, 'sightline_enricher_gke_fallback_total', 'acme'), 1);
  assert.equal(await value(m, 'sightline_enricher_gke_disagreements_total', 'acme'), 0);
  assert.equal(await value(m, 'sightline_enricher_attributed_total', 'acme'), 1);
});
