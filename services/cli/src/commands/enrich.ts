import fs from 'node:fs';
import { z } from 'zod';
import { DEFAULT_LABEL_ALLOW_LIST, fromKubectlList } from '@sightline/kube-model';
import { Attributor, enrichedJsonLine, newAttributionStats, scopeFromObjects, type ClusterScope } from '@sightline/attribution';
import { LineWriter } from '../output.js';
import { parseFiles } from '../file-input.js';
import { commandOptions } from '../args.js';

const USAGE =
  'usage: sightline enrich --kube NAME=FILE [--kube NAME=FILE ...] [--scope NAME=ACCOUNT[/NETWORK]] [--labels KEY,KEY] [--stats] FLOWFILE...';


const NameValue = z
  .string()
  .regex(/^[^=]+=.+$/, 'expected NAME=VALUE')
  .transform((s) => {
    const i = s.indexOf('=');
    return { name: s.slice(0, i), value: s.slice(i + 1) };
  });

const EnrichOptions = z.object({
  kube: z.array(NameValue).min(1, 'at least one --kube NAME=FILE is required'),
  scope: z.array(NameValue).default([]),
  labels: z.string().optional(),
  stats: z.boolean().default(false),
  files: z.array(z.string()).min(1, 'at least one FLOWFILE is required'),
});

/**
 * `sightline enrich`: `sightline parse` plus the Kubernetes attribution of both ends, from
 * kubectl dumps of each cluster (point-in-time: lease intervals come from pod start times,
 * container finish times, phases and deletion timestamps). A cluster's scope is its cloud and,
 * for GKE/AKS, the project/subscription of its nodes; `--scope NAME=ACCOUNT[/NETWORK]` declares
 * it where the dump cannot tell (EKS: account and VPC id).
 */
export async function runEnrich(args: string[]): Promise<number> {
  const opts = commandOptions('enrich', USAGE, args,
    { kube: { type: 'string', multiple: true }, scope: { type: 'string', multiple: true }, labels: { type: 'string' }, stats: { type: 'boolean' } },
    EnrichOptions,
    (values, files) => ({ kube: values.kube ?? [], scope: values.scope, labels: values.labels, stats: values.stats, files }));
  if (opts === null) return 2;

  // unless --labels says otherwise, the labels kubetags keeps, so a file enriched here carries what the pipeline stores
  const labelAllowList = opts.labels !== undefined ? opts.labels.split(',').map((s) => s.trim()).filter(Boolean) : DEFAULT_LABEL_ALLOW_LIST;
  const attributor = new Attributor({ labelAllowList });
  const declared = new Map(opts.scope.map((s) => [s.name, s.value]));
  for (const name of declared.keys()) {
    if (!opts.kube.some((k) => k.name === name)) {
      process.stderr.write(`sightline enrich: --scope ${name}: no --kube ${name}=FILE\n`);
      return 2;
    }
  }
  for (const { name, value: file } of opts.kube) {
    try {
      const dump = fromKubectlList(JSON.parse(await fs.promises.readFile(file, 'utf8')) as unknown, { source: file, labelAllowList });
      const found = scopeFromObjects(dump.objects);
      if (!found) throw new Error('no node with an aws://, gce:// or azure:// providerID: cannot tell which cloud the cluster runs in');
      const scope: ClusterScope = { ...found };
      const d = declared.get(name);
      if (d !== undefined) {
        const [account, network] = d.split('/', 2);
        if (account) scope.accounts = [account];
        if (network) scope.networks = [network];
      }
      attributor.addCluster(name, scope).load(dump.objects);
    } catch (err) {
      const msg = err instanceof SyntaxError ? `not JSON: ${err.message}` : (err as Error).message;
      process.stderr.write(`sightline enrich: --kube ${name}=${file}: ${msg.startsWith(file) ? msg.slice(file.length).replace(/^:\s*/, '') : msg}\n`);
      return 2;
    }
  }

  const out = new LineWriter(process.stdout);
  const attribution = newAttributionStats();
  const { total, failed } = await parseFiles(opts.files, async (batch) => {
    attributor.attributeBatch(batch, attribution);
    if (out.closed) return;
    for (let i = 0; i < batch.length; i++) {
      const wait = out.line(enrichedJsonLine(batch, i));
      if (wait) await wait;
    }
  });
  await out.flush();
  if (opts.stats) {
    process.stderr.write(JSON.stringify({ ...total, attributed_src: attribution.attributedSrc, attributed_dst: attribution.attributedDst }) + '\n');
  }
  return failed > 0 ? 1 : 0;
}
