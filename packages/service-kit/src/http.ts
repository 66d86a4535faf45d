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

/** `/metrics` (Prometheus text) and `/healthz` (200 or 503 with a JSON detail), on loopback by default. */
export async function startHttp(host: string, port: number, metrics: MetricsSource, health: () => Health): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => { res.writeHead(200, { 'content-type': metrics.registry.contentType }); res.end(text); },
        (err: unknown) => { res.writeHead(500, { 'content-type': 'text/plain' }); res.end(`metrics failed: ${err instanceof Error ? err.message : String(err)}\n`); },
      );
      return;
    }
    if (req.method === 'GET' && (path === '/healthz' || path === '/health')) {
      const h = health();
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: h.ok ? 'ok' : 'unavailable', ...h.detail }) + '\n');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found: GET /metrics or /healthz\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    server,
    port: bound,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
