import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import { pino } from 'pino';
import { ensureTopics, topicSpecs } from '@sightline/bus';
import { COLLECT_DEFAULTS, processUnit } from '@sightline/collector';
import { Enricher, parseConfig } from '@sightline/enricher';
import { partitionFor } from '@sightline/kube-model';
import { cloudFlowTable, DuckDBStore, openStore, RAW_FLOW_TABLES, WIDE_FLOW_TABLE } from '@sightline/store';
import { endpoints } from '@sightline/testkit';
import { clusterRecords, declaredScopes } from './clusters.js';
import { loadEmbeddedConfig } from './config.js';
import { embeddedSource, runPipeline, type PipelineResult } from './pipeline.js';

// The proof of issue 12 point 1: the repository's samples (AWS, GCP and Azure) through the embedded
// mode (the stages joined in-process) and through the distributed mode (the collector's stage
// publishing to the real local Kafka, the Enricher service consuming it, both into fresh DuckDB
// files) store the same rows, every column of every table. The only columns left out are the times
// of the writes: the batches ledger's `written_at` and schema_migrations' `applied_at`.

const SAMPLES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../samples');
const skipInfra = process.env.SIGHTLINE_SKIP_INFRA === '1' ? 'SIGHTLINE_SKIP_INFRA=1' : false;
const FLOWS_PARTITIONS = 4;
const META_PARTITIONS = 2;
const quiet = pino({ level: process.env.SIGHTLINE_LOG_LEVEL ?? 'warn' }, pino.destination(2));

