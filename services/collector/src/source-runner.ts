import { setTimeout as sleep } from 'node:timers/promises';
import { CloudError, type Notification, type ObjectRef } from '@sightline/object-store';
import type { CheckpointStore } from './checkpoints.js';
import { deadLetterMessage } from './dead-letter.js';
import { errField, type Logger } from './log.js';
import type { CollectorMetrics, Labels } from './metrics.js';
import { OrderedCommit, type Semaphore } from './ordered-commit.js';
import type { Source } from './sources.js';
import { processUnit, unitName, type UnitOptions, type UnitResult } from './unit.js';

/**
 * Runs one source: discovery (list polling from the durable cursor, or notifications) feeds units
 * to the process-wide worker pool; a unit's cursor is committed once it and every unit discovered
 * before it were acknowledged by Kafka. Cloud errors back off and are retried, counted and logged;
 * they never end the process.
 */

export interface RunnerDeps {
  log: Logger;
  metrics: CollectorMetrics;
  /** the durable cursors (backfill: one that keeps nothing, so the live ones are left alone) */
  checkpoints: Pick<CheckpointStore, 'get' | 'commit' | 'adopt'>;
  pool: Semaphore;
  unit: Omit<UnitOptions, 'signal'>;
  /** stop after what is there now (backfill) instead of polling forever */
  once: boolean;
  pollIntervalMs: number;
  visibilitySeconds: number;
  queueDepth: number;
  /** attempts of a unit that fails with something else than a retryable cloud error, before it is dead-lettered */
  maxUnitAttempts?: number;
  onUnit?: (ref: ObjectRef, r: UnitResult) => void;
  onListed?: (ref: ObjectRef) => void;
}

const MAX_BACKOFF_MS = 60_000;
/** a source that keeps finding nothing says so at most this often (the first empty poll always) */
const NOTHING_FOUND_LOG_MS = 300_000;

export class SourceRunner {
  private readonly ac = new AbortController();
  private readonly labels: Labels;
  private readonly log: Logger;
  private done: Promise<void> | undefined;
  private adopted = false;
  /** units that could not be processed in --once mode (the run then exits non-zero) */
  failures = 0;
  /** units listed since start (0 with no checkpoint: the source has never found anything) */
  private listed = 0;
  /** a unit of this source was read to the end since start */
  private readAny = false;
  private polls = 0;
  private nothingLoggedAt = -Infinity;
  private readonly sourceLabels: Labels & { source: string };

  constructor(readonly source: Source, private readonly d: RunnerDeps) {
    this.labels = { tenant: source.tenant, cloud: source.cloud, account: source.account };
    this.sourceLabels = { ...this.labels, source: source.id };
    this.log = d.log.child({ source: source.id });
    d.metrics.sourceLastRead.set(this.sourceLabels, 0);
    // a checkpoint means it read before (checkpoints are loaded before the runners are made)
    d.metrics.sourceNeverRead.set(this.sourceLabels, d.checkpoints.get(source.id) === undefined ? 1 : 0);
  }

  /**
   * After each poll: a source with no checkpoint that has read nothing shows it in a gauge; one
   * that has not even listed anything also says so in a log line (rate-limited), so a misconfigured
   * source (wrong bucket, prefix, account, container) is told from an idle one. (Units listed and
   * failing are logged and counted as errors where they fail.)
   */
  private noteNothingFound(): void {
    this.polls++;
    const never = !this.readAny && this.d.checkpoints.get(this.source.id) === undefined;
    this.d.metrics.sourceNeverRead.set(this.sourceLabels, never ? 1 : 0);
    if (!never || this.listed > 0) return;
    const now = Date.now();
    if (now - this.nothingLoggedAt < NOTHING_FOUND_LOG_MS) return;
    this.nothingLoggedAt = now;
    this.log.warn({ polls: this.polls }, `source ${this.source.id} has found nothing to read yet (${this.polls} polls, no checkpoint): check its bucket or container, prefix, account and credentials if flow logs are expected there`);
  }

  start(): Promise<void> {
    this.done ??= (this.source.notifications ? this.notificationLoop() : this.pollLoop()).catch((err: unknown) => {
      if (!this.ac.signal.aborted) throw err;
    });
    return this.done;
  }

  async stop(): Promise<void> {
    this.ac.abort(new Error(`source ${this.source.id} stopped`));
    await this.done?.catch(() => undefined);
    this.source.close?.();
    // another collector owns it now (or it left the config): its series are that one's to show
    this.d.metrics.sourceLastRead.remove(this.sourceLabels);
    this.d.metrics.sourceNeverRead.remove(this.sourceLabels);
  }

