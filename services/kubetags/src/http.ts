import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AgentMetrics } from './metrics.js';

export interface Probe {
  ok: boolean;
  detail: Record<string, unknown>;
}

/** `/metrics`, `/healthz` (liveness) and `/readyz` (listed and watching). */
export async function startHttp(host: string, port: number, metrics: AgentMetrics, probes: { live: () => Probe; ready: () => Probe }): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => { res.writeHead(200, { 'content-type': metrics.registry.contentType }); res.end(text); },
        (err: unknown) => { res.writeHead(500, { 'content-type': 'text/plain' }); res.end(`metrics failed: ${err instanceof Error ? err.message : String(err)}\n`); },
      );
      return;
    }
    const probe = req.method === 'GET' && path === '/healthz' ? probes.live : req.method === 'GET' && path === '/readyz' ? probes.ready : null;
    if (probe) {
      const p = probe();
      res.writeHead(p.ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: p.ok ? 'ok' : 'unavailable', ...p.detail }) + '\n');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found: GET /metrics, /healthz or /readyz\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
