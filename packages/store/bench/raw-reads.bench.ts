// Raw-table reads on ClickHouse without FINAL (issue 11 point 7), against the old FINAL query in the
// same run: 10M flows over 24 h generated server-side in a fresh database of the local server
// (INSERT ... SELECT from system.numbers through the real table, so the rollup and landed views
// fire), then, median of BENCH_RUNS (3) after one warm-up:
//  - by pod, raw table: top-10 destination pods by bytes over the 24 h (the store's topN, use raw:
//    no FINAL now), and one pod's hourly bytes (timeSeries with a pod filter: pods are not rollup keys);
//  - the same two statements with FINAL, as the store sent them before (the baseline);
//  - top-10 destination workloads over the 24 h from the rollups (auto), with the raw table as its baseline,
//    and the same statement on a 1h rollup keyed by dst_port (the store's rollups before migration 8,
//    fed by the same inserts through a view made here) as the before of the service-port key.
// Half the flows are replies (server port to an ephemeral one), as in the clouds' samples, where a
// reply's dst_port is the client's ephemeral port.
// Each answer is compared with its baseline's (they must be equal: the raw table is exact without FINAL).
//
//   pnpm -C packages/store bench:raw-reads     (env: BENCH_FLOWS (10,000,000), BENCH_RUNS (3))
import { randomBytes } from 'node:crypto';
import { createClient } from '@clickhouse/client';
import { endpoints } from '@sightline/testkit';
import { z } from 'zod';
import { clickhouseMigrations, featuresFor } from '../src/clickhouse-schema.js';
import { feedTable } from '../src/schema.js';
import { ClickHouseStore } from '../src/clickhouse-store.js';

