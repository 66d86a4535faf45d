import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { z } from 'zod';
import {
  WATCHED_KINDS,
  collectionPath,
  fromApiObject,
  type Envelope,
  type KubeNode,
  type KubeObject,
  type WatchedKind,
} from '@sightline/kube-model';
import type { AgentConfig } from './config.js';
import { Lister } from './lister.js';
import type { Logger } from './log.js';
import type { AgentMetrics } from './metrics.js';
import { summarizePlacement } from './placement.js';
import { Sender } from './sender.js';
import type { Transport } from './transport.js';

interface Entry {
  object: KubeObject;
  /** the reduced object as JSON: a MODIFIED event that changes nothing the model keeps is not sent */
  json: string;
  /** when the agent saw this state first */
  at: string;
}

const EventMeta = z.looseObject({ metadata: z.looseObject({ resourceVersion: z.string().optional(), uid: z.string().optional(), name: z.string().optional(), namespace: z.string().optional() }).optional() });
const StatusObject = z.looseObject({ kind: z.literal('Status'), code: z.number().optional(), reason: z.string().optional(), message: z.string().optional() });

export interface AgentDeps {
  kc: KubeConfig;
  transport: Transport;
  log: Logger;
  metrics: AgentMetrics;
}

/**
 * kubetags: lists every watched kind (paged), sends a full snapshot, then watches each kind
 * from its list's resourceVersion and sends the changes. A watch that ends cleanly (the API
 * server's timeout) resumes from the last resourceVersion; any gap (410 Gone for an expired
 * resourceVersion, a lost connection, a watch error, a delta buffer overflow) relists and sends
 * a fresh snapshot, because events may have been missed. A request the backend refuses as stale
 * or out of order (`sent-at`, `epoch`) is answered with a snapshot of the current store.
 */
export class Agent {
  private readonly store = new Map<string, Entry>();
  private readonly rv = new Map<WatchedKind, string>();
  private readonly controllers = new Map<WatchedKind, AbortController>();
  /** kinds whose next watch end is a test's deliberate clean restart */
  private readonly cleanRestart = new Set<WatchedKind>();
  private readonly lister: Lister;
  private readonly allow: ReadonlySet<string>;
  readonly sender: Sender;
  private watchGen = 0;
  private epoch = 0;
  private resyncing: Promise<void> | null = null;
  private resyncAgain = false;
  private stopped = false;
  /** the first lists are done and the watches run */
  synced = false;

  constructor(
    private readonly config: AgentConfig,
    private readonly deps: AgentDeps,
  ) {
    this.lister = new Lister(deps.kc);
    this.allow = new Set(config.labelAllowList);
    this.sender = new Sender(
      {
        cluster: config.cluster,
        maxObjects: config.batch.maxObjects,
        flushMs: config.batch.flushMs,
        maxQueued: config.buffer.maxObjects,
        retryInitialMs: config.retry.initialMs,
        retryMaxMs: config.retry.maxMs,
      },
      deps.transport,
      deps.metrics,
      deps.log,
      () => {
        this.deps.metrics.gaps.inc({ reason: 'buffer-overflow' });
        // The store is current (the watches kept running): a snapshot of it, no relist needed.
        this.queueSnapshot();
      },
      (code) => {
        // The backend refused a stale or out-of-order envelope (counted by the sender): nothing was
        // missed here, so a snapshot of the current store under a new epoch, with a fresh sentAt.
        if (this.stopped) return;
        this.deps.log.info({ code }, 'kubetags: snapshot queued after a refusal');
        this.queueSnapshot();
      },
    );
  }

  get currentEpoch(): number {
    return this.epoch;
  }

  async start(): Promise<void> {
    this.sender.start();
    await this.resync('start');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watchGen += 1;
    for (const c of this.controllers.values()) c.abort();
    this.controllers.clear();
    await this.resyncing?.catch(() => undefined);
    await this.sender.stop();
  }

  /** Relists everything and queues a snapshot; concurrent calls coalesce into one more relist. */
  resync(reason: string): Promise<void> {
    if (this.resyncing) {
      this.resyncAgain = true;
      return this.resyncing;
    }
    this.resyncing = (async () => {
      let why = reason;
      do {
        this.resyncAgain = false;
        await this.relist(why);
        why = 'gap during relist';
      } while (this.resyncAgain && !this.stopped);
    })().finally(() => {
      this.resyncing = null;
    });
    return this.resyncing;
  }

