import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FlowBatch, colIndex } from '@sightline/flow';
import { KubeMetaRecordSchema, type KubeMetaRecord } from '@sightline/kube-model';
import { KubeMetaState } from './kube-meta-state.js';

const TD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testdata');
/** kube-meta topic records of one small EKS cluster: snapshot (epoch 1), a delete and an IP reuse, snapshot (epoch 2) missing a pod. */
const RECORDS: KubeMetaRecord[] = fs
  .readFileSync(path.join(TD, 'kube-meta-acme.ndjson'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as { value: unknown })
  .filter((r) => r.value !== null)
  .map((r) => KubeMetaRecordSchema.parse(r.value));

const T = (iso: string) => Date.parse(iso);

/** Attributes one AWS flow to `dst` at `time`; returns the destination pod and workload. */
function dstAt(state: KubeMetaState, tenant: string, dst: string, time: string): { pod: string | null; workload: string | null; cluster: string | null } {
  const b = new FlowBatch(1);
  b.strings(colIndex('cloud'))[0] = 'aws';
  b.strings(colIndex('account'))[0] = '111122223333';
  b.strings(colIndex('vpc_id'))[0] = 'vpc-0a1b2c3d';
  b.strings(colIndex('src_addr'))[0] = '192.0.2.7';
  b.strings(colIndex('dst_addr'))[0] = dst;
  b.numbers(colIndex('start'))[0] = T(time);
  b.numbers(colIndex('end'))[0] = T(time) + 1000;
  b.length = 1;
  state.attributor(tenant)?.attributeBatch(b);
  const s = (f: string) => b.get(0, colIndex(`dst_k8s_${f}`)) as string | null;
  return { pod: s('pod'), workload: s('workload'), cluster: s('cluster') };
}

test('records applied one by one: workload resolved whatever the order, deletes and IP reuse, snapshot markers end missed objects', () => {
  const st = new KubeMetaState();
  for (const r of RECORDS) st.apply(r);
  assert.equal(dstAt(st, 'acme', '10.0.1.21', '2026-11-26T10:10:00Z').pod, 'web-7d4b9-abcde');
  assert.equal(dstAt(st, 'acme', '10.0.1.21', '2026-11-26T10:25:00Z').pod, 'web-7d4b9-klmno', 'the reused IP belongs to the new pod after 10:21');
  assert.equal(dstAt(st, 'acme', '10.0.1.21', '2026-11-26T10:20:30Z').pod, null, 'between deletion and reuse nobody holds the IP');
  assert.equal(dstAt(st, 'acme', '10.0.1.22', '2026-11-26T10:30:00Z').pod, 'web-7d4b9-fghij');
  assert.equal(dstAt(st, 'acme', '10.0.1.22', '2026-11-26T10:41:00Z').pod, null, 'missing from the epoch 2 snapshot: ended at its marker');
  assert.equal(dstAt(st, 'acme', '172.20.0.10', '2026-11-26T10:41:00Z').cluster, 'eks-prod');
  assert.equal(st.stats.endedBySnapshot, 1);
  assert.equal(st.watermarkMs('acme'), T('2026-11-26T10:40:00Z'));
});

test('applyAll: a run of upserts is applied owners first, so pods get their workload', () => {
  const st = new KubeMetaState();
  st.applyAll(RECORDS);
  const r = dstAt(st, 'acme', '10.0.1.21', '2026-11-26T10:10:00Z');
  assert.deepEqual(r, { pod: 'web-7d4b9-abcde', workload: 'web', cluster: 'eks-prod' });
});

test('tenants are isolated: the same addresses in another tenant attribute to that tenant only', () => {
  const st = new KubeMetaState();
  st.applyAll(RECORDS);
  const other = RECORDS.map((r) => {
    const o = structuredClone(r);
    o.tenant = 'globex';
    o.cluster = 'eks-globex';
    if (o.type === 'upsert' && o.object.kind === 'Pod') o.object.name = o.object.name.replace('web', 'api');
    return o;
  });
  st.applyAll(other);
  assert.equal(dstAt(st, 'acme', '10.0.1.21', '2026-11-26T10:10:00Z').pod, 'web-7d4b9-abcde');
  assert.equal(dstAt(st, 'globex', '10.0.1.21', '2026-11-26T10:10:00Z').pod, 'api-7d4b9-abcde');
  assert.equal(dstAt(st, 'initech', '10.0.1.21', '2026-11-26T10:10:00Z').pod, null, 'a tenant without metadata gets nothing');
  assert.deepEqual(st.clusters('globex'), ['eks-globex']);
});

test('a cluster is a candidate only once its cloud is known; a declared scope narrows it to its account and VPC', () => {
  const noNodes = RECORDS.filter((r) => !(r.type === 'upsert' && r.object.kind === 'Node'));
  const st = new KubeMetaState();
  st.applyAll(noNodes);
  assert.equal(dstAt(st, 'acme', '10.0.1.21', '2026-11-26T10:10:00Z').pod, null, 'no node providerID, no declared cloud: not a candidate');

  const declared = new KubeMetaState({ scopes: [{ tenant: 'acme', cluster: 'eks-prod', cloud: 'aws', accounts: ['999988887777'], networks: [] }] });
  declared.applyAll(noNodes);
  assert.equal(dstAt(declared, 'acme', '10.0.1.21', '2026-11-26T10:10:00Z').pod, null, 'the flow is of another account');
  const right = new KubeMetaState({ scopes: [{ tenant: 'acme', cluster: 'eks-prod', accounts: ['111122223333'], networks: ['vpc-0a1b2c3d'] }] });
  right.applyAll(RECORDS);
  assert.equal(dstAt(right, 'acme', '10.0.1.21', '2026-11-26T10:10:00Z').pod, 'web-7d4b9-abcde');
});
