/**
 * Synthetic inputs for the JSON-format benchmarks (json-formats.bench.ts, json-profile.ts): GCP
 * LogEntry lines shaped like real GKE traffic, and an Azure VNet PT1H.json with the record
 * boundaries known, so a baseline can be given them for free.
 */

export const TUPLES_PER_RECORD = 100;

export function gcpInput(n: number): Buffer {
  const parts: string[] = [];
  const base = Date.UTC(2024, 2, 5, 10, 0, 0);
  for (let i = 0; i < n; i++) {
    const a = i % 250;
    const b = (i * 7) % 250;
    const t0 = new Date(base + (i % 3_600_000)).toISOString().replace('Z', '123456Z');
    const t1 = new Date(base + (i % 3_600_000) + 5000).toISOString().replace('Z', '654321Z');
    const side = (s: 'src' | 'dest', ip: number) => ({
      [`${s}_instance`]: { project_id: 'shop-prod-4711', region: 'europe-west1', vm_name: `gke-shop-prod-default-pool-1a2b3c4d-${ip % 40}`, zone: 'europe-west1-b', managed_instance_group: { name: 'gke-shop-prod-default-pool-1a2b3c4d-grp', zone: 'europe-west1-b' } },
      [`${s}_vpc`]: { project_id: 'shop-prod-4711', subnetwork_name: 'gke-nodes-ew1', vpc_name: 'shop-vpc' },
      [`${s}_gke_details`]: {
        cluster: { cluster_location: 'europe-west1', cluster_name: 'shop-prod' },
        pod: { pod_name: `svc-${ip % 60}-7d9f8c6b5-${ip}x`, pod_namespace: `ns-${ip % 8}`, pod_workload: { workload_name: `svc-${ip % 60}`, workload_type: 'DEPLOYMENT' } },
        ...(s === 'dest' ? { service: [{ service_name: `svc-${ip % 60}`, service_namespace: `ns-${ip % 8}` }] } : {}),
      },
    });
    const e = {
      insertId: `1b7x3kf${i.toString(36)}`,
      jsonPayload: {
        connection: { src_ip: `10.44.${a >> 4}.${a}`, src_port: 30000 + (i % 30000), dest_ip: `10.44.${b >> 4}.${b}`, dest_port: 8080, protocol: 6 },
        reporter: i % 2 ? 'SRC' : 'DEST',
        rtt_msec: String(i % 40),
        bytes_sent: String(1000 + i),
        packets_sent: String(10 + (i % 90)),
        start_time: t0,
        end_time: t1,
        ...side('src', a),
        ...side('dest', b),
      },
      logName: 'projects/shop-prod-4711/logs/compute.googleapis.com%2Fvpc_flows',
      receiveTimestamp: t1,
      resource: { labels: { location: 'europe-west1-b', project_id: 'shop-prod-4711', subnetwork_id: '5512341928376412345', subnetwork_name: 'gke-nodes-ew1' }, type: 'gce_subnetwork' },
      timestamp: t1,
    };
    parts.push(JSON.stringify(e));
  }
  return Buffer.from(parts.join('\n') + '\n');
}

export function vnetInput(tuples: number): { buf: Buffer; records: [number, number][] } {
  const states = ['B', 'C', 'C', 'E', 'D'];
  // pieces and a running byte count: measuring a growing string per record is quadratic
  const parts: string[] = ['{"records":['];
  let at = 12;
  const records: [number, number][] = [];
  const base = 1709632800000;
  let t = 0;
  for (let r = 0; t < tuples; r++) {
    const flowTuples: string[] = [];
    for (let k = 0; k < TUPLES_PER_RECORD && t < tuples; k++, t++) {
      const st = states[t % 5]!;
      const c = st === 'B' || st === 'D' ? '0,0,0,0' : `${t % 90},${(t % 90) * 700},${t % 70},${(t % 70) * 1400}`;
      flowTuples.push(`${base + t * 10},10.224.${(t >> 8) & 3}.${t & 255},10.224.1.${(t * 7) & 255},${30000 + (t % 30000)},443,6,${t & 1 ? 'I' : 'O'},${st},${t % 3 ? 'NX' : 'X'},${c}`);
    }
    const rec = {
      time: new Date(base + r * 60000).toISOString(),
      flowLogVersion: 4,
      flowLogGUID: '66aa66aa-bb77-cc88-dd99-00ee00ee00ee',
      macAddress: '6045BDA1B2C3',
      category: 'FlowLogFlowEvent',
      flowLogResourceID: '/SUBSCRIPTIONS/AAAA0A0A-BB1B-CC2C-DD3D-EEEEEE4E4E4E/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_WESTEUROPE/FLOWLOGS/VNETFLOWLOG',
      targetResourceID: '/subscriptions/aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e/resourceGroups/shop-rg/providers/Microsoft.Network/virtualNetworks/shop-vnet',
      operationName: 'FlowLogFlowEvent',
      flowRecords: { flows: [{ aclID: '5d2f1e0c-7a6b-4c3d-9e8f-0a1b2c3d4e5f', flowGroups: [{ rule: 'DefaultRule_AllowVnetOutBound', flowTuples }] }] },
    };
    if (r > 0) {
      parts.push(',');
      at++;
    }
    const text = JSON.stringify(rec);
    const len = Buffer.byteLength(text);
    parts.push(text);
    records.push([at, at + len]);
    at += len;
  }
  parts.push(']}');
  return { buf: Buffer.from(parts.join('')), records };
}
