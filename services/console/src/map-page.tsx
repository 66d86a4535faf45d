import { useEffect, useRef, useState } from 'preact/hooks';
import type { Api, ApiFilter, Scalar } from './api.js';
import { Chart } from './chart.js';
import { useApp } from './context.js';
import { loadGraph, type MapData, type MapNode } from './graph-source.js';
import { useLoad } from './hooks.js';
import { legend, renderMap, SPECIAL_COLORS, type MapController, type Selection } from './map-render.js';
import { loadSeries, MetricSelect, Status, TopTable } from './pages.js';
import { apiFilters, formatValue } from './view.js';

/** The filters that pick one node's traffic on one side (`src` or `dst`). */
export function nodeFilters(n: MapNode, side: 'src' | 'dst'): ApiFilter[] {
  if (n.kind !== 'workload') return [{ dimension: `${side}_cluster`, op: 'eq', value: null }];
  const f: ApiFilter[] = [
    { dimension: `${side}_cluster`, op: 'eq', value: n.cluster },
    { dimension: `${side}_workload`, op: 'eq', value: n.workload },
  ];
  if (n.namespace !== null) f.push({ dimension: `${side}_namespace`, op: 'eq', value: n.namespace });
  return f;
}

function parseSel(s: string | undefined): Selection {
  if (!s) return null;
  const [k, a, b] = s.split('|');
  if (k === 'n' && a) return { kind: 'node', id: a };
  if (k === 'e' && a && b) return { kind: 'edge', source: a, target: b };
  return null;
}
function formatSel(s: Selection): string {
  return s === null ? '' : s.kind === 'node' ? `n|${s.id}` : `e|${s.source}|${s.target}`;
}

function Details(props: { data: MapData; sel: Exclude<Selection, null>; base: { from: number; to: number; metric: string; filters: ApiFilter[] }; api: Api }) {
  const { sel, base, api, data } = props;
  const node = (id: string) => data.nodes.find((n) => n.id === id);
  const key = JSON.stringify([sel, base]);
  const r = useLoad(key, async (signal) => {
    const q = (extra: ApiFilter[]) => ({ ...base, filters: [...base.filters, ...extra] });
    if (sel.kind === 'node') {
      const n = node(sel.id);
      if (!n) throw new Error(`${sel.id} is not on the map`);
      const out = nodeFilters(n, 'src');
      const inn = nodeFilters(n, 'dst');
      const [to, from, ports, actOut, actIn, series] = await Promise.all([
        api.topN({ ...q(out), dimensions: ['dst_cluster', 'dst_namespace', 'dst_workload'], limit: 10 }, signal),
        api.topN({ ...q(inn), dimensions: ['src_cluster', 'src_namespace', 'src_workload'], limit: 10 }, signal),
        api.topN({ ...q(inn), dimensions: ['dst_port', 'protocol'], limit: 10 }, signal),
        api.topN({ ...q(out), dimensions: ['action'], limit: 5 }, signal),
        api.topN({ ...q(inn), dimensions: ['action'], limit: 5 }, signal),
        Promise.all([api.timeSeries(q(out), signal), api.timeSeries(q(inn), signal)]),
      ]);
      const mix = new Map<Scalar, number>();
      for (const a of [actOut, actIn]) for (const row of a.rows) mix.set(row.key.action ?? null, (mix.get(row.key.action ?? null) ?? 0) + row.value);
      return {
        title: n.kind === 'workload' ? `${n.cluster} / ${n.namespace} / ${n.workload}` : n.label,
        tables: [
          { caption: 'Sends to', a: to },
          { caption: 'Receives from', a: from },
          { caption: 'Ports it serves', a: ports },
          { caption: 'Action mix (sent + received)', a: { ...actOut, rows: [...mix.entries()].map(([k, v]) => ({ key: { action: k }, value: v })) } },
        ],
        series: [
          { label: 'sent', points: series[0].points },
          { label: 'received', points: series[1].points },
        ],
      };
    }
    const s = node(sel.source);
    const t = node(sel.target);
    if (!s || !t) throw new Error('the edge is not on the map');
    const f = [...nodeFilters(s, 'src'), ...nodeFilters(t, 'dst')];
    const [talkers, ports, actions, series] = await Promise.all([
      api.topN({ ...q(f), dimensions: ['src_pod', 'dst_pod'], limit: 10 }, signal),
      api.topN({ ...q(f), dimensions: ['dst_port', 'protocol'], limit: 10 }, signal),
      api.topN({ ...q(f), dimensions: ['action'], limit: 5 }, signal),
      api.timeSeries(q(f), signal),
    ]);
    return {
      title: `${s.label} → ${t.label}`,
      tables: [
        { caption: 'Talkers (pods)', a: talkers },
        { caption: 'Ports', a: ports },
        { caption: 'Action mix', a: actions },
      ],
      series: [{ label: base.metric, points: series.points }],
    };
  });
  return (
    <aside class="details" aria-label="Selection details" data-testid="map-details">
      <Status loading={r.loading} error={r.error} />
      {r.data && (
        <>
          <h2>{r.data.title}</h2>
          <Chart series={r.data.series} metric={base.metric} height={140} title={`${base.metric} over time`} />
          {r.data.tables.map((t) => (
            <TopTable answer={t.a} testid={`details-${t.caption.split(' ')[0]!.toLowerCase()}`} caption={t.caption} drill />
          ))}
        </>
      )}
    </aside>
  );
}

