import type { FormatId } from './types.js';

/**
 * Which flow-log format a (decompressed) head of an object is. Content decides; the object
 * name only breaks ties where content is ambiguous (an Azure blob prefix that is nothing but
 * `{"records":[` could be either Azure format until a record arrives).
 *
 * The head should be the first few KiB; detection looks at the first record only.
 */
export function detectFormat(head: Uint8Array, name = ''): FormatId | null {
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x41 && head[2] === 0x52 && head[3] === 0x31) return 'aws-vpc-parquet'; // PAR1
  const text = latin1Prefix(head, 16 * 1024);
  const trimmed = text.replace(/^\uFEFF/, '').trimStart();
  if (trimmed.startsWith('{')) {
    if (/^\{\s*"records"\s*:/.test(trimmed)) return azureKind(trimmed, name);
    // GCP LogEntry: one JSON object per line, a jsonPayload with a connection
    if (/"jsonPayload"\s*:/.test(firstLine(trimmed)) || /vpc_flows/.test(firstLine(trimmed))) return 'gcp-vpc-json';
    if (/"connection"\s*:\s*\{/.test(firstLine(trimmed))) return 'gcp-vpc-json';
    return null;
  }
  // AWS text: a header line of known field names separated by single spaces
  const header = firstLine(trimmed);
  const names = header.trim().split(/\s+/);
  const known = names.filter((n) => AWS_HEADER_HINTS.has(n)).length;
  if (names.length > 0 && known >= Math.min(3, names.length) && known * 2 >= names.length) return 'aws-vpc-text';
  if (/\.log(\.gz)?$/.test(name) && /vpcflowlogs/i.test(name)) return 'aws-vpc-text';
  return null;
}

function azureKind(text: string, name: string): FormatId {
  if (/"flowRecords"\s*:/.test(text) || /"flowLogVersion"\s*:/.test(text) || /FlowLogFlowEvent/.test(text)) return 'azure-vnet';
  if (/"NetworkSecurityGroupFlowEvent|"flowTuples"|"Version"\s*:/.test(text)) return 'azure-nsg';
  // only the opening bracket so far: the container name tells (insights-logs-flowlogflowevent vs ...networksecuritygroupflowevent)
  if (/flowlogflowevent|flowLogResourceID=/i.test(name)) return 'azure-vnet';
  return 'azure-nsg';
}

function firstLine(s: string): string {
  const nl = s.indexOf('\n');
  return nl === -1 ? s : s.slice(0, nl);
}

function latin1Prefix(b: Uint8Array, max: number): string {
  return Buffer.from(b.buffer, b.byteOffset, Math.min(b.length, max)).toString('latin1');
}

/** Names that only an AWS flow-log header has; enough to tell a header from data or garbage. */
const AWS_HEADER_HINTS = new Set([
  'version', 'account-id', 'interface-id', 'srcaddr', 'dstaddr', 'srcport', 'dstport', 'protocol', 'packets', 'bytes',
  'start', 'end', 'action', 'log-status', 'vpc-id', 'subnet-id', 'instance-id', 'tcp-flags', 'type', 'pkt-srcaddr',
  'pkt-dstaddr', 'region', 'az-id', 'sublocation-type', 'sublocation-id', 'pkt-src-aws-service', 'pkt-dst-aws-service',
  'flow-direction', 'traffic-path', 'ecs-cluster-arn', 'ecs-cluster-name', 'ecs-container-instance-arn',
  'ecs-container-instance-id', 'ecs-container-id', 'ecs-second-container-id', 'ecs-service-name',
  'ecs-task-definition-arn', 'ecs-task-arn', 'ecs-task-id', 'reject-reason', 'resource-id', 'encryption-status',
]);
