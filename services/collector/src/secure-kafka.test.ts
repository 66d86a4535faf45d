// Flows through the collector and the enricher over the local broker's secured listeners: SASL_SSL
// with SCRAM-SHA-512, and SSL with client certificates (mTLS); and the clear, fast errors of a wrong
// password, an unknown CA and a wrong mechanism, from both services. The collector runs in this
// process (its logs and /metrics captured), the enricher as the built process production runs
// (services/enricher/dist/main.js: `pnpm build` first, as scripts/test.sh does), writing to ClickHouse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { kafkaClient, type KafkaConfigInput } from '@sightline/bus';
import { endpoints, spawnService, startedPort, type ServiceProcess } from '@sightline/testkit';
import { Collector } from './collector.js';
import { createLogger } from './log.js';
import { DUMMY_SECRET, adminS3, awsFlowLog, awsKey, awsSource, createBucket, putObject, skipInfra, uniqueName, writeConfig } from './testdata/harness.js';

const ep = endpoints();
const a = ep.kafkaAuth;
const ENRICHER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../enricher/dist/main.js');
const skip = skipInfra || (!existsSync(ENRICHER) ? `${ENRICHER} is not built (pnpm build)` : false);

type Security = Pick<KafkaConfigInput, 'brokers' | 'ssl' | 'sasl'>;
const scram = (): Security => ({ brokers: ep.kafkaSaslBrokers, ssl: { caFile: a.caFile }, sasl: { mechanism: 'scram-sha-512', username: a.scramUser, passwordFile: a.scramPasswordFile } });
const mtls = (): Security => ({ brokers: ep.kafkaMtlsBrokers, ssl: { caFile: a.caFile, certFile: a.certFile, keyFile: a.keyFile } });

/** What must never be printed: the SCRAM and PLAIN passwords, the client key's body, the S3 secret. */
function secrets(): string[] {
  const key = readFileSync(a.keyFile, 'utf8').split('\n').filter((l) => l && !l.startsWith('-----'));
  return [readFileSync(a.scramPasswordFile, 'utf8').trim(), readFileSync(a.plainPasswordFile, 'utf8').trim(), key[1]!, DUMMY_SECRET];
}

function assertNoSecret(what: string, text: string): void {
  for (const s of secrets()) assert.ok(!text.includes(s), `${what} holds a secret (${s.slice(0, 4)}...)`);
}

function logSink() {
  const lines: string[] = [];
  const dest = new Writable({ write(chunk: Buffer, _enc, cb) { lines.push(chunk.toString()); cb(); } });
  return { lines, log: createLogger({ destination: dest, level: 'debug' }) };
}

async function ch(sql: string): Promise<string> {
  const r = await fetch(ep.clickhouseUrl, { method: 'POST', body: sql });
  const text = await r.text();
  if (!r.ok) throw new Error(`clickhouse: ${sql.slice(0, 80)}: HTTP ${r.status} ${text.slice(0, 300)}`);
  return text.trim();
}

async function writeEnricherConfig(prefix: string, security: Security, database: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sl-secure-enricher-'));
  const file = path.join(dir, 'enricher.json');
  await writeFile(file, JSON.stringify({
    kafka: { ...security, topicPrefix: prefix, flowsPartitions: 3, kubeMetaPartitions: 1, group: `${prefix}enrichers`, sessionTimeoutMs: 10_000 },
    store: { engine: 'clickhouse', url: ep.clickhouseUrl, database, username: 'default', password: '' },
    // no kube-meta in this test: flows are stored without waiting for any
    enricher: { metaWaitMs: 0 },
    http: { port: 0 },
  }));
  return file;
}

function enricher(config: string): ServiceProcess {
  return spawnService({ name: 'enricher', argv: ['--enable-source-maps', ENRICHER, '--config', config], env: { SIGHTLINE_LOG_LEVEL: 'debug' } });
}

async function stop(p: ServiceProcess): Promise<void> {
  if (p.child.exitCode === null) p.child.kill('SIGTERM');
  const t = setTimeout(() => p.child.kill('SIGKILL'), 20_000);
  await p.exited;
  clearTimeout(t);
}

async function cleanUp(prefix: string, database: string): Promise<void> {
  // reported, never in place of the test's own result
  await ch(`DROP DATABASE IF EXISTS ${database}`).catch((err: unknown) => process.stderr.write(`clean-up: ${String(err)}\n`));
  const admin = kafkaClient({ brokers: ep.kafkaBrokers }).admin();
  try {
    await admin.connect();
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (mine.length > 0) await admin.deleteTopics({ topics: mine });
  } catch (err) {
    process.stderr.write(`clean-up: topics ${prefix}*: ${String(err)}\n`);
  } finally {
    await admin.disconnect();
  }
}