export function MapPage() {
  const { api, view, setView, range, shape } = useApp();
  const base = { from: range.from, to: range.to, metric: view.metric, filters: apiFilters(view.filters, shape.ops) };
  const r = useLoad(JSON.stringify(base), (signal) => loadGraph(api, shape, { ...base, limit: 1000 }, signal));
  const box = useRef<HTMLDivElement>(null);
  const ctl = useRef<MapController | null>(null);
  const sel = parseSel(view.extra.sel);
  const [q, setQ] = useState(view.extra.q ?? '');
  const [hits, setHits] = useState<number | null>(null);
  const setSel = (s: Selection) => setView({ ...view, extra: { ...view.extra, sel: formatSel(s) } });
  // the latest view for sigma's click handlers, which are bound once per graph
  const latest = useRef(setSel);
  latest.current = setSel;
  useEffect(() => {
    if (!r.data || !box.current) return;
    const c = renderMap(box.current, r.data, { select: (s) => latest.current(s) });
    ctl.current = c;
    box.current.dataset.nodes = String(c.graph.order);
    box.current.dataset.edges = String(c.graph.size);
    return () => {
      c.destroy();
      ctl.current = null;
    };
  }, [r.data]);
  useEffect(() => ctl.current?.select(sel), [view.extra.sel, r.data]);
  useEffect(() => {
    if (ctl.current) setHits(q === '' ? null : ctl.current.search(q));
  }, [q, r.data]);
  const edges = r.data ? [...r.data.edges].sort((a, b) => b.value - a.value).slice(0, 15) : [];
  const label = (id: string) => r.data?.nodes.find((n) => n.id === id)?.label ?? id;
  return (
    <>
      <form class="controls" aria-label="Map options" onSubmit={(e) => { e.preventDefault(); setView({ ...view, extra: { ...view.extra, q } }); }}>
        <MetricSelect />
        <label>
          Search <input type="search" value={q} placeholder="workload, namespace, cluster" onInput={(e) => setQ(e.currentTarget.value)} aria-describedby="hits" />
        </label>
        <span id="hits" aria-live="polite">{hits === null ? '' : `${hits} matching`}</span>
        {sel && <button type="button" onClick={() => setSel(null)}>Clear selection</button>}
      </form>
      <Status loading={r.loading} error={r.error} empty={r.data?.edges.length === 0} />
      {r.data && (
        <p class="meta" data-testid="map-summary" data-nodes={r.data.nodes.length} data-edges={r.data.edges.length} data-total={r.data.edges.reduce((a, e) => a + e.value, 0)}>
          {r.data.nodes.length} nodes, {r.data.edges.length} edges, {formatValue(view.metric, r.data.edges.reduce((a, e) => a + e.value, 0))} in all
          {r.data.rollup ? `, from the ${r.data.rollup} table` : ''}
          {r.data.truncated ? ' — the lightest edges are left out (narrow the filters)' : ''}
        </p>
      )}
      {r.data && (
        <ul class="legend" aria-label="Clusters">
          {[...legend(r.data), { cluster: 'internet', color: SPECIAL_COLORS.internet }, { cluster: 'unattributed', color: SPECIAL_COLORS.unattributed }].map((l) => (
            <li>
              <span class="swatch" style={{ background: l.color }} />
              {l.cluster}
            </li>
          ))}
        </ul>
      )}
      <div class="maprow">
        <div class="map" ref={box} data-testid="map-canvas" aria-label="Service map (the edge list below can be used with the keyboard)" role="img" />
        {sel && r.data && <Details data={r.data} sel={sel} base={base} api={api} />}
      </div>
      {r.data && (
        <table class="top" data-testid="map-edges">
          <caption>Heaviest edges</caption>
          <thead>
            <tr>
              <th scope="col">from</th>
              <th scope="col">to</th>
              <th scope="col" class="num">{view.metric}</th>
            </tr>
          </thead>
          <tbody>
            {edges.map((e) => (
              <tr data-key={JSON.stringify([e.source, e.target])} data-value={e.value} aria-selected={sel?.kind === 'edge' && sel.source === e.source && sel.target === e.target}>
                <td>
                  <button type="button" class="link" onClick={() => setSel({ kind: 'node', id: e.source })}>{label(e.source)}</button>
                </td>
                <td>
                  <button type="button" class="link" onClick={() => setSel({ kind: 'node', id: e.target })}>{label(e.target)}</button>
                </td>
                <td class="num">
                  <button type="button" class="link" aria-label={`Edge ${label(e.source)} to ${label(e.target)}: ${formatValue(view.metric, e.value)}`} onClick={() => setSel({ kind: 'edge', source: e.source, target: e.target })}>
                    {formatValue(view.metric, e.value)}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}


