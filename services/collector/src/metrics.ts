import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The collector's Prometheus metrics. Every series is labelled by tenant, cloud and account so an
 * operator sees which account is lagging or failing; sources of one account add up.
 */
export class CollectorMetrics {
  readonly registry = new Registry();
  private readonly labels = ['tenant', 'cloud', 'account'] as const;
  readonly objectsListed = new Counter({ name: 'sightline_collector_objects_listed_total', help: 'units of work (objects or byte ranges) discovered', labelNames: this.labels, registers: [this.registry] });
  readonly objectsRead = new Counter({ name: 'sightline_collector_objects_read_total', help: 'units of work read to the end and acknowledged by Kafka', labelNames: this.labels, registers: [this.registry] });
  readonly bytesRead = new Counter({ name: 'sightline_collector_bytes_read_total', help: 'bytes read from object storage (as stored, compressed or not)', labelNames: this.labels, registers: [this.registry] });
  readonly records = new Counter({ name: 'sightline_collector_records_total', help: 'flow records published to Kafka and acknowledged', labelNames: this.labels, registers: [this.registry] });
  readonly batches = new Counter({ name: 'sightline_collector_batches_total', help: 'flow batches acknowledged by Kafka', labelNames: this.labels, registers: [this.registry] });
  readonly errors = new Counter({ name: 'sightline_collector_errors_total', help: 'errors by kind (forbidden, not-found, throttled, unavailable, kafka, bad-object, bad-line, ...)', labelNames: [...this.labels, 'kind'], registers: [this.registry] });
  readonly deadLetters = new Counter({ name: 'sightline_collector_dead_letters_total', help: 'messages sent to the dead-letter topic', labelNames: [...this.labels, 'what'], registers: [this.registry] });
  readonly newestFlowEnd = new Gauge({ name: 'sightline_collector_newest_flow_end_seconds', help: 'unix time of the newest flow end published', labelNames: this.labels, registers: [this.registry] });
  readonly unitSeconds = new Histogram({ name: 'sightline_collector_unit_seconds', help: 'time to read, parse and publish one unit of work', labelNames: this.labels, buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300], registers: [this.registry] });
  // Per source (its id as well: an account can have several), so idle can be told from stuck: a source
  // that finds objects and reads them shows a recent time; one that never found anything stays at 0.
  readonly sourceLastRead = new Gauge({ name: 'sightline_collector_source_last_read_timestamp_seconds', help: 'unix time this process last read a unit of the source to the end (acknowledged by Kafka); 0: none since it took the source on', labelNames: [...this.labels, 'source'], registers: [this.registry] });
  readonly sourceNeverRead = new Gauge({ name: 'sightline_collector_source_never_read', help: '1 while the source has no checkpoint and no unit of it was read (nothing found, or nothing readable: wrong bucket, prefix, account, container or credentials?); 0 once one was', labelNames: [...this.labels, 'source'], registers: [this.registry] });
  readonly ownedSources = new Gauge({ name: 'sightline_collector_owned_sources', help: 'sources this process owns now', registers: [this.registry] });
  readonly configReloads = new Counter({ name: 'sightline_collector_config_reloads_total', help: 'configuration reloads by result', labelNames: ['result'], registers: [this.registry] });

  constructor(defaults = true) {
    if (defaults) collectDefaultMetrics({ register: this.registry, prefix: 'sightline_collector_' });
    // The lag grows while nothing new arrives: it is computed at scrape time from the newest flow end.
    const newest = this.newestFlowEnd;
    new Gauge({
      name: 'sightline_collector_lag_seconds', help: 'now minus the newest flow end published', labelNames: this.labels, registers: [this.registry],
      async collect() {
        const snap = await newest.get();
        this.reset();
        for (const v of snap.values) this.set(v.labels, Math.max(0, Date.now() / 1000 - v.value));
      },
    });
  }

  noteFlowEnd(l: Labels, endMs: number): void {
    const s = endMs / 1000;
    // Gauge has no max(): the newest per account is kept beside it.
    const cur = this.newest.get(key(l)) ?? 0;
    if (s > cur) {
      this.newest.set(key(l), s);
      this.newestFlowEnd.set(l, s);
    }
  }

  private readonly newest = new Map<string, number>();
}

export interface Labels {
  tenant: string;
  cloud: string;
  account: string;
}

const key = (l: Labels) => `${l.tenant}\u0000${l.cloud}\u0000${l.account}`;
