import { z } from 'zod';

/**
 * Pipeline health for the console, per tenant: each collector source's lag and last read, dead
 * letters, the enricher's lag and the share of flow ends it could not attribute. In the
 * distributed mode the api reads them from the collectors' and enrichers' own `/metrics`
 * (config `pipeline`), keeping only the series labelled with the asking tenant (the enricher's
 * Kafka lag and pending rows have no tenant: they are the shared pipeline's); the embedded mode
 * hands in its own figures.
 */
export const SourceHealth = z.object({
  cloud: z.string(),
  account: z.string(),
  /** the source's id where the metric names one; null: every source of the account */
  source: z.string().nullable(),
  /** now minus the newest flow end published (s) */
  lagSeconds: z.number().nullable(),
  /** when a unit of the source was last read to the end (epoch ms); null: never since the process took it */
  lastReadAt: z.number().nullable(),
  objectsRead: z.number().nullable(),
  records: z.number().nullable(),
  errors: z.number().nullable(),
  deadLetters: z.number().nullable(),
});
export const PipelineHealthResponse = z
  .object({
    mode: z.enum(['embedded', 'distributed']),
    /** when the figures were read (epoch ms) */
    at: z.number().int(),
    sources: z.array(SourceHealth),
    enricher: z
      .object({
        /** flows messages behind the partition ends, all partitions (shared by every tenant) */
        lagMessages: z.number().nullable(),
        /** rows attributed and not yet confirmed by the store (shared) */
        pendingRows: z.number().nullable(),
        /** the tenant's flow ends attributed / left null since the enrichers started */
        attributedEnds: z.number().nullable(),
        unattributedEnds: z.number().nullable(),
      })
      .nullable(),
    /** metrics endpoints that did not answer (host:port; the figures are partial) */
    unreachable: z.array(z.string()),
  })
  .meta({ id: 'PipelineHealth' });
export type PipelineHealth = z.infer<typeof PipelineHealthResponse>;
export type SourceHealth = z.infer<typeof SourceHealth>;

export interface PipelineHealthSource {
  health(tenant: string, signal?: AbortSignal): Promise<PipelineHealth>;
}

export const PipelineMetricsSchema = z
  .strictObject({
    /** the collectors' `/metrics` URLs (their metrics listener) */
    collectors: z.array(z.string().url()).default([]),
    /** the enrichers' `/metrics` URLs */
    enrichers: z.array(z.string().url()).default([]),
    /** each scrape's time limit */
    timeoutMs: z.number().int().min(100).max(30_000).default(2_000),
  });
export type PipelineMetricsConfig = z.infer<typeof PipelineMetricsSchema>;

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The Prometheus text format's samples (comments and malformed lines skipped). */
export function parsePrometheusText(text: string): Sample[] {
  const out: Sample[] = [];
  const line = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/;
  const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  for (const raw of text.split('\n')) {
    if (raw === '' || raw.startsWith('#')) continue;
    const m = line.exec(raw.trim());
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(label)) labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    const value = Number(m[3]);
    if (Number.isFinite(value)) out.push({ name: m[1]!, labels, value });
  }
  return out;
}

function where(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'invalid url';
  }
}

/** Reads the services' `/metrics` at each request (a console refreshes by hand, not per second). */
export class ScrapedPipelineHealth implements PipelineHealthSource {
  constructor(private readonly cfg: PipelineMetricsConfig) {}

  private async scrape(urls: string[], signal?: AbortSignal): Promise<{ samples: Sample[]; unreachable: string[] }> {
    const unreachable: string[] = [];
    const all = await Promise.all(
      urls.map(async (u) => {
        const timeout = AbortSignal.timeout(this.cfg.timeoutMs);
        try {
          const res = await fetch(u, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
          if (!res.ok) throw new Error(`HTTP ${res.status}`);
          return parsePrometheusText(await res.text());
        } catch {
          unreachable.push(where(u));
          return [];
        }
      }),
    );
    return { samples: all.flat(), unreachable };
  }

  async health(tenant: string, signal?: AbortSignal): Promise<PipelineHealth> {
    const [c, e] = await Promise.all([this.scrape(this.cfg.collectors, signal), this.scrape(this.cfg.enrichers, signal)]);
    return { mode: 'distributed', at: Date.now(), sources: collectorSources(c.samples, tenant), enricher: this.cfg.enrichers.length === 0 ? null : enricherHealth(e.samples, tenant), unreachable: [...c.unreachable, ...e.unreachable] };
  }
}

const sum = (xs: Sample[]) => (xs.length === 0 ? null : xs.reduce((a, s) => a + s.value, 0));

/** One row per (cloud, account) of the tenant, and one per source where the metrics name it. */
export function collectorSources(samples: Sample[], tenant: string): SourceHealth[] {
  const mine = samples.filter((s) => s.labels.tenant === tenant && s.name.startsWith('sightline_collector_'));
  const accounts = new Map<string, { cloud: string; account: string }>();
  for (const s of mine) accounts.set(`${s.labels.cloud}\u0000${s.labels.account}`, { cloud: s.labels.cloud ?? '', account: s.labels.account ?? '' });
  const rows: SourceHealth[] = [];
  for (const { cloud, account } of [...accounts.values()].sort((a, b) => `${a.cloud}/${a.account}`.localeCompare(`${b.cloud}/${b.account}`))) {
    const of = (name: string) => mine.filter((s) => s.name === name && s.labels.cloud === cloud && s.labels.account === account);
    const lag = of('sightline_collector_lag_seconds');
    const sources = [...new Set(of('sightline_collector_source_last_read_timestamp_seconds').map((s) => s.labels.source ?? ''))].sort();
    const base = {
      cloud,
      account,
      // several collectors may report one account (owners change): the freshest one counts
      lagSeconds: lag.length === 0 ? null : Math.min(...lag.map((s) => s.value)),
      objectsRead: sum(of('sightline_collector_objects_read_total')),
      records: sum(of('sightline_collector_records_total')),
      errors: sum(of('sightline_collector_errors_total')),
      deadLetters: sum(of('sightline_collector_dead_letters_total')),
    };
    if (sources.length === 0) rows.push({ ...base, source: null, lastReadAt: null });
    for (const source of sources) {
      const last = of('sightline_collector_source_last_read_timestamp_seconds').filter((s) => s.labels.source === source);
      const newest = Math.max(0, ...last.map((s) => s.value));
      rows.push({ ...base, source, lastReadAt: newest === 0 ? null : newest * 1000 });
    }
  }
  return rows;
}

export function enricherHealth(samples: Sample[], tenant: string): NonNullable<PipelineHealth['enricher']> {
  const named = (n: string) => samples.filter((s) => s.name === n);
  return {
    lagMessages: sum(named('sightline_enricher_flows_lag_messages')),
    pendingRows: sum(named('sightline_enricher_pending_rows')),
    attributedEnds: sum(named('sightline_enricher_attributed_total').filter((s) => s.labels.tenant === tenant)),
    unattributedEnds: sum(named('sightline_enricher_unattributed_total').filter((s) => s.labels.tenant === tenant)),
  };
}
