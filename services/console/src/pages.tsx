import { useEffect, useState } from 'preact/hooks';
import type { ApiFilter, Scalar, TopNAnswer } from './api.js';
import { Chart, type Series } from './chart.js';
import { useApp } from './context.js';
import { withFilter } from './controls.js';
import { unattributedShare, type DeadLetters, type FlowRow, type FlowsAnswer, type PipelineHealth } from './health-data.js';
import { useLoad } from './hooks.js';
import { apiFilters, formatValue, keyText, type Filter } from './view.js';

export function Status(props: { loading: boolean; error: string | null; empty?: boolean }) {
  if (props.error) return <p class="error" role="alert">{props.error}</p>;
  if (props.loading) return <p class="loading" aria-live="polite">Loading…</p>;
  if (props.empty) return <p class="empty">No flows in this range and filter.</p>;
  return null;
}

/** A top-N answer as a table; each row can be added to the filters (drill-down). */
export function TopTable(props: { answer: TopNAnswer; testid: string; caption?: string; drill?: boolean }) {
  const { view, setView } = useApp();
  const a = props.answer;
  const drill = (key: Record<string, Scalar>) =>
    setView({ ...view, filters: a.dimensions.reduce<Filter[]>((fs, d) => withFilter(fs, { dimension: d, op: 'eq', values: [keyText(key[d])] }), view.filters) });
  return (
    <table class="top" data-testid={props.testid}>
      {props.caption && <caption>{props.caption}</caption>}
      <thead>
        <tr>
          {a.dimensions.map((d) => (
            <th scope="col">{d}</th>
          ))}
          <th scope="col" class="num">{a.metric}</th>
          {props.drill && <th scope="col"><span class="sr">filter</span></th>}
        </tr>
      </thead>
      <tbody>
        {a.rows.map((r) => (
          <tr data-key={JSON.stringify(a.dimensions.map((d) => r.key[d] ?? null))} data-value={r.value}>
            {a.dimensions.map((d) => (
              <td class={r.key[d] === null ? 'null' : ''}>{keyText(r.key[d])}</td>
            ))}
            <td class="num" title={String(r.value)}>{formatValue(a.metric, r.value)}</td>
            {props.drill && (
              <td>
                <button type="button" class="drill" aria-label={`Filter on ${a.dimensions.map((d) => keyText(r.key[d])).join(' ')}`} onClick={() => drill(r.key)}>
                  filter
                </button>
              </td>
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function DimSelect(props: { label: string; value: string; onChange(v: string): void; allowNone?: boolean }) {
  const { shape } = useApp();
  return (
    <label>
      {props.label}{' '}
      <select value={props.value} onChange={(e) => props.onChange(e.currentTarget.value)}>
        {props.allowNone && <option value="">—</option>}
        {shape.dimensions.map((d) => (
          <option value={d}>{d}</option>
        ))}
      </select>
    </label>
  );
}

export function MetricSelect() {
  const { view, setView } = useApp();
  return (
    <label>
      Metric{' '}
      <select value={view.metric} onChange={(e) => setView({ ...view, metric: e.currentTarget.value as typeof view.metric })}>
        <option value="bytes">bytes</option>
        <option value="flows">flows</option>
        <option value="packets">packets</option>
      </select>
    </label>
  );
}

export function topDims(extra: Record<string, string>): string[] {
  return (extra.dims ?? 'src_workload,dst_workload').split(',').filter((d) => d !== '').slice(0, 4);
}

export function TopPage() {
  const { api, view, setView, range, shape } = useApp();
  const dims = topDims(view.extra);
  const limit = Number(view.extra.limit ?? 20);
  const q = { from: range.from, to: range.to, metric: view.metric, dimensions: dims, filters: apiFilters(view.filters, shape.ops), limit };
  const r = useLoad(JSON.stringify(q), (signal) => api.topN(q, signal));
  const setDim = (i: number, d: string) => {
    const next = [...dims];
    if (d === '') next.splice(i, 1);
    else next[i] = d;
    setView({ ...view, extra: { ...view.extra, dims: [...new Set(next)].join(',') } });
  };
  return (
    <>
      <form class="controls" aria-label="Top talkers options" onSubmit={(e) => e.preventDefault()}>
        {[0, 1, 2, 3].map((i) => (i <= dims.length ? <DimSelect label={`Group by ${i + 1}`} value={dims[i] ?? ''} allowNone={i > 0 || dims.length > 1} onChange={(d) => setDim(i, d)} /> : null))}
        <MetricSelect />
        <label>
          Rows{' '}
          <select value={String(limit)} onChange={(e) => setView({ ...view, extra: { ...view.extra, limit: e.currentTarget.value } })}>
            {[10, 20, 50, 100, 1000].map((n) => (
              <option value={String(n)}>{n}</option>
            ))}
          </select>
        </label>
      </form>
      <Status loading={r.loading} error={r.error} empty={r.data?.rows.length === 0} />
      {r.data && <p class="meta">from the {r.data.rollup} table</p>}
      {r.data && <TopTable answer={r.data} testid="top-table" drill />}
    </>
  );
}

/** The metric over time, one line per top key of a dimension (or the total). */
export async function loadSeries(
  api: ReturnType<typeof useApp>['api'],
  q: { from: number; to: number; metric: string; filters: ApiFilter[] },
  dim: string,
  n: number,
  signal: AbortSignal,
): Promise<{ series: Series[]; step: number; rollup: string }> {
  if (dim === '') {
    const s = await api.timeSeries(q, signal);
    return { series: [{ label: 'total', points: s.points }], step: s.step, rollup: s.rollup };
  }
  const top = await api.topN({ ...q, dimensions: [dim], limit: n }, signal);
  const each = await Promise.all(
    top.rows.map((r) => api.timeSeries({ ...q, filters: [...q.filters, { dimension: dim, op: 'eq', value: r.key[dim] ?? null }] }, signal).then((s) => ({ label: keyText(r.key[dim]), s }))),
  );
  return { series: each.map((e) => ({ label: e.label, points: e.s.points })), step: each[0]?.s.step ?? 0, rollup: each[0]?.s.rollup ?? top.rollup };
}

export function SeriesPage() {
  const { api, view, setView, range, shape } = useApp();
  const dim = view.extra.dim === 'none' ? '' : (view.extra.dim ?? 'dst_workload');
  const n = Number(view.extra.n ?? 5);
  const q = { from: range.from, to: range.to, metric: view.metric, filters: apiFilters(view.filters, shape.ops) };
  const r = useLoad(JSON.stringify([q, dim, n]), (signal) => loadSeries(api, q, dim, n, signal));
  return (
    <>
      <form class="controls" aria-label="Time series options" onSubmit={(e) => e.preventDefault()}>
        <MetricSelect />
        <DimSelect label="By" value={dim} allowNone onChange={(d) => setView({ ...view, extra: { ...view.extra, dim: d === '' ? 'none' : d } })} />
        <label>
          Lines{' '}
          <select value={String(n)} onChange={(e) => setView({ ...view, extra: { ...view.extra, n: e.currentTarget.value } })}>
            {[3, 5, 10].map((k) => (
              <option value={String(k)}>{k}</option>
            ))}
          </select>
        </label>
      </form>
      <Status loading={r.loading} error={r.error} empty={r.data?.series.length === 0} />
      {r.data && (
        <>
          <p class="meta">
            step {r.data.step} s, from the {r.data.rollup} table
          </p>
          <Chart series={r.data.series} metric={view.metric} title={`${view.metric} by ${dim}`} />
          <table class="top" data-testid="series-table">
            <thead>
              <tr>
                <th scope="col">{dim === '' ? 'series' : dim}</th>
                <th scope="col" class="num">total {view.metric}</th>
                <th scope="col" class="num">points</th>
              </tr>
            </thead>
            <tbody>
              {r.data.series.map((s) => {
                const total = s.points.reduce((a, p) => a + p.value, 0);
                return (
                  <tr data-key={s.label} data-value={total}>
                    <td>{s.label}</td>
                    <td class="num" title={String(total)}>{formatValue(view.metric, total)}</td>
                    <td class="num">{s.points.length}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </>
      )}
    </>
  );
}



export type { FlowsAnswer, PipelineHealth };
export const FLOWS_PATH = '/v1/query/flows';
export const DEAD_LETTERS_PATH = '/v1/deadletters';
export const HEALTH_PATH = '/v1/pipeline/health';

const PROTOCOLS: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6' };
const iso = (t: number | null) => (t === null ? '' : new Date(t).toISOString().replace('.000Z', 'Z'));

function End(props: { e: FlowRow['src'] }) {
  const k = props.e.k8s;
  const who = k.workload ?? k.pod ?? k.service ?? k.node;
  return (
    <>
      <span class="addr">
        {props.e.addr ?? '?'}
        {props.e.port !== null ? `:${props.e.port}` : ''}
      </span>
      {who !== null && who !== undefined ? (
        <span class="k8s">
          {' '}
          {k.cluster}/{k.namespace ?? '-'}/{who}
        </span>
      ) : (
        <span class="k8s null"> unattributed</span>
      )}
    </>
  );
}

function FieldList(props: { title: string; fields: Record<string, Scalar> }) {
  const entries = Object.entries(props.fields).filter(([, v]) => v !== null && v !== '');
  return (
    <div>
      <h3>{props.title}</h3>
      <dl>
        {entries.map(([k, v]) => (
          <>
            <dt>{k}</dt>
            <dd>{String(v)}</dd>
          </>
        ))}
      </dl>
    </div>
  );
}

/** Raw flows, newest first, a page at a time (the API's cursor); each row opens on both ends' Kubernetes fields and the record's cloud fields. */
export function FlowsPage() {
  const { api, view, range, shape } = useApp();
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [open, setOpen] = useState<string | null>(null);
  const q = { from: range.from, to: range.to, filters: apiFilters(view.filters, shape.ops), limit: Number(view.extra.limit ?? 50), order: 'desc' };
  const key = JSON.stringify(q);
  useEffect(() => setCursors([null]), [key]);
  const cursor = cursors[cursors.length - 1] ?? null;
  const r = useLoad(JSON.stringify([q, cursor]), (signal) =>
    shape.paths.includes(FLOWS_PATH) ? api.request<FlowsAnswer>('POST', FLOWS_PATH, cursor === null ? q : { ...q, cursor }, signal) : Promise.reject(new Error('this API does not list flows (no /v1/query/flows)')),
  );
  return (
    <>
      <Status loading={r.loading} error={r.error} empty={r.data?.rows.length === 0} />
      {r.data && (
        <>
          <nav class="pager" aria-label="Flow pages">
            <button type="button" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
              ← Newer
            </button>
            <span data-testid="flows-page">page {cursors.length}</span>
            <button type="button" disabled={r.data.next === null} onClick={() => r.data?.next && setCursors([...cursors, r.data.next])}>
              Older →
            </button>
          </nav>
          <table class="top flows" data-testid="flows-table">
            <thead>
              <tr>
                <th scope="col">time</th>
                <th scope="col">source</th>
                <th scope="col">destination</th>
                <th scope="col">proto</th>
                <th scope="col">action</th>
                <th scope="col" class="num">bytes</th>
                <th scope="col" class="num">packets</th>
                <th scope="col">cloud</th>
              </tr>
            </thead>
            <tbody>
              {r.data.rows.map((f) => (
                <>
                  <tr data-id={f.id} data-bytes={f.bytes} data-packets={f.packets}>
                    <td>
                      <button type="button" class="link" aria-expanded={open === f.id} onClick={() => setOpen(open === f.id ? null : f.id)}>
                        {iso(f.ts)}
                      </button>
                    </td>
                    <td><End e={f.src} /></td>
                    <td><End e={f.dst} /></td>
                    <td>{f.protocol === null ? '' : PROTOCOLS[f.protocol] ?? String(f.protocol)}</td>
                    <td>{f.action ?? ''}</td>
                    <td class="num">{f.bytes.toLocaleString('en-US')}</td>
                    <td class="num">{f.packets.toLocaleString('en-US')}</td>
                    <td>
                      {f.cloud ?? ''} {f.account ?? ''}
                    </td>
                  </tr>
                  {open === f.id && (
                    <tr class="flowdetail">
                      <td colSpan={8}>
                        <div class="fieldsets" data-testid="flow-fields">
                          <FieldList title="source (Kubernetes)" fields={{ addr: f.src.addr, port: f.src.port, ...f.src.k8s }} />
                          <FieldList title="destination (Kubernetes)" fields={{ addr: f.dst.addr, port: f.dst.port, ...f.dst.k8s }} />
                          <FieldList title="record (cloud fields)" fields={{ direction: f.direction, start: iso(f.start), end: iso(f.end), ...f.fields }} />
                        </div>
                      </td>
                    </tr>
                  )}
                </>
              ))}
            </tbody>
          </table>
        </>
      )}
    </>
  );
}

const n = (v: number | null) => (v === null ? '—' : Math.round(v).toLocaleString('en-US'));
const ago = (s: number | null) => (s === null ? '—' : s < 120 ? `${s.toFixed(0)} s` : s < 7200 ? `${(s / 60).toFixed(0)} min` : s < 172_800 ? `${(s / 3600).toFixed(1)} h` : `${(s / 86_400).toFixed(1)} d`);

export function HealthPage() {
  const { api, view, range, shape } = useApp();
  const filters = apiFilters(view.filters, shape.ops);
  const key = JSON.stringify([range, filters]);
  const health = useLoad(key, (signal) => api.request<PipelineHealth>('GET', HEALTH_PATH, undefined, signal));
  const letters = useLoad(key, (signal) =>
    shape.paths.includes(DEAD_LETTERS_PATH) ? api.request<DeadLetters>('GET', `${DEAD_LETTERS_PATH}?limit=50&from=${range.from}&to=${range.to}`, undefined, signal) : Promise.resolve<DeadLetters>({ available: false, letters: [] }),
  );
  const share = useLoad(key, (signal) => api.topN({ from: range.from, to: range.to, metric: 'flows', dimensions: ['src_cluster', 'dst_cluster'], filters, limit: 1000 }, signal));
  const h = health.data;
  return (
    <>
      <h2>Collectors</h2>
      <Status loading={health.loading} error={health.error} />
      {h && (
        <>
          <p class="meta">
            {h.mode} mode, as of {iso(Math.floor(h.at / 1000) * 1000)}
            {h.unreachable.length > 0 && <span class="error"> — no answer from {h.unreachable.join(', ')}</span>}
          </p>
          <table class="top" data-testid="health-sources">
            <thead>
              <tr>
                <th scope="col">cloud</th>
                <th scope="col">account</th>
                <th scope="col">source</th>
                <th scope="col" class="num">lag</th>
                <th scope="col">last read</th>
                <th scope="col" class="num">objects</th>
                <th scope="col" class="num">records</th>
                <th scope="col" class="num">errors</th>
                <th scope="col" class="num">dead letters</th>
              </tr>
            </thead>
            <tbody>
              {h.sources.map((s) => (
                <tr data-key={JSON.stringify([s.cloud, s.account, s.source])} data-records={s.records ?? ''} data-lag={s.lagSeconds ?? ''}>
                  <td>{s.cloud}</td>
                  <td>{s.account}</td>
                  <td>{s.source ?? 'all'}</td>
                  <td class="num">{ago(s.lagSeconds)}</td>
                  <td>{s.lastReadAt === null ? 'never' : iso(Math.floor(s.lastReadAt / 1000) * 1000)}</td>
                  <td class="num">{n(s.objectsRead)}</td>
                  <td class="num">{n(s.records)}</td>
                  <td class="num">{n(s.errors)}</td>
                  <td class="num">{n(s.deadLetters)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2>Enricher</h2>
          {h.enricher === null ? (
            <p class="empty">No enricher metrics configured.</p>
          ) : (
            <table class="top" data-testid="health-enricher">
              <tbody>
                <tr data-key="lagMessages" data-value={h.enricher.lagMessages ?? ''}><th scope="row">lag (messages, all tenants)</th><td class="num">{n(h.enricher.lagMessages)}</td></tr>
                <tr data-key="pendingRows" data-value={h.enricher.pendingRows ?? ''}><th scope="row">rows waiting for the store</th><td class="num">{n(h.enricher.pendingRows)}</td></tr>
                <tr data-key="attributedEnds" data-value={h.enricher.attributedEnds ?? ''}><th scope="row">flow ends attributed</th><td class="num">{n(h.enricher.attributedEnds)}</td></tr>
                <tr data-key="unattributedEnds" data-value={h.enricher.unattributedEnds ?? ''}><th scope="row">flow ends unattributed</th><td class="num">{n(h.enricher.unattributedEnds)}</td></tr>
              </tbody>
            </table>
          )}
        </>
      )}
      <h2>Unattributed share per cluster</h2>
      <Status loading={share.loading} error={share.error} empty={share.data?.rows.length === 0} />
      {share.data && (
        <table class="top" data-testid="health-unattributed">
          <thead>
            <tr>
              <th scope="col">cluster</th>
              <th scope="col" class="num">flows</th>
              <th scope="col" class="num">with an unattributed peer</th>
              <th scope="col" class="num">share</th>
            </tr>
          </thead>
          <tbody>
            {unattributedShare(share.data).map((c) => (
              <tr data-key={c.cluster} data-flows={c.flows} data-unattributed={c.unattributed}>
                <td>{c.cluster}</td>
                <td class="num">{n(c.flows)}</td>
                <td class="num">{n(c.unattributed)}</td>
                <td class="num">{(100 * c.share).toFixed(1)}%</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Dead letters</h2>
      <Status loading={letters.loading} error={letters.error} />
      {letters.data && !letters.data.available && <p class="empty">This server keeps no dead letters{h?.mode === 'embedded' ? ' (the embedded mode reports bad lines on its standard error)' : ''}.</p>}
      {letters.data && letters.data.available && (
        <table class="top" data-testid="health-deadletters">
          <thead>
            <tr>
              <th scope="col">at</th>
              <th scope="col">stage</th>
              <th scope="col">kind</th>
              <th scope="col">reason</th>
              <th scope="col">object</th>
              <th scope="col" class="num">line</th>
            </tr>
          </thead>
          <tbody>
            {letters.data.letters.map((l) => (
              <tr>
                <td>{iso(l.at)}</td>
                <td>{l.stage}</td>
                <td>{l.kind}</td>
                <td>{l.reason}</td>
                <td>{[l.cloud, l.account, l.bucket, l.object].filter((x) => x !== null).join(' ')}</td>
                <td class="num">{l.line ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
