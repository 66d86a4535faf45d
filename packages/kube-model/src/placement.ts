import { z } from 'zod';

/**
 * The clouds, written out once: a node's placement, a cluster's and a source's configuration,
 * and the flow record (@sightline/flow's CLOUDS is this list; the parsers' format registry checks
 * its formats' clouds are the same set). Here because kube-model is the one package below both
 * the record and kubetags and the configuration, which do not depend on @sightline/flow.
 */
export const CLOUD_NAMES = ['aws', 'gcp', 'azure'] as const;
export const CloudName = z.enum(CLOUD_NAMES);
export type CloudName = z.infer<typeof CloudName>;

/**
 * Where a node runs, read from its providerID. AWS providerIDs carry no account (the
 * cluster's configuration supplies account and VPC); GCE ones carry the project and Azure
 * ones the subscription, which are the accounts their flow logs are keyed by.
 */
export const PlacementSchema = z.object({
  cloud: CloudName,
  /** GCP project id or Azure subscription id (lower case); null for AWS */
  account: z.string().nullable(),
  zone: z.string().nullable(),
  /** EC2 instance id, GCE instance name, Azure VM / VMSS instance name */
  instance: z.string().nullable(),
});
export type Placement = z.infer<typeof PlacementSchema>;

/** `aws:///us-east-1a/i-0abc`, `aws:///i-0abc` (older clusters), `gce://project/zone/name`, `azure:///subscriptions/…`; null for anything else (kind, bare metal). */
export function parseProviderId(providerID: string | null | undefined): Placement | null {
  if (!providerID) return null;
  const m = /^([a-z]+):\/\/(.*)$/.exec(providerID);
  if (!m) return null;
  const [, scheme, rest] = m as unknown as [string, string, string];
  const parts = rest.split('/');
  switch (scheme) {
    case 'aws': {
      // "aws:///zone/i-x": rest starts with "/" (empty host)
      const p = parts.filter((x) => x !== '');
      const instance = p.at(-1) ?? null;
      if (!instance || !/^i-[0-9a-f]+$/.test(instance)) return null;
      return { cloud: 'aws', account: null, zone: p.length >= 2 ? p[p.length - 2]! : null, instance };
    }
    case 'gce': {
      if (parts.length !== 3 || parts.some((x) => x === '')) return null;
      return { cloud: 'gcp', account: parts[0]!, zone: parts[1]!, instance: parts[2]! };
    }
    case 'azure': {
      // azure:///subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Compute/virtualMachines/<vm>
      // or .../virtualMachineScaleSets/<vmss>/virtualMachines/<n>
      const p = parts.filter((x) => x !== '');
      const lower = p.map((x) => x.toLowerCase());
      const si = lower.indexOf('subscriptions');
      if (si === -1 || !p[si + 1]) return null;
      const vmss = lower.indexOf('virtualmachinescalesets');
      const vm = lower.lastIndexOf('virtualmachines');
      const instance = vmss !== -1 && p[vmss + 1] ? `${p[vmss + 1]}_${p[vm + 1] ?? ''}` : vm !== -1 ? (p[vm + 1] ?? null) : null;
      return { cloud: 'azure', account: p[si + 1]!.toLowerCase(), zone: null, instance };
    }
    default:
      return null;
  }
}
