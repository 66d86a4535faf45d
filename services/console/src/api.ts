/**
 * The query API as the console uses it. The read token lives in memory and in sessionStorage
 * (gone when the tab closes), is sent as an Authorization header on every request and never put
 * in a URL, so it is in no history entry, Referer or server access log.
 */
const TOKEN_KEY = 'sightline.readToken';

export type Scalar = string | number | null;
export interface ApiFilter {
  dimension: string;
  op: string;
  value?: Scalar;
  values?: Scalar[];
}

export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly path?: string) {
    super(message);
  }
}

export interface TopNAnswer {
  rollup: string;
  metric: string;
  from: number;
  to: number;
  dimensions: string[];
  rows: { key: Record<string, Scalar>; value: number }[];
}
export interface SeriesAnswer {
  rollup: string;
  metric: string;
  from: number;
  to: number;
  step: number;
  points: { t: number; value: number }[];
}

export function savedToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}
export function saveToken(token: string | null): void {
  try {
    if (token === null) sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    // storage refused (private mode): the token stays in memory for this page only
  }
}

export class Api {
  constructor(
    private readonly token: string,
    private readonly onUnauthorized: () => void = () => undefined,
  ) {}

  async request<T>(method: 'GET' | 'POST', path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const init: RequestInit = { method, headers, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' };
    if (body !== undefined) init.body = JSON.stringify(body);
    if (signal) init.signal = signal;
    const res = await fetch(path, init);
    const text = await res.text();
    let json: unknown = null;
    try {
      json = text === '' ? null : JSON.parse(text);
    } catch {
      throw new ApiError(res.status, `${path}: answer is not JSON (HTTP ${res.status})`);
    }
    if (!res.ok) {
      if (res.status === 401) this.onUnauthorized();
      const e = (json ?? {}) as { message?: string; path?: string };
      throw new ApiError(res.status, e.message ?? `HTTP ${res.status}`, e.path);
    }
    return json as T;
  }

  topN(q: { from: number; to: number; metric: string; dimensions: string[]; filters: ApiFilter[]; limit: number }, signal?: AbortSignal): Promise<TopNAnswer> {
    return this.request('POST', '/v1/query/topn', q, signal);
  }
  timeSeries(q: { from: number; to: number; metric: string; filters: ApiFilter[]; step?: number }, signal?: AbortSignal): Promise<SeriesAnswer> {
    return this.request('POST', '/v1/query/timeseries', q, signal);
  }
  /** Checks a token: a cheap query over one second. */
  async check(): Promise<void> {
    const now = Math.floor(Date.now() / 1000) * 1000;
    await this.topN({ from: now - 1000, to: now, metric: 'flows', dimensions: ['action'], filters: [], limit: 1 });
  }
}

/** What the API says it takes, from its OpenAPI document (public, no token): dimensions, filter ops, routes. */
export interface ApiShape {
  dimensions: string[];
  ops: { op: string; many: boolean }[];
  paths: string[];
}

interface JsonSchema {
  enum?: string[];
  const?: string;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
}

export async function loadApiShape(): Promise<ApiShape> {
  const res = await fetch('/v1/openapi.json', { credentials: 'omit' });
  if (!res.ok) throw new ApiError(res.status, `/v1/openapi.json: HTTP ${res.status}`);
  const doc = (await res.json()) as { paths?: Record<string, unknown>; components?: { schemas?: Record<string, JsonSchema> } };
  const topn = doc.components?.schemas?.TopNRequest;
  const dimensions = topn?.properties?.dimensions?.items?.enum ?? [];
  const variants = topn?.properties?.filters?.items?.anyOf ?? topn?.properties?.filters?.items?.oneOf ?? [];
  const ops = variants
    .map((v) => ({ op: v.properties?.op?.const ?? '', many: v.properties?.values !== undefined }))
    .filter((o) => o.op !== '');
  return { dimensions, ops, paths: Object.keys(doc.paths ?? {}) };
}