const Env = z.object({
  BENCH_FLOWS: z.coerce.number().int().min(100_000).default(10_000_000),
  BENCH_RUNS: z.coerce.number().int().min(1).default(3),
});
const env = Env.parse(process.env);
const T0 = Date.UTC(2026, 10, 26);
const DAY = 86_400_000;
const RAW_TARGET_MS = 2000;
const ROLLUP_TARGET_MS = 50;

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2; };
const fmt = (n: number, d = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

async function timed<T>(f: () => Promise<T>): Promise<{ ms: number; answer: T }> {
  await f(); // warm-up: the first read of a part pays its marks and the page cache
  const xs: number[] = [];
  let answer: T | undefined;
  for (let i = 0; i < env.BENCH_RUNS; i++) {
    const t = performance.now();
    answer = await f();
    xs.push(performance.now() - t);
  }
  return { ms: median(xs), answer: answer! };
}

const url = endpoints().clickhouseUrl;
const database = `sightline_rawbench_${randomBytes(4).toString('hex')}`;
const store = ClickHouseStore.open({ url, database });
const c = createClient({ url, request_timeout: 900_000 });
const q = async <T>(sql: string): Promise<T[]> => (await c.query({ query: sql, format: 'JSONEachRow' })).json<T>();

try {
  const ft = await store.features();
  await store.migrate();
  // the before: migration 2's dst_port-keyed 1h table, fed by its original view from the raw rows
  // (migration 8 dropped the store's); the same inserts feed it and the store's rollups
  const m2 = clickhouseMigrations(database, featuresFor(ft.version, ft.lowCardinality)).find((m) => m.version === 2)!;
  const oldView = m2.statements.find((x) => x.includes('`flows_1h_mv`'));
  if (oldView === undefined) throw new Error('migration 2 has no flows_1h view');
  // store migration 9: the AWS rows are in flows_aws (flows is a view), written through flows_aws_feed on 18.16
  // (migration 10, whose views fill flows_aws and the rollups), so the old view reads the table the rows go into
  const awsInto = ft.dedupToken ? 'flows_aws' : feedTable('flows_aws');
  await c.command({ query: oldView.replace(`FROM \`${database}\`.\`flows\``, `FROM \`${database}\`.\`${awsInto}\``) });
  const sec0 = T0 / 1000;
  const t = performance.now();
  // 48 workloads x ~25 pods each, skewed toward low-numbered workloads; every flow attributed
  const wl = (h: string): string => `intDiv((intHash32(number + ${h}) % 48) * (intHash32(number + ${h} + 1) % 48), 48)`;
  for (let off = 0; off < env.BENCH_FLOWS; off += 1_000_000) {
    const n = Math.min(1_000_000, env.BENCH_FLOWS - off);
    await c.command({
      // odd numbers are replies: from the server's port to the client's ephemeral one
      query: `INSERT INTO ${database}.${awsInto} (tenant, batch_id, row_no, ts, cloud, format, account, src_port, dst_port, protocol, packets, bytes, start, action, direction,
          src_k8s_kind, src_k8s_cluster, src_k8s_namespace, src_k8s_workload_kind, src_k8s_workload, src_k8s_pod,
          dst_k8s_kind, dst_k8s_cluster, dst_k8s_namespace, dst_k8s_workload_kind, dst_k8s_workload, dst_k8s_pod)
        SELECT 'acme', concat('gen-', toString(intDiv(number, 8192))), number % 8192, toDateTime(${sec0} + intHash32(number) % 86400, 'UTC') AS t,
          'aws', 'aws-vpc-text', '123456789012',
          if(number % 2 = 1, ([443, 443, 443, 80, 53, 8080, 5432, 6379, 9092, 3306][1 + intHash32(number + 1) % 10] AS svc), (32768 + intHash32(number + 9) % 28000 AS eph)),
          if(number % 2 = 1, eph, svc), 6,
          toInt64(exp((intHash32(number + 2) % 1000) / 1000 * (intHash32(number + 3) % 1000) / 1000 * 12)) AS p, p * 800, toInt64(t) * 1000000,
          'accept', 'ingress',
          'pod', 'eks-prod', 'shop', 'Deployment', concat('svc-', toString(${wl('4')})) AS sw, concat(sw, '-7d9f8b6c5-', toString(intHash32(number + 8) % 25)),
          'pod', 'eks-prod', 'shop', 'Deployment', concat('svc-', toString(${wl('6')})) AS dw, concat(dw, '-7d9f8b6c5-', toString(intHash32(number + 10) % 25))
        FROM system.numbers LIMIT ${off}, ${n}`,
    });
  }
  const genS = (performance.now() - t) / 1000;
  const [parts] = await q<{ parts: string; rows: string }>(`SELECT count() AS parts, sum(rows) AS rows FROM system.parts WHERE database = '${database}' AND table = 'flows_aws' AND active`);
  console.log(`raw reads bench: ClickHouse ${ft.version}; ${fmt(env.BENCH_FLOWS)} flows over 24 h generated server-side in ${fmt(genS, 1)} s (views fed; ${parts?.parts} active parts); median of ${env.BENCH_RUNS} after a warm-up`);

  const range = { from: T0, to: T0 + DAY };
  const where = `tenant = 'acme' AND ts >= toDateTime(${sec0}, 'UTC') AND ts < toDateTime(${sec0 + 86_400}, 'UTC')`;
  const [pod] = await q<{ p: string }>(`SELECT dst_k8s_pod AS p FROM ${database}.flows WHERE ${where} AND dst_k8s_pod != '' LIMIT 1`);
  const onePod = pod!.p;

  const byPod = await timed(async () => (await store.topN('acme', { ...range, metric: 'bytes', dimensions: ['dst_k8s_pod'], n: 10, use: 'raw' })).rows.map((r) => [String(r.key[0]), r.value]));
  const byPodFinal = await timed(async () =>
    (await q<{ d0: string; v: string }>(`SELECT dst_k8s_pod AS d0, sum(ifNull(bytes, 0)) AS v FROM ${database}.flows_aws FINAL WHERE ${where} GROUP BY d0 ORDER BY v DESC, d0 LIMIT 10`)).map((r) => [r.d0, Number(r.v)]),
  );
  const series = await timed(async () =>
    (await store.timeSeries('acme', { ...range, stepSeconds: 3600, metric: 'bytes', filters: [{ field: 'dst_k8s_pod', values: [onePod] }], use: 'auto' })).points.map((p) => [p.t, p.value]),
  );
  const seriesFinal = await timed(async () =>
    (await q<{ t: string; v: string }>(`SELECT intDiv(toUInt32(ts), 3600) * 3600 AS t, sum(ifNull(bytes, 0)) AS v FROM ${database}.flows_aws FINAL WHERE ${where} AND (dst_k8s_pod IN ('${onePod}')) GROUP BY t ORDER BY t`)).map((r) => [Number(r.t) * 1000, Number(r.v)]),
  );
  const top = { ...range, metric: 'bytes' as const, dimensions: ['dst_k8s_namespace', 'dst_k8s_workload'], n: 10 };
  const topRollup = await timed(async () => { const r = await store.topN('acme', { ...top, use: 'auto' }); return { source: r.source, rows: r.rows.map((x) => [x.key.join('/'), x.value]) }; });
  const topRaw = await timed(async () => (await store.topN('acme', { ...top, use: 'raw' })).rows.map((x) => [x.key.join('/'), x.value]));
  // the store's rollup SQL for this query, on the dst_port-keyed 1h table
  const topOld = await timed(async () =>
    (await q<{ d0: string; d1: string; v: string }>(
      `SELECT k_dst_k8s_namespace AS d0, k_dst_k8s_workload AS d1, sum(bytes) AS v FROM ${database}.flows_1h WHERE ${where.replace(/\bts\b/g, 'bucket')}
        GROUP BY d0, d1 ORDER BY v DESC, d0 = '', d0, d1 = '', d1 LIMIT 10`,
    )).map((r) => [`${r.d0}/${r.d1}`, Number(r.v)]),
  );
  const keys = async (table: string, port: string): Promise<number> =>
    Number((await q<{ n: string }>(`SELECT uniqExact(tenant, bucket, k_src_k8s_cluster, k_src_k8s_namespace, k_src_k8s_workload_kind, k_src_k8s_workload, k_dst_k8s_cluster, k_dst_k8s_namespace, k_dst_k8s_workload_kind, k_dst_k8s_workload, ${port}, k_protocol, k_action, k_direction) AS n FROM ${database}.${table}`))[0]!.n);
  const [oldKeys, newKeys] = [await keys('flows_1h', 'k_dst_port'), await keys('rollup_1h', 'k_service_port')];

  const same = (what: string, a: unknown, b: unknown): void => {
    if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`${what}: answers differ:\n${JSON.stringify(a)}\n${JSON.stringify(b)}`);
  };
  same('top-10 pods, raw vs FINAL', byPod.answer, byPodFinal.answer);
  same("one pod's hourly bytes, raw vs FINAL", series.answer, seriesFinal.answer);
  same('top-10 workloads, rollup vs raw', topRollup.answer.rows, topRaw.answer);
  same('top-10 workloads, dst_port-keyed 1h table vs raw', topOld.answer, topRaw.answer);
  if (topRollup.answer.source !== '1h') throw new Error(`top-10 workloads answered from ${topRollup.answer.source}, 1h expected`);
  if (series.answer.length !== 24) throw new Error(`one pod's series has ${series.answer.length} hours, 24 expected`);

  const line = (what: string, ms: number, base: number, baseWhat: string, target: number): void =>
    console.log(`  ${what}: ${fmt(ms, 1)} ms; ${baseWhat} ${fmt(base, 1)} ms; ratio ${fmt(base / ms, 1)}x faster; target ${fmt(target)} ms ${ms <= target ? '(met)' : '(not met)'}`);
  line('top-10 destination pods by bytes, raw table, no FINAL', byPod.ms, byPodFinal.ms, 'with FINAL (before)', RAW_TARGET_MS);
  line(`one pod's hourly bytes, raw table, no FINAL`, series.ms, seriesFinal.ms, 'with FINAL (before)', RAW_TARGET_MS);
  line(`top-10 destination workloads from the ${topRollup.answer.source} rollup`, topRollup.ms, topRaw.ms, 'raw table, no FINAL', ROLLUP_TARGET_MS);
  line('top-10 destination workloads from the 1h rollup keyed by service port', topRollup.ms, topOld.ms, 'the same from a 1h rollup keyed by dst_port (before migration 8)', ROLLUP_TARGET_MS);
  console.log(`  1h rollup keys: ${fmt(newKeys)} by service port, ${fmt(oldKeys)} by dst_port (${fmt(oldKeys / newKeys, 1)}x)`);
  console.log('  answers: equal to their baselines');
} finally {
  await c.command({ query: `DROP DATABASE IF EXISTS ${database}` }).catch((err: unknown) => process.stderr.write(`clean-up: ${String(err)}\n`));
  await c.close();
  await store.close();
}
