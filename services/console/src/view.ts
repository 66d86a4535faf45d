import type { ApiFilter, Scalar } from './api.js';

/**
 * The view a URL holds: page, time range, filters and each page's own choices. It lives in the
 * hash (`#/map?from=now-1h&to=now&f=...`), so a view can be shared; the token never does.
 */
export const PAGES = ['map', 'top', 'series', 'flows', 'health'] as const;
export type Page = (typeof PAGES)[number];
export const PAGE_TITLES: Record<Page, string> = { map: 'Service map', top: 'Top talkers', series: 'Time series', flows: 'Flow explorer', health: 'Pipeline health' };

export interface Filter {
  dimension: string;
  op: string;
  values: string[];
}

export interface View {
  page: Page;
  from: string;
  to: string;
  metric: 'bytes' | 'flows' | 'packets';
  filters: Filter[];
  /** page choices: dims (top), dim (series), q (map search), sel (map selection), cursor (flows) */
  extra: Record<string, string>;
}

export const DEFAULT_VIEW: View = { page: 'map', from: 'now-1h/m', to: 'now/m', metric: 'bytes', filters: [], extra: {} };
const METRICS = ['bytes', 'flows', 'packets'] as const;

/** Filter values in the URL: `dimension~op~v1,v2` with each part percent-encoded by URLSearchParams. */
function parseFilter(s: string): Filter | null {
  const [dimension, op, rest] = s.split('~');
  if (!dimension || !op || rest === undefined) return null;
  return { dimension, op, values: rest.split(',').map(decodeURIComponent) };
}
function formatFilter(f: Filter): string {
  return `${f.dimension}~${f.op}~${f.values.map(encodeURIComponent).join(',')}`;
}

export function parseHash(hash: string): View {
  const h = hash.replace(/^#\/?/, '');
  const [p = '', q = ''] = h.split('?');
  const page = (PAGES as readonly string[]).includes(p) ? (p as Page) : DEFAULT_VIEW.page;
  const s = new URLSearchParams(q);
  const view: View = { ...DEFAULT_VIEW, page, filters: [], extra: {} };
  for (const [k, v] of s) {
    if (k === 'from') view.from = v;
    else if (k === 'to') view.to = v;
    else if (k === 'metric' && (METRICS as readonly string[]).includes(v)) view.metric = v as View['metric'];
    else if (k === 'f') {
      const f = parseFilter(v);
      if (f) view.filters.push(f);
    } else if (k !== 'token' && k !== 'access_token') view.extra[k] = v;
  }
  return view;
}

export function formatHash(v: View): string {
  const s = new URLSearchParams();
  s.set('from', v.from);
  s.set('to', v.to);
  s.set('metric', v.metric);
  for (const f of v.filters) s.append('f', formatFilter(f));
  for (const [k, x] of Object.entries(v.extra)) if (x !== '') s.set(k, x);
  return `#/${v.page}?${s.toString()}`;
}

const REL = /^now(?:-([0-9]{1,6})([smhdw]))?(?:\/([smhd]))?$/;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** `now`, `now-15m`, `now-24h/h`, an ISO time or epoch ms, to epoch ms on a whole second (what the API takes). */
export function resolveTime(s: string, now = Date.now()): number {
  const m = REL.exec(s.trim());
  let t: number;
  if (m) {
    t = now - (m[1] ? Number(m[1]) * UNIT_MS[m[2]!]! : 0);
    // `/h`: rounded down to the unit (UTC), as the API reads it; whole units let the rollups answer
    if (m[3]) t = Math.floor(t / UNIT_MS[m[3]]!) * UNIT_MS[m[3]]!;
  }
  else if (/^[0-9]{1,15}$/.test(s)) t = Number(s);
  else t = Date.parse(s);
  if (!Number.isFinite(t)) throw new Error(`not a time: ${s}`);
  return Math.floor(t / 1000) * 1000;
}

export function resolveRange(v: Pick<View, 'from' | 'to'>, now = Date.now()): { from: number; to: number } {
  const from = resolveTime(v.from, now);
  let to = resolveTime(v.to, now);
  if (to <= from) to = from + 1000;
  return { from, to };
}

export const NUMERIC_DIMENSIONS = new Set(['src_port', 'dst_port', 'service_port', 'protocol']);

/** A filter in the API's shape: ports and protocol as numbers, `(null)` as null. */
export function apiFilter(f: Filter, many: boolean): ApiFilter {
  const conv = (x: string): Scalar => (x === '(null)' ? null : NUMERIC_DIMENSIONS.has(f.dimension) && /^[0-9]+$/.test(x) ? Number(x) : x);
  return many ? { dimension: f.dimension, op: f.op, values: f.values.map(conv) } : { dimension: f.dimension, op: f.op, value: conv(f.values[0] ?? '') };
}

export function apiFilters(fs: Filter[], ops: { op: string; many: boolean }[]): ApiFilter[] {
  return fs.map((f) => apiFilter(f, ops.find((o) => o.op === f.op)?.many ?? f.values.length > 1));
}

export function formatValue(metric: string, v: number): string {
  if (metric === 'bytes') {
    const u = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
    let i = 0;
    let x = v;
    while (Math.abs(x) >= 1000 && i < u.length - 1) {
      x /= 1000;
      i++;
    }
    return `${i === 0 ? x.toFixed(0) : x.toFixed(x >= 100 ? 0 : x >= 10 ? 1 : 2)} ${u[i]}`;
  }
  return Math.round(v).toLocaleString('en-US');
}

export function keyText(v: Scalar | undefined): string {
  return v === null || v === undefined ? '(null)' : String(v);
}