for (const [name, security] of [['SASL_SSL with SCRAM-SHA-512', scram], ['SSL with client certificates (mTLS)', mtls]] as const) {
  test(`flows pass through the collector and the enricher over ${name}, and no secret reaches a log line or /metrics`, { skip, timeout: 240_000 }, async () => {
    const prefix = `${uniqueName('sec')}.`;
    const database = `secure_${Date.now().toString(36)}`;
    const s3 = adminS3();
    const bucket = uniqueName('secure');
    await createBucket(s3, bucket);
    await putObject(s3, bucket, awsKey('a'), awsFlowLog(3000, 11));
    await putObject(s3, bucket, awsKey('b'), awsFlowLog(1500, 12, 5));
    const expected = 4500;

    const e = enricher(await writeEnricherConfig(prefix, security(), database));
    try {
      const enricherPort = await startedPort(e, 'enricher');
      const { lines, log } = logSink();
      const c = await Collector.start({ configFile: await writeConfig({ prefix, kafka: { ...security() }, sources: [awsSource(bucket)] }), once: true, log });
      await c.done;
      const collectorMetrics = await (await fetch(`http://127.0.0.1:${c.port}/metrics`)).text();
      await c.stop();
      assert.equal(c.failures, 0);

      // every flow the collector published over the secured listener, stored by the enricher that read it over the same
      const deadline = Date.now() + 120_000;
      let stored = 0;
      while ((stored = Number(await ch(`SELECT count() FROM ${database}.flows`).catch(() => '0'))) < expected && Date.now() < deadline) {
        if (e.child.exitCode !== null) throw new Error(`enricher exited ${e.child.exitCode}:\n${e.lines.slice(-20).join('\n')}`);
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.equal(stored, expected, 'every flow once in ClickHouse');
      const enricherMetrics = await (await fetch(`http://127.0.0.1:${enricherPort}/metrics`)).text();

      assert.ok(lines.some((l) => l.includes('"kafka access"') || l.includes('check kafka access')), 'the collector checked its access first');
      assertNoSecret('the collector log', lines.join('\n'));
      assertNoSecret('the collector /metrics', collectorMetrics);
      assertNoSecret('the enricher /metrics', enricherMetrics);
      await stop(e);
      assertNoSecret('the enricher log', e.lines.join('\n'));
    } finally {
      await stop(e);
      await cleanUp(prefix, database);
    }
  });
}

// Each within seconds (kafkajs would retry a certificate error for about two minutes with the
// services' settings; 20 s is far above a local handshake and far below that), naming the broker.
const FAST_MS = 20_000;

test('the collector refuses to start, at once and naming the broker and the cause, on a wrong password, an unknown CA or a wrong mechanism', { skip: skipInfra, timeout: 120_000 }, async () => {
  const wrong = 'not-the-scram-password-7d2e';
  process.env.SL_TEST_WRONG_KAFKA_PASSWORD = wrong;
  try {
    const broker = ep.kafkaSaslBrokers[0]!;
    const cases: [string, Security, RegExp][] = [
      ['wrong password', { ...scram(), sasl: { mechanism: 'scram-sha-512', username: a.scramUser, passwordEnv: 'SL_TEST_WRONG_KAFKA_PASSWORD' } }, /SASL scram-sha-512 authentication failed as user sightline/],
      ['unknown CA', { ...scram(), ssl: { caFile: a.untrustedCaFile } }, /TLS: the broker's certificate does not verify against the CA in kafka\.ssl\.caFile/],
      ['wrong mechanism', { ...scram(), sasl: { mechanism: 'scram-sha-256', username: a.scramUser, passwordFile: a.scramPasswordFile } }, /does not offer SASL mechanism scram-sha-256/],
    ];
    for (const [what, security, cause] of cases) {
      const { lines, log } = logSink();
      const config = await writeConfig({ prefix: `${uniqueName('bad')}.`, kafka: { ...security }, sources: [awsSource('never-read')] });
      const t0 = Date.now();
      const err = await Collector.start({ configFile: config, once: true, log }).then(() => undefined, (e: unknown) => e as Error);
      const ms = Date.now() - t0;
      assert.ok(err, `${what}: start-up fails`);
      const text = `${err.message} ${String((err as { cause?: Error }).cause?.message)}`;
      assert.match(text, /check kafka access/, `${what}: names the step`);
      assert.ok(text.includes(`broker ${broker}`), `${what}: names the broker: ${text}`);
      assert.match(text, cause, what);
      assert.ok(ms < FAST_MS, `${what}: refused after ${ms} ms`);
      assertNoSecret(`${what}: the error`, text);
      assert.ok(!text.includes(wrong) && !lines.join('\n').includes(wrong), `${what}: the wrong password is not printed either`);
      assertNoSecret(`${what}: the log`, lines.join('\n'));
    }
  } finally {
    delete process.env.SL_TEST_WRONG_KAFKA_PASSWORD;
  }
});

test('the enricher process exits at once with the broker and the cause on an unknown CA and on a wrong mechanism', { skip, timeout: 120_000 }, async () => {
  const broker = ep.kafkaSaslBrokers[0]!;
  for (const [security, cause] of [
    [{ ...scram(), ssl: { caFile: a.untrustedCaFile } }, /TLS: the broker's certificate does not verify/],
    [{ ...scram(), sasl: { mechanism: 'plain', username: a.scramUser, passwordFile: a.scramPasswordFile } }, /SASL plain authentication failed as user sightline/],
    [{ brokers: ep.kafkaMtlsBrokers, ssl: { caFile: a.caFile } }, /TLS: the broker refused the handshake/],
  ] as [Security, RegExp][]) {
    const t0 = Date.now();
    const e = enricher(await writeEnricherConfig(`${uniqueName('bad')}.`, security, 'never_created'));
    const code = await e.exited;
    assert.equal(code, 1, e.lines.slice(-5).join('\n'));
    assert.ok(Date.now() - t0 < FAST_MS, `exited after ${Date.now() - t0} ms`);
    const line = e.lines.find((l) => l.includes('enricher failed to start')) ?? '';
    assert.match(line, cause);
    assert.ok(line.includes(`broker ${security.brokers[0]}`) || line.includes(`broker ${broker}`), line);
    assertNoSecret('the enricher log', e.lines.join('\n'));
  }
});