  private get signal(): AbortSignal {
    return this.ac.signal;
  }

  private countError(err: unknown, fallback: string): string {
    const kind = err instanceof CloudError ? err.kind : fallback;
    this.d.metrics.errors.inc({ ...this.labels, kind });
    return kind;
  }

  private async pollLoop(): Promise<void> {
    let backoff = 0;
    let attempts = 0;
    while (!this.signal.aborted) {
      try {
        await this.pollOnce();
        this.noteNothingFound();
        backoff = 0;
        attempts = 0;
        if (this.d.once) return;
      } catch (err) {
        if (this.signal.aborted) return;
        const kind = this.countError(err, 'discovery');
        backoff = Math.min(Math.max(1000, backoff * 2), MAX_BACKOFF_MS);
        attempts++;
        this.log.warn({ err: errField(err), kind, retryInMs: backoff }, `listing ${this.source.id} failed (${kind}); backing off`);
        if (this.d.once && attempts >= (this.d.maxUnitAttempts ?? 5)) {
          this.failures++;
          this.log.error({ kind }, `listing ${this.source.id} keeps failing; giving up this backfill`);
          return;
        }
        await sleep(backoff, undefined, { signal: this.signal }).catch(() => undefined);
        continue;
      }
      await sleep(this.d.pollIntervalMs, undefined, { signal: this.signal }).catch(() => undefined);
    }
  }

  /** One pass over what discovery has after the durable cursor. */
  private async pollOnce(): Promise<void> {
    const discovery = this.source.discovery;
    if (!discovery) throw new Error(`source ${this.source.id} has neither discovery nor notifications`);
    const order = new OrderedCommit<unknown>();
    const running = new Set<Promise<void>>();
    let commits: Promise<void> = Promise.resolve();
    let fatal: unknown;
    if (!this.adopted && this.source.legacy) {
      const from = await this.d.checkpoints.adopt(this.source.id, this.source.legacy.ids, this.source.legacy.fits);
      if (from !== undefined) this.log.info({ from }, `checkpoint of ${from} (a name of an earlier version) carried over to ${this.source.id}`);
      this.adopted = true;
    }
    const cursor = this.d.checkpoints.get(this.source.id);
    for await (const { ref, cursor: after } of discovery.poll(cursor, this.signal)) {
      this.listed++;
      this.d.metrics.objectsListed.inc(this.labels);
      this.d.onListed?.(ref);
      const ticket = order.add();
      // Bounded look-ahead: listing waits while queueDepth units of this source are pending.
      while (running.size >= this.d.queueDepth) await Promise.race(running);
      if (fatal !== undefined) break;
      await this.d.pool.acquire(this.signal);
      const p: Promise<void> = this.runUnit(ref)
        .then(() => {
          const c = order.complete(ticket, after);
          if (c !== undefined) commits = commits.then(() => this.d.checkpoints.commit(this.source.id, c, ref.key));
        })
        .catch((err: unknown) => { fatal ??= err; })
        .finally(() => { this.d.pool.release(); running.delete(p); });
      running.add(p);
    }
    await Promise.all(running);
    await commits;
    if (fatal !== undefined) throw fatal;
  }

