// Helpers shared by the tests that run the agent against the real API server, the ingest API and Kafka.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import kafkajs from 'kafkajs';
import { CoreV1Api, KubeConfig, PatchStrategy, Watch, setHeaderOptions } from '@kubernetes/client-node';
import { TopicReader, describeOffsets, endpoints } from '@sightline/testkit';
import { KubeMetaRecordSchema, type KubeMetaRecord } from '@sightline/kube-model';
import { ApiConfigSchema, ApiMetrics, createLogger as createApiLogger, hashToken, startApi, type ApiService } from '@sightline/api';
import { makeTestTls } from '@sightline/api/testing';
import { AgentConfigSchema } from '../config.js';

export const skip = process.env.SIGHTLINE_SKIP_INFRA === '1' ? 'SIGHTLINE_SKIP_INFRA=1' : false;
// Without a controller-manager a deleted namespace never finishes terminating: one shared
// namespace, objects named per run, each run deleting its own.
export const NS = 'sightline-kubetags-test';

export const isCode = (err: unknown, code: number) => typeof err === 'object' && err !== null && 'code' in err && (err as { code: unknown }).code === code;
export async function ignore409(p: Promise<unknown>): Promise<void> {
  try { await p; } catch (err) { if (!isCode(err, 409)) throw err; }
}
export const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/**
 * A run's names, the admin's credentials on the local API server, the shared namespace (with the
 * `default` service account the apiserver has no controller to make), and `makePod`, which
 * creates a pod of the run and queues its deletion; `cleanups` run after the test, last first.
 */
export async function testCluster(t: { after(fn: () => Promise<void>): void }) {
  const run = randomBytes(4).toString('hex');
  const cluster = `kt-${run}`;
  const admin = new KubeConfig();
  admin.loadFromFile(endpoints().kubeconfig);
  const core = admin.makeApiClient(CoreV1Api);
  const cleanups: Cleanups = [];
  t.after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });
  await ignore409(core.createNamespace({ body: { metadata: { name: NS } } }));
  await ignore409(core.createNamespacedServiceAccount({ namespace: NS, body: { metadata: { name: 'default' } } }));
  const makePod = async (name: string) => {
    const p = await core.createNamespacedPod({ namespace: NS, body: {
      metadata: { name, labels: { app: `kt-${run}` } },
      spec: { containers: [{ name: 'app', image: 'registry.invalid/app:1' }] },
    } });
    cleanups.push(() => core.deleteNamespacedPod({ name, namespace: NS, gracePeriodSeconds: 0 }));
    return p.metadata!.uid!;
  };
  return { run, cluster, admin, core, cleanups, makePod };
}

export type Cleanups = Array<() => Promise<unknown>>;

/** Polls until `check` returns a value; fails with `what` and a hint of what was seen. */
/** What a failed wait reports; `settle`, when there, first catches up (reads a topic to its end offsets) and reports that. */
export type Seen = (() => string) & { settle?: () => Promise<string> };