/** Polls `cond` until true; fails after `timeoutMs` naming what it waited for and the last state seen. */
async function until<T>(what: string, read: () => Promise<T>, cond: (v: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (cond(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Per table, the columns that hold when the row was written, not what was collected. */
const WRITE_TIMES: Record<string, string[]> = { batches: ['written_at'], schema_migrations: ['applied_at'] };

const count = (store: DuckDBStore, sql: string) => store.withConnection(async (c) => Number((await c.runAndReadAll(sql)).getRowsJS()[0]![0]));

test('one pipeline, two transports: the samples of the three clouds store identical rows embedded and through Kafka', { skip: skipInfra, timeout: 300_000 }, async () => {
  const cfg = loadEmbeddedConfig(path.join(SAMPLES, 'sightline.json'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sightline-two-transports-'));
  const embeddedDb = path.join(dir, 'embedded.duckdb');
  const distributedDb = path.join(dir, 'distributed.duckdb');
  const prefix = `sl-two-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}.`;
  const kafka = new kafkajs.Kafka({ clientId: 'sightline-two-transports-test', brokers: endpoints().kafkaBrokers, logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  let enricher: Enricher | undefined;
  const producer = kafka.producer({ idempotent: true, allowAutoTopicCreation: false, createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  try {
    // embedded: in-process
    const e = await openStore({ engine: 'duckdb', path: embeddedDb });
    let embedded: PipelineResult;
    try {
      await e.migrate();
      embedded = await runPipeline(cfg, e);
      await (e as DuckDBStore).withConnection((c) => c.run('CHECKPOINT'));
    } finally {
      await e.close();
    }
    assert.equal(embedded.failed, 0);
    assert.ok(embedded.flows > 10_000 && embedded.attributed > embedded.flows * 0.9, `${embedded.attributed} of ${embedded.flows} attributed`);

    // distributed: the same cluster records on the kube-meta topic (as the ingest API writes them),
    // read by the enricher at its start, then the collector's stage over the same objects
    const specs = topicSpecs({ prefix, flows: { partitions: FLOWS_PARTITIONS }, kubeMeta: { partitions: META_PARTITIONS } });
    await admin.connect();
    await ensureTopics(admin, [specs.flows, specs.kubeMeta, specs.deadLetter]);
    await producer.connect();
    const records = clusterRecords(cfg);
    for (let i = 0; i < records.length; i += 200) {
      await producer.send({
        topic: specs.kubeMeta.name,
        acks: -1,
        messages: records.slice(i, i + 200).map((r) => {
          const [tenant, cluster] = r.key.split('/') as [string, string];
          return { key: r.key, value: r.value === null ? null : JSON.stringify(r.value), partition: partitionFor(tenant, cluster, META_PARTITIONS) };
        }),
      });
    }
    const group = `${prefix}enricher`;
    enricher = await Enricher.start(
      parseConfig(
        {
          kafka: { brokers: endpoints().kafkaBrokers, topicPrefix: prefix, flowsPartitions: FLOWS_PARTITIONS, kubeMetaPartitions: META_PARTITIONS, group, sessionTimeoutMs: 10_000 },
          store: { engine: 'duckdb', path: distributedDb },
          enricher: { clusters: declaredScopes(cfg) },
          // the samples are from March 2026: the default retention would delete them a minute after the start
          retention: { enabled: false },
          http: { port: 0 },
        },
        'two-transports test',
      ),
      quiet,
    );
    const source = embeddedSource(cfg);
    let published = 0;
    let objects = 0;
    for await (const ref of source.list()) {
      const r = await processUnit(ref, source.reader, {
        producer, flowsTopic: specs.flows.name, deadLetterTopic: specs.deadLetter.name, inflightBatches: 8, ...COLLECT_DEFAULTS,
      });
      assert.equal(r.badObject, undefined, ref.key);
      published += r.records;
      objects++;
    }
    assert.equal(objects, embedded.objects);
    assert.equal(published, embedded.flows);
    const d = enricher.store as DuckDBStore;
    await until(
      'the enricher to store every published flow and batch',
      async () => ({ flows: await count(d, 'SELECT count(*) FROM flows'), batches: await count(d, 'SELECT count(*) FROM batches') }),
      (n) => n.flows >= published && n.batches >= embedded.batches,
      120_000,
    );
    await d.withConnection((c) => c.run('CHECKPOINT'));
    await enricher.stop();
    enricher = undefined;
    // copies to compare in one database: the files themselves stay open in this process's DuckDB instance cache
    const copy = (file: string, as: string) => {
      for (const ext of ['', '.wal']) if (fs.existsSync(file + ext)) fs.copyFileSync(file + ext, path.join(dir, as + ext));
      return path.join(dir, as);
    };
    const embCopy = copy(embeddedDb, 'emb.duckdb');
    const distCopy = copy(distributedDb, 'dist.duckdb');

    // both files side by side: EXCEPT ALL both ways over every column of every table but the write times
    const both = await DuckDBStore.open({ path: path.join(dir, 'compare.duckdb') });
    try {
      await both.withConnection(async (c) => {
        await c.run(`ATTACH '${embCopy}' AS emb (READ_ONLY)`);
        await c.run(`ATTACH '${distCopy}' AS dist (READ_ONLY)`);
        const tables = (await c.runAndReadAll(`SELECT table_name FROM duckdb_tables() WHERE database_name = 'emb' ORDER BY table_name`)).getRowsJS().map((r) => String(r[0]));
        const distTables = (await c.runAndReadAll(`SELECT table_name FROM duckdb_tables() WHERE database_name = 'dist' ORDER BY table_name`)).getRowsJS().map((r) => String(r[0]));
        assert.deepEqual(tables, distTables, 'the same tables');
        // the raw rows are in a table per cloud (the view flows reads them; views are not in duckdb_tables())
        for (const t of [...RAW_FLOW_TABLES, 'batches']) assert.ok(tables.includes(t), `${t} in ${tables.join(', ')}`);
        const stored: Record<string, number> = {};
        for (const t of tables) {
          const cols = async (db: string) =>
            (await c.runAndReadAll(`SELECT column_name FROM duckdb_columns() WHERE database_name = '${db}' AND table_name = '${t}' ORDER BY column_index`)).getRowsJS().map((r) => String(r[0]));
          const columns = await cols('emb');
          assert.deepEqual(columns, await cols('dist'), `${t}: the same columns`);
          // the times a row was written (the ledger's, a migration's) are the only columns left out
          const compared = columns.filter((x) => !(WRITE_TIMES[t] ?? []).includes(x)).map((x) => `"${x}"`);
          // a rollup holds one partial row per key and store write (summed when read), so its rows
          // depend on how batches were grouped into writes: it is compared summed per key
          const measures = new Set(['flows', 'packets', 'bytes']);
          const rollup = !RAW_FLOW_TABLES.includes(t) && columns.includes('flows');
          const keys = compared.filter((x) => !measures.has(x.slice(1, -1)));
          const select = (db: string) =>
            rollup
              ? `SELECT ${keys.join(', ')}, ${compared.filter((x) => measures.has(x.slice(1, -1))).map((x) => `sum(${x}) AS ${x}`).join(', ')} FROM ${db}.main."${t}" GROUP BY ALL`
              : `SELECT ${compared.join(', ')} FROM ${db}.main."${t}"`;
          const rows = async (db: string) => Number((await c.runAndReadAll(`SELECT count(*) FROM (${select(db)})`)).getRowsJS()[0]![0]);
          const n = await rows('emb');
          assert.equal(await rows('dist'), n, `${t}: the same number of rows`);
          for (const [a, b] of [['emb', 'dist'], ['dist', 'emb']] as const) {
            const diff = (await c.runAndReadAll(`SELECT count(*) FROM (${select(a)} EXCEPT ALL ${select(b)})`)).getRowsJS()[0]![0];
            assert.equal(Number(diff), 0, `${t}: rows of ${a} not in ${b}`);
          }
          if (RAW_FLOW_TABLES.includes(t)) stored[t] = n;
          if (t === 'batches') assert.equal(n, embedded.batches);
        }
        // every flow in its cloud's table: the samples have rows of each cloud and none in the wide table
        assert.equal(Object.values(stored).reduce((a, x) => a + x, 0), embedded.flows, `raw rows per table ${JSON.stringify(stored)}`);
        for (const cloud of ['aws', 'gcp', 'azure'] as const) assert.ok(stored[cloudFlowTable(cloud)]! > 0, `${cloudFlowTable(cloud)}: ${JSON.stringify(stored)}`);
        assert.equal(stored[WIDE_FLOW_TABLE], 0, 'no row in the wide table');
      });
    } finally {
      await both.close();
    }
  } finally {
    await enricher?.stop().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    try {
      const mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
      if (mine.length > 0) await admin.deleteTopics({ topics: mine });
    } catch (err) {
      process.stderr.write(`two-transports test clean-up: deleting topics ${prefix}*: ${String(err)}\n`);
    }
    await admin.disconnect().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