  /** Test hook: drops a kind's watch connection, as a network failure would. */
  cutWatch(kind: WatchedKind): void {
    this.controllers.get(kind)?.abort();
  }

  /** Test hook: resumes a kind's watch from the given resourceVersion, as after a clean server-side end. */
  resumeWatchFrom(kind: WatchedKind, resourceVersion: string): void {
    this.rv.set(kind, resourceVersion);
    this.cleanRestart.add(kind);
    this.controllers.get(kind)?.abort();
  }

  private async relist(reason: string): Promise<void> {
    const gen = ++this.watchGen;
    for (const c of this.controllers.values()) c.abort();
    this.controllers.clear();
    this.cleanRestart.clear();
    let delay = this.config.retry.initialMs;
    for (;;) {
      if (this.stopped) return;
      try {
        const listed = await this.listAll();
        if (this.stopped) return;
        this.replaceStore(listed.entries);
        for (const [k, v] of listed.rvs) this.rv.set(k, v);
        break;
      } catch (err) {
        this.deps.log.warn({ err: errText(err), retryInMs: delay }, 'kubetags: list failed; retrying');
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, this.config.retry.maxMs);
      }
    }
    this.queueSnapshot();
    this.deps.log.info({ reason, epoch: this.epoch, objects: this.store.size }, 'kubetags: listed; snapshot queued');
    this.synced = true;
    for (const k of WATCHED_KINDS) void this.watch(k.kind, gen);
  }

  private async listAll(): Promise<{ entries: Map<string, KubeObject>; rvs: Map<WatchedKind, string> }> {
    const entries = new Map<string, KubeObject>();
    const rvs = new Map<WatchedKind, string>();
    for (const k of WATCHED_KINDS) {
      let cont: string | undefined;
      let rv = '';
      do {
        const page = await this.lister.page(k.kind, this.config.list.pageSize, cont);
        this.deps.metrics.lists.inc({ kind: k.kind });
        rv = page.resourceVersion;
        cont = page.continueToken;
        for (const item of page.items) {
          const o = this.reduce(k.kind, item);
          if (o) entries.set(`${o.kind}/${o.uid}`, o);
        }
      } while (cont);
      rvs.set(k.kind, rv);
    }
    return { entries, rvs };
  }

  private reduce(kind: WatchedKind, raw: unknown): KubeObject | null {
    try {
      return fromApiObject(kind, raw, this.allow);
    } catch (err) {
      // One odd object must not stop the agent: it is counted and named, the others go on.
      this.deps.metrics.events.inc({ kind, type: 'unreadable' });
      this.deps.log.warn({ kind, err: errText(err) }, 'kubetags: object skipped');
      return null;
    }
  }

  private replaceStore(listed: Map<string, KubeObject>): void {
    const now = new Date().toISOString();
    const old = new Map(this.store);
    this.store.clear();
    for (const [key, object] of listed) {
      const json = JSON.stringify(object);
      const prev = old.get(key);
      this.store.set(key, { object, json, at: prev && prev.json === json ? prev.at : now });
    }
  }

  private queueSnapshot(): void {
    this.epoch = Math.max(this.epoch + 1, Date.now());
    const entries = [...this.store.values()];
    const size = this.config.batch.maxObjects;
    const sentAt = new Date().toISOString();
    const rv = this.rv.get('Pod') ?? '0';
    const parts: Envelope[] = [];
    for (let i = 0; i === 0 || i < entries.length; i += size) {
      const chunk = entries.slice(i, i + size);
      const last = i + size >= entries.length;
      parts.push({
        cluster: this.config.cluster,
        resourceVersion: rv,
        sentAt,
        full: true,
        epoch: this.epoch,
        part: last ? { index: parts.length, last, total: entries.length } : { index: parts.length, last },
        upserts: chunk.map((e) => ({ at: e.at, object: e.object })),
        deletes: [],
      });
    }
    this.sender.snapshot(this.epoch, parts);
    this.deps.metrics.snapshots.inc();
    this.updateGauges();
  }

  private updateGauges(): void {
    const counts = new Map<string, number>(WATCHED_KINDS.map((k) => [k.kind, 0]));
    const nodes: KubeNode[] = [];
    for (const e of this.store.values()) {
      counts.set(e.object.kind, (counts.get(e.object.kind) ?? 0) + 1);
      if (e.object.kind === 'Node') nodes.push(e.object);
    }
    for (const [kind, n] of counts) this.deps.metrics.objects.set({ kind }, n);
    this.deps.metrics.nodes.reset();
    for (const p of summarizePlacement(nodes)) this.deps.metrics.nodes.set({ cloud: p.cloud, account: p.account, region: p.region, zone: p.zone }, p.nodes);
  }

  private async watch(kind: WatchedKind, gen: number): Promise<void> {
    if (gen !== this.watchGen || this.stopped) return;
    const spec = WATCHED_KINDS.find((k) => k.kind === kind)!;
    const w = new Watch(this.deps.kc);
    const ctl = await w.watch(
      collectionPath(spec),
      { resourceVersion: this.rv.get(kind), allowWatchBookmarks: true, timeoutSeconds: this.config.watch.timeoutSeconds },
      (type: string, obj: unknown) => this.onEvent(kind, gen, type, obj),
      (err: unknown) => this.onDone(kind, gen, err),
    );
    if (gen === this.watchGen && !this.stopped) this.controllers.set(kind, ctl);
    else ctl.abort();
  }

  private onEvent(kind: WatchedKind, gen: number, type: string, obj: unknown): void {
    if (gen !== this.watchGen || this.stopped) return;
    if (type === 'ERROR') {
      const st = StatusObject.safeParse(obj);
      const code = st.success ? st.data.code : undefined;
      this.gap(kind, code === 410 ? 'expired' : 'watch-error', st.success ? (st.data.message ?? '') : JSON.stringify(obj).slice(0, 200));
      return;
    }
    const meta = EventMeta.safeParse(obj);
    const rv = meta.success ? meta.data.metadata?.resourceVersion : undefined;
    if (rv) this.rv.set(kind, rv);
    this.deps.metrics.events.inc({ kind, type });
    if (type === 'BOOKMARK') return;
    const at = new Date().toISOString();
    if (type === 'DELETED') {
      const m = meta.success ? meta.data.metadata : undefined;
      if (!m?.uid || !m.name) return;
      const key = `${kind}/${m.uid}`;
      this.store.delete(key);
      this.deps.metrics.objects.dec({ kind });
      this.sender.delete({ at, kind, uid: m.uid, namespace: m.namespace ?? null, name: m.name }, rv ?? this.rv.get(kind) ?? '0');
      return;
    }
    const o = this.reduce(kind, obj);
    if (!o) return;
    const key = `${o.kind}/${o.uid}`;
    const json = JSON.stringify(o);
    const prev = this.store.get(key);
    if (prev && prev.json === json) {
      this.deps.metrics.events.inc({ kind, type: 'unchanged' });
      return;
    }
    this.store.set(key, { object: o, json, at });
    if (!prev) this.deps.metrics.objects.inc({ kind });
    this.sender.upsert({ at, object: o }, rv ?? this.rv.get(kind) ?? '0');
  }

  private onDone(kind: WatchedKind, gen: number, err: unknown): void {
    if (gen !== this.watchGen || this.stopped) return;
    this.controllers.delete(kind);
    const clean = this.cleanRestart.delete(kind) || err === null || err === undefined;
    if (clean) {
      // The server ended the watch (its timeout): nothing was missed, resume from the last resourceVersion.
      void this.watch(kind, gen);
      return;
    }
    const status = (err as { statusCode?: unknown }).statusCode;
    this.gap(kind, status === 410 ? 'expired' : 'lost-connection', errText(err));
  }

  private gap(kind: WatchedKind, reason: string, detail: string): void {
    this.deps.metrics.gaps.inc({ reason });
    this.deps.log.warn({ kind, reason, detail }, 'kubetags: watch gap; relisting for a snapshot');
    // Older watches' events and ends are ignored from here on, also before the relist starts.
    this.watchGen += 1;
    void this.resync(`${kind}: ${reason}`);
  }
}

function errText(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
