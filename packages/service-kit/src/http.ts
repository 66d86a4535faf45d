import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What `/metrics` needs of a service's metrics: a prom-client registry. */
export interface MetricsSource {
  registry: { metrics(): Promise<string>; contentType: string };
}

export interface Health {
  /** false while the process cannot do its work (Kafka unreachable at start, stopping) */
  ok: boolean;
  detail: Record<string, unknown>;
}

export interface HttpOptions {
  /** a client must send its headers within this long (server.headersTimeout); absent: Node's default */
  headersTimeoutMs?: number | undefined;
  /** and its whole request (server.requestTimeout); absent: Node's default */
  requestTimeoutMs?: number | undefined;
  /**
   * `/readyz`: can take work now (started, caught up, not stopping). Kept apart from `/healthz` so a
   * long start-up (kube-meta catch-up, a slow first listing) is not taken for a dead process by a
   * liveness probe; absent: `/readyz` answers as `/healthz`.
   */
  ready?: (() => Health) | undefined;
}

export interface RunningHttp {
  server: Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

/**
 * `/metrics` (Prometheus text) and, given `health`, `/healthz` (200 or 503 with a JSON detail) and
 * `/readyz` (`opts.ready`, else the same as `/healthz`), on loopback by default. Without `health` it serves `/metrics` alone: the api's metrics listener,
 * whose health is answered on its public port.
 */
export async function startHttp(host: string, port: number, metrics: MetricsSource, health?: () => Health, opts: HttpOptions = {}): Promise<RunningHttp> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => { res.writeHead(200, { 'content-type': metrics.registry.contentType }); res.end(text); },
        (err: unknown) => { res.writeHead(500, { 'content-type': 'text/plain' }); res.end(`metrics failed: ${err instanceof Error ? err.message : String(err)}\n`); },
      );
      return;
    }
    const probe = !health || req.method !== 'GET' ? undefined
      : path === '/healthz' || path === '/health' ? health
        : path === '/readyz' ? opts.ready ?? health : undefined;
    if (probe) {
      const h = probe();
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: h.ok ? 'ok' : 'unavailable', ...h.detail }) + '\n');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end(health ? 'not found: GET /metrics, /healthz or /readyz\n' : 'not found: GET /metrics\n');
  });
  if (opts.headersTimeoutMs !== undefined) server.headersTimeout = opts.headersTimeoutMs;
  if (opts.requestTimeoutMs !== undefined) server.requestTimeout = opts.requestTimeoutMs;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    server,
    port: bound,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
