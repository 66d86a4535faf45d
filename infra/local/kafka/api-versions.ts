// Which protocol version kafkajs uses for each Kafka API against a broker: the broker's ApiVersions
// answer (min-max per API), the versions kafkajs 2.2.4 implements, and the one it sends. kafkajs
// takes min(its highest, the broker's max) and never looks at the broker's min, so an API whose
// pick falls below the broker's min (Kafka 4 removed old versions, KIP-896) would fail at run time:
// that is the `ok` column.
//   node --import tsx infra/local/kafka/api-versions.ts [HOST:PORT]     (default: testkit's broker)
import net from 'node:net';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export interface ApiVersion { key: number; name: string; brokerMin: number; brokerMax: number; kafkajs: number[]; picked: number | null; ok: boolean }

const require = createRequire(import.meta.url);
// kafkajs' own request table (not exported: the package has no exports map, the path is stable in 2.x)
const { requests } = require('kafkajs/src/protocol/requests') as { requests: Record<string, { versions: string[] }> };
const apiKeys = require('kafkajs/src/protocol/requests/apiKeys') as Record<string, number>;

/** ApiVersions v0 over a plain socket: every version still supports v0 of this request. */
function brokerVersions(host: string, port: number): Promise<Map<number, [number, number]>> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port });
    const client = Buffer.from('sightline-api-versions');
    const body = Buffer.alloc(2 + 2 + 4 + 2 + client.length);
    body.writeInt16BE(18, 0); // ApiVersions
    body.writeInt16BE(0, 2);
    body.writeInt32BE(1, 4); // correlation id
    body.writeInt16BE(client.length, 8);
    client.copy(body, 10);
    const size = Buffer.alloc(4);
    size.writeInt32BE(body.length);
    let buf = Buffer.alloc(0);
    s.setTimeout(5000, () => { s.destroy(); reject(new Error(`ApiVersions: no answer from ${host}:${port} in 5 s`)); });
    s.on('error', reject);
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 4 || buf.length < 4 + buf.readInt32BE(0)) return;
      s.end();
      const error = buf.readInt16BE(8);
      if (error !== 0) { reject(new Error(`ApiVersions: error code ${error}`)); return; }
      const n = buf.readInt32BE(10);
      const out = new Map<number, [number, number]>();
      for (let i = 0, o = 14; i < n; i++, o += 6) out.set(buf.readInt16BE(o), [buf.readInt16BE(o + 2), buf.readInt16BE(o + 4)]);
      resolve(out);
    });
    s.write(Buffer.concat([size, body]));
  });
}

/** Every API kafkajs implements that the broker offers, with what kafkajs will send. */
export async function apiVersions(broker: string): Promise<ApiVersion[]> {
  const [host, port] = [broker.slice(0, broker.lastIndexOf(':')), Number(broker.slice(broker.lastIndexOf(':') + 1))];
  const b = await brokerVersions(host, port);
  const out: ApiVersion[] = [];
  for (const [name, key] of Object.entries(apiKeys)) {
    const impl = (requests[name]?.versions ?? []).map(Number);
    const range = b.get(key);
    if (impl.length === 0 || !range) continue;
    const picked = Math.min(Math.max(...impl), range[1]);
    out.push({ key, name, brokerMin: range[0], brokerMax: range[1], kafkajs: impl, picked, ok: picked >= range[0] && impl.includes(picked) });
  }
  return out.sort((x, y) => x.key - y.key);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { endpoints } = await import('@sightline/testkit');
  const broker = process.argv[2] ?? endpoints().kafkaBrokers[0]!;
  const rows = await apiVersions(broker);
  console.log(`broker ${broker}: ${rows.length} APIs kafkajs implements`);
  console.log('| API (key) | broker min-max | kafkajs implements | kafkajs sends | ok |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const r of rows) console.log(`| ${r.name} (${r.key}) | ${r.brokerMin}-${r.brokerMax} | ${r.kafkajs[0]}-${r.kafkajs.at(-1)} | ${r.picked} | ${r.ok ? 'yes' : 'NO'} |`);
}
