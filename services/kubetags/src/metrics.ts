import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export class AgentMetrics {
  readonly registry = new Registry();
  readonly objects = new Gauge({ name: 'sightline_kubetags_objects', help: 'objects the agent holds, by kind', labelNames: ['kind'], registers: [this.registry] });
  readonly events = new Counter({ name: 'sightline_kubetags_watch_events_total', help: 'watch events by kind and type (unchanged: a change to fields the model drops)', labelNames: ['kind', 'type'], registers: [this.registry] });
  readonly gaps = new Counter({ name: 'sightline_kubetags_watch_gaps_total', help: 'watch gaps (expired resourceVersion, lost connection, buffer overflow), each followed by a snapshot', labelNames: ['reason'], registers: [this.registry] });
  readonly snapshots = new Counter({ name: 'sightline_kubetags_snapshots_total', help: 'full snapshots queued', registers: [this.registry] });
  readonly lists = new Counter({ name: 'sightline_kubetags_lists_total', help: 'list calls (pages) to the API server by kind', labelNames: ['kind'], registers: [this.registry] });
  readonly sent = new Counter({ name: 'sightline_kubetags_requests_total', help: 'requests to the backend by result (ok, retry, rejected, unauthorized)', labelNames: ['result'], registers: [this.registry] });
  readonly sentObjects = new Counter({ name: 'sightline_kubetags_sent_objects_total', help: 'objects (upserts and deletes) the backend accepted', labelNames: ['envelope'], registers: [this.registry] });
  readonly queued = new Gauge({ name: 'sightline_kubetags_queued_objects', help: 'delta objects waiting to be sent', registers: [this.registry] });
  readonly dropped = new Counter({ name: 'sightline_kubetags_dropped_objects_total', help: 'objects dropped (buffer overflow: replaced by a snapshot; rejected by the backend)', labelNames: ['reason'], registers: [this.registry] });
  readonly refusals = new Counter({ name: 'sightline_kubetags_refusal_resyncs_total', help: 'requests the backend refused as stale (code sent-at) or with an older epoch (code epoch), by what followed: resync (a fresh snapshot was queued) or suppressed (the fresh snapshot was refused too, or the agent was stopping: no further one, no loop)', labelNames: ['code', 'action'], registers: [this.registry] });
  readonly lastSent = new Gauge({ name: 'sightline_kubetags_last_success_seconds', help: 'unix time of the last request the backend accepted', registers: [this.registry] });
  readonly nodes = new Gauge({ name: 'sightline_kubetags_nodes', help: 'nodes by cloud placement (from providerID and topology labels)', labelNames: ['cloud', 'account', 'region', 'zone'], registers: [this.registry] });

  constructor(defaults = true) {
    if (defaults) collectDefaultMetrics({ register: this.registry, prefix: 'sightline_kubetags_' });
  }
}
