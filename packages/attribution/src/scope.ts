import { z } from 'zod';
import { CLOUDS } from '@sightline/flow';

/**
 * Which flows a cluster can appear in. Clusters in different accounts or networks may use the
 * same pod CIDR, so a flow is only ever looked up in the clusters of its own account and network.
 * An empty list means "not known": the cluster is a candidate for any account (or network)
 * of its cloud, and the attributor's ambiguity rule keeps it from stealing flows.
 */
export const ClusterScopeSchema = z.object({
  cloud: z.enum(CLOUDS),
  /** AWS account ids, GCP project ids (host project for Shared VPC), Azure subscription ids */
  accounts: z.array(z.string().min(1)).default([]),
  /** AWS VPC ids, GCP VPC network names, Azure VNet resource ids */
  networks: z.array(z.string().min(1)).default([]),
});
export type ClusterScope = z.infer<typeof ClusterScopeSchema>;

/** A flow side's scope: what its record says about account and network, null when it says nothing. */
export interface FlowScope {
  cloud: string;
  account: string | null;
  network: string | null;
}

export function scopeMatches(scope: ClusterScope, flow: FlowScope): boolean {
  if (scope.cloud !== flow.cloud) return false;
  if (flow.account !== null && scope.accounts.length > 0 && !scope.accounts.some((a) => eqi(a, flow.account!))) return false;
  if (flow.network !== null && scope.networks.length > 0 && !scope.networks.some((n) => eqi(n, flow.network!))) return false;
  return true;
}

// Azure ids come in any case (the same subscription appears upper case in flowLogResourceID)
const eqi = (a: string, b: string) => a === b || a.toLowerCase() === b.toLowerCase();

const AWS_KEY_ACCOUNT = /(?:^|\/)AWSLogs\/(?:aws-account-id=)?(\d{12})\//;

/**
 * The account an AWS flow-log object was delivered for, from its S3 key (`AWSLogs/<account>/...`
 * or Hive-style `AWSLogs/aws-account-id=<account>/...`); null when the key has neither. Where the
 * collector's batch meta is not at hand (local files), this is the object's account.
 */
export function awsAccountOfKey(key: string): string | null {
  return AWS_KEY_ACCOUNT.exec(key)?.[1] ?? null;
}
