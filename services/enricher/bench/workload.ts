// What the distributed benchmark feeds the pipeline: AWS default-format flow logs as the cloud
// delivers them (gzip, one object per ENI group and 5 minutes), and a cluster's kube-meta records
// for the pods those flows talk from, so attribution does its real work (lookups that hit).
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { KubeMetaRecord } from '@sightline/kube-model';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
export const TENANT = 'acme';
export const CLUSTER = 'eks-prod';

const HEADER = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n';
/** pod addresses of the synthetic cluster: 10.0.2.0 .. 10.0.9.255 */
const POD_NETS = 8;

/** Where AWS delivers an object of `at`'s day (the collector lists the day folders near now). */
export function awsKey(name: string, at = new Date()): string {
  const [y, m, d] = at.toISOString().slice(0, 10).split('-');
  return `AWSLogs/${ACCOUNT}/vpcflowlogs/${REGION}/${y}/${m}/${d}/${ACCOUNT}_vpcflowlogs_${REGION}_fl-${name}_${y}${m}${d}T0000Z_${name}.log.gz`;
}

/**
 * `lines` default-format (v2) records, deterministic for a seed: most sources are pods of the
 * cluster, destinations a mix of pods, the cluster's service and addresses outside it; flows
 * start in the last 10 minutes and last a minute, as the 1-minute aggregation interval gives.
 */
export function awsFlowLog(lines: number, seed: number, nowMs: number, interfaces = 40): Buffer {
  const out: string[] = [HEADER];
  let x = seed >>> 0 || 1;
  const rnd = () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
  const start = Math.floor(nowMs / 1000) - 600;
  for (let i = 0; i < lines; i++) {
    const eni = `eni-${(rnd() % interfaces).toString(16).padStart(17, '0')}`;
    const s = start + (i % 300);
    const src = rnd() % 10 < 8 ? `10.0.${2 + (rnd() % POD_NETS)}.${rnd() % 256}` : `10.3.${rnd() % 256}.${rnd() % 256}`;
    const r = rnd() % 10;
    const dst = r < 4 ? `10.0.${2 + (rnd() % POD_NETS)}.${rnd() % 256}` : r < 6 ? '172.20.0.10' : `10.1.${rnd() % 256}.${rnd() % 256}`;
    out.push(`2 ${ACCOUNT} ${eni} ${src} ${dst} ${rnd() % 65535} ${[22, 80, 443, 5432][rnd() % 4]} 6 ${1 + (rnd() % 100)} ${40 + (rnd() % 100000)} ${s} ${s + 60} ${rnd() % 10 === 0 ? 'REJECT' : 'ACCEPT'} OK\n`);
  }
  return gzipSync(Buffer.from(out.join('')), { level: 1 });
}

/**
 * One pod per address of the pod networks, cloned from the sample's first pod (same node and
 * owner), created an hour ago and recorded now, so the tenant's metadata watermark is newer than
 * every flow and no batch waits for metadata.
 */
export function clusterPods(sample: { key: string; value: KubeMetaRecord | null }[], nowMs: number): { key: string; value: KubeMetaRecord }[] {
  const tpl = sample.find((r) => r.value?.type === 'upsert' && r.value.object.kind === 'Pod')?.value;
  if (!tpl || tpl.type !== 'upsert' || tpl.object.kind !== 'Pod') throw new Error('kube-meta sample: no pod to clone');
  const out: { key: string; value: KubeMetaRecord }[] = [];
  const created = new Date(nowMs - 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const at = new Date(nowMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
  for (let n = 0; n < POD_NETS; n++) {
    for (let h = 0; h < 256; h++) {
      const uid = randomUUID();
      const object = { ...tpl.object, uid, name: `web-7d4b9-${n}x${h}`, podIPs: [`10.0.${2 + n}.${h}`], createdAt: created, startTime: created };
      out.push({ key: `${TENANT}/${CLUSTER}/Pod/${uid}`, value: { ...tpl, tenant: TENANT, cluster: CLUSTER, at, object } });
    }
  }
  return out;
}