  /**
   * A unit until it is published: retryable cloud errors (throttling, unavailable) and access
   * errors back off and retry without limit while the daemon runs, since skipping the unit would
   * lose its flows; anything else is retried a few times and then dead-lettered (an unreadable
   * object must not stall its source for ever).
   */
  private async runUnit(ref: ObjectRef): Promise<void> {
    const name = unitName(ref);
    const max = this.d.maxUnitAttempts ?? 5;
    let backoff = 0;
    for (let attempt = 1; ; attempt++) {
      const t0 = performance.now();
      try {
        const r = await processUnit(ref, this.source.reader, { ...this.d.unit, signal: this.signal });
        this.d.metrics.unitSeconds.observe(this.labels, (performance.now() - t0) / 1000);
        this.d.metrics.objectsRead.inc(this.labels);
        this.d.metrics.sourceLastRead.set(this.sourceLabels, Date.now() / 1000);
        this.d.metrics.sourceNeverRead.set(this.sourceLabels, 0);
        this.readAny = true;
        this.d.metrics.bytesRead.inc(this.labels, r.bytes);
        this.d.metrics.records.inc(this.labels, r.records);
        this.d.metrics.batches.inc(this.labels, r.batches);
        if (!Number.isNaN(r.newestEnd)) this.d.metrics.noteFlowEnd(this.labels, r.newestEnd);
        if (r.issues > 0) {
          this.d.metrics.errors.inc({ ...this.labels, kind: 'bad-record' }, r.issues);
          this.d.metrics.deadLetters.inc({ ...this.labels, what: 'record' }, Math.min(r.issues, this.d.unit.maxIssueLetters ?? 1000));
          this.log.warn({ object: name, issues: r.issues, stats: r.stats }, `${name}: ${r.issues} bad records skipped (sent to the dead-letter topic)`);
        }
        if (r.badObject !== undefined) {
          this.d.metrics.errors.inc({ ...this.labels, kind: 'bad-object' });
          this.d.metrics.deadLetters.inc({ ...this.labels, what: 'object' });
          this.log.warn({ object: name, reason: r.badObject }, `${name}: not a readable flow log, sent to the dead-letter topic`);
        }
        this.d.onUnit?.(ref, r);
        return;
      } catch (err) {
        if (this.signal.aborted) throw err;
        const kind = this.countError(err, 'read');
        const cloudRetry = err instanceof CloudError && (err.retryable || err.kind === 'forbidden' || err.kind === 'throttled' || err.kind === 'unavailable');
        backoff = Math.min(Math.max(500, backoff * 2), MAX_BACKOFF_MS);
        if ((!cloudRetry || this.d.once) && attempt >= max) {
          if (this.d.once && cloudRetry) {
            this.failures++;
            this.log.error({ object: name, kind, err: errField(err) }, `${name}: giving up after ${attempt} attempts (${kind}); its cursor is not advanced`);
            throw err;
          }
          this.log.error({ object: name, kind, err: errField(err) }, `${name}: unreadable after ${attempt} attempts; sent to the dead-letter topic`);
          await this.d.unit.producer.send({
            topic: this.d.unit.deadLetterTopic, acks: -1,
            messages: [{ key: `${ref.tenant}/${ref.account}`, value: deadLetterMessage(ref, 'unreadable-object', errField(err).message, {}) }],
          });
          this.d.metrics.deadLetters.inc({ ...this.labels, what: 'object' });
          return;
        }
        this.log.warn({ object: name, kind, attempt, retryInMs: backoff, err: errField(err) }, `${name}: read failed (${kind}); retrying`);
        await sleep(backoff, undefined, { signal: this.signal });
      }
    }
  }

  private async notificationLoop(): Promise<void> {
    const notes = this.source.notifications!;
    let backoff = 0;
    while (!this.signal.aborted) {
      let batch: Notification[];
      try {
        batch = await notes.receive(10, this.d.once ? 1 : 20, this.signal);
        backoff = 0;
      } catch (err) {
        if (this.signal.aborted) return;
        const kind = this.countError(err, 'notifications');
        backoff = Math.min(Math.max(1000, backoff * 2), MAX_BACKOFF_MS);
        this.log.warn({ err: errField(err), kind, retryInMs: backoff }, `receiving notifications for ${this.source.id} failed (${kind}); backing off`);
        await sleep(backoff, undefined, { signal: this.signal }).catch(() => undefined);
        continue;
      }
      if (batch.length === 0) {
        this.noteNothingFound();
        if (this.d.once) return;
        continue;
      }
      this.listed += batch.reduce((n, x) => n + x.refs.length, 0);
      await Promise.all(batch.map((n) => this.handleNotification(n)));
    }
  }

  /** Processes a notification's objects, keeping the message invisible meanwhile; deletes it only when all are in Kafka. */
  private async handleNotification(n: Notification): Promise<void> {
    const every = Math.max(1000, (this.d.visibilitySeconds * 1000) / 3);
    const keep = () => n.extend(this.d.visibilitySeconds).catch((err: unknown) => {
      this.countError(err, 'notifications');
      this.log.warn({ err: errField(err) }, 'extending a notification\'s visibility failed; another collector may process its objects too (duplicates, not loss)');
    });
    // The queue's own visibility timeout may be shorter than the first tick: extend at once.
    await keep();
    const timer = setInterval(() => { void keep(); }, every);
    try {
      for (const ref of n.refs) {
        this.d.metrics.objectsListed.inc(this.labels);
        this.d.onListed?.(ref);
      }
      await Promise.all(n.refs.map(async (ref) => {
        await this.d.pool.acquire(this.signal);
        try {
          await this.runUnit(ref);
        } finally {
          this.d.pool.release();
        }
      }));
      await n.ack();
    } catch (err) {
      if (this.signal.aborted) return;
      const kind = this.countError(err, 'notifications');
      this.log.warn({ err: errField(err), kind }, 'a notification\'s objects were not all published; the message will be delivered again');
    } finally {
      clearInterval(timer);
    }
  }
}
