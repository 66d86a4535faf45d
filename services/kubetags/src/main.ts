import { KubeConfig } from '@kubernetes/client-node';
import { Agent } from './agent.js';
import { loadConfig } from './config.js';
import { startHttp } from '@sightline/service-kit/http';
import { createLogger } from './log.js';
import { AgentMetrics } from './metrics.js';
import { HttpsTransport } from './transport.js';
import { configFileArg } from '@sightline/config';

/** `node dist/main.js --config /etc/kubetags/config.json`: runs until SIGTERM, then sends what is queued. */
async function main(): Promise<void> {
  const file = configFileArg('kubetags', 'KUBETAGS_CONFIG');
  const config = loadConfig(file);
  const log = createLogger({ level: config.logLevel });
  const metrics = new AgentMetrics();
  const kc = new KubeConfig();
  if (config.kubeconfig) kc.loadFromFile(config.kubeconfig);
  else kc.loadFromCluster();
  const transport = new HttpsTransport(config.backend);
  const agent = new Agent(config, { kc, transport, log, metrics });
  // liveness: the process runs; readiness: listed and watching
  const http = await startHttp(config.http.host, config.http.port, metrics, () => ({ ok: true, detail: {} }), {
    ready: () => ({ ok: agent.synced, detail: { epoch: agent.currentEpoch, queued: agent.sender.queuedObjects, sinceLastAcceptedSeconds: agent.sender.sinceLastOk } }),
  });
  log.info({ cluster: config.cluster, backend: config.backend.url, tenant: config.backend.tenant, http: http.port }, 'kubetags: starting');
  await agent.start();
  let stopping = false;
  const stop = (sig: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal: sig }, 'kubetags: stopping');
    agent.stop().then(() => http.close()).then(() => process.exit(0), (err: unknown) => { log.error({ err: String(err) }, 'kubetags: stop failed'); process.exit(1); });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`kubetags: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