export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, seen: Seen, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) {
      // a backend's topic is first read up to its end offsets, then checked once more
      const s = seen.settle ? await seen.settle() : seen();
      const late = await check();
      if (late !== undefined && late !== false) return late;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; seen: ${s}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The first answer of a cluster-wide pod watch: an event (type, and for ERROR the Status), a failed request, or nothing within 5 s. */
export interface WatchAnswer {
  type: string;
  code?: number;
  message?: string;
}

/**
 * Opens a cluster-wide pod watch from `rv` and reports its first answer. A watch from an RV the
 * watch cache covers replays the events since (or waits quietly when there were none); one from an
 * RV older than the cache is refused with 410 Gone "too old resource version".
 */
export async function firstWatchAnswer(kc: KubeConfig, rv: string): Promise<WatchAnswer> {
  return new Promise<WatchAnswer>((resolve, reject) => {
    let settled = false;
    let ctl: AbortController | undefined;
    const finish = (a: WatchAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ctl?.abort();
      resolve(a);
    };
    const timer = setTimeout(() => finish({ type: 'none' }), 5_000);
    new Watch(kc).watch('/api/v1/pods', { resourceVersion: rv },
      (type: string, obj: unknown) => {
        const st = obj as { code?: unknown; message?: unknown } | null;
        finish(type === 'ERROR'
          ? { type, ...(typeof st?.code === 'number' ? { code: st.code } : {}), ...(typeof st?.message === 'string' ? { message: st.message } : {}) }
          : { type });
      },
      (err: unknown) => {
        const e = err as { statusCode?: unknown; message?: unknown } | null;
        finish({ type: 'failed', ...(typeof e?.statusCode === 'number' ? { code: e.statusCode } : {}), message: typeof e?.message === 'string' ? e.message : String(err) });
      },
    ).then((c) => { ctl = c; if (settled) c.abort(); }, (err: unknown) => { clearTimeout(timer); reject(err); });
  });
}

export const expired = (a: WatchAnswer) => a.code === 410;

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export async function metricValue(m: { get(): Promise<{ values: Array<{ value: number; labels: Record<string, string | number> }> }> }, labels: Record<string, string>): Promise<number> {
  const v = (await m.get()).values.find((x) => Object.entries(labels).every(([k, want]) => x.labels[k] === want));
  return v?.value ?? 0;
}

export type Upsert = Extract<KubeMetaRecord, { type: 'upsert' }>;
export type Snapshot = Extract<KubeMetaRecord, { type: 'snapshot' }>;

/** The ingest API and a reader of the Kafka topic it publishes to. */
export interface Backend {
  api: ApiService;
  records: Array<{ key: string; value: KubeMetaRecord | null }>;
  /** what was read so far; its `settle` reads the topic up to its end offsets first (for a failed wait) */
  seen: Seen;
  marker: (epochAbove: number) => Promise<Snapshot>;
  upsertOf: (uid: string, epoch: number) => Upsert[];
}

/**
 * What the agent needs to reach the backend (port, token file, CA) before the backend runs, so a
 * test can start the agent first; `start` then runs the API and reads its topic from the beginning.
 */
export function prepareBackend(run: string, cluster: string, cleanups: Cleanups, agentLogs: () => string) {
  const tls = makeTestTls();
  cleanups.push(async () => tls.remove());
  const dir = mkdtempSync(path.join(tmpdir(), 'kubetags-'));
  const token = randomBytes(24).toString('base64url');
  writeFileSync(path.join(dir, 'token'), token + '\n');
  writeFileSync(path.join(dir, 'tokens.json'), JSON.stringify({ clusters: [{ tokenSha256: hashToken(token), tenant: 'acme', cluster }] }));
  const prefix = `test-kubetags-${run}.`;
  return {
    token,
    tokenFile: path.join(dir, 'token'),
    caFile: tls.caFile,
    async start(port: number): Promise<Backend> {
      const api: ApiService = await startApi(
        ApiConfigSchema.parse({ listen: { port }, metrics: { port: 0 }, tls: { certFile: tls.certFile, keyFile: tls.keyFile }, tokensFile: path.join(dir, 'tokens.json'), kafka: { brokers: endpoints().kafkaBrokers, topicPrefix: prefix } }),
        { log: createApiLogger({ level: 'silent' }), metrics: new ApiMetrics(false) },
      );
      cleanups.push(() => api.stop());
      const kafka = new kafkajs.Kafka({ clientId: `test-${run}`, brokers: endpoints().kafkaBrokers, logLevel: kafkajs.logLevel.NOTHING });
      const kadmin = kafka.admin();
      await kadmin.connect();
      cleanups.push(async () => { await kadmin.deleteTopics({ topics: [api.publisher.topic] }).catch(() => undefined); await kadmin.disconnect(); });
      const records: Backend['records'] = [];
      const reader = await TopicReader.open(api.publisher.topic, kafka, (m) => {
        records.push({ key: m.key?.toString() ?? '', value: m.value ? KubeMetaRecordSchema.parse(JSON.parse(m.value.toString())) : null });
      });
      cleanups.push(() => reader.close());
      const seen: Seen = () => `${records.length} records, last: ${records.slice(-4).map((r) => `${r.key}=${r.value?.type ?? 'tombstone'}`).join(', ')}; agent log: ${agentLogs().slice(-600)}`;
      // On a timeout the topic is first read up to its end offsets: a record still missing then was
      // never published (not merely not read yet), and a read that cannot get there says it is slow.
      seen.settle = async () => {
        try {
          const ends = await reader.ends();
          await reader.reach(ends, Date.now() + 30_000);
          return `topic read to its end offsets (${describeOffsets(reader.reached, ends)}): ${seen()}`;
        } catch (err) {
          return `${err instanceof Error ? err.message : String(err)}; ${seen()}`;
        }
      };
      const marker = (epochAbove: number) => waitFor(`a snapshot marker with epoch > ${epochAbove}`, () => {
        const m = records.find((r) => r.value?.type === 'snapshot' && r.value.epoch > epochAbove);
        return m?.value?.type === 'snapshot' ? m.value : undefined;
      }, seen);
      const upsertOf = (uid: string, epoch: number) => records.filter((r) => r.value?.type === 'upsert' && r.value.object.uid === uid && r.value.epoch === epoch).map((r) => r.value as Upsert);
      return { api, records, seen, marker, upsertOf };
    },
  };
}

/** The agent's config in these tests: the backend on 127.0.0.1:`port`, small batches, fast retries. */
export function testAgentConfig(cluster: string, port: number, backend: { tokenFile: string; caFile: string }) {
  return AgentConfigSchema.parse({
    cluster,
    backend: { url: `https://127.0.0.1:${port}`, tenant: 'acme', tokenFile: backend.tokenFile, caFile: backend.caFile, timeoutMs: 5_000 },
    labelAllowList: ['app'],
    batch: { maxObjects: 50, flushMs: 100 },
    retry: { initialMs: 100, maxMs: 1_000 },
  });
}
