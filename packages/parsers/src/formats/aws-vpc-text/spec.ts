import { colIndex } from '@sightline/flow';
import { strAt } from '../../core/rows.js';
import type { DetectHead, RowRules, StreamFormatSpec } from '../../format-spec.js';
import { AWS_FIELDS } from './aws-fields.js';
import { parseAwsText } from './aws-text.js';

/** `account-id` of interfaces that AWS services create (load balancers, VPC endpoints, NAT gateways). */
export const AWS_UNKNOWN_ACCOUNT = 'unknown';

const C = {
  account: colIndex('account'),
  vpc: colIndex('vpc_id'),
  eni: colIndex('interface_id'),
  src: colIndex('src_addr'),
  dst: colIndex('dst_addr'),
  pktSrc: colIndex('pkt_srcaddr'),
  pktDst: colIndex('pkt_dstaddr'),
};

/**
 * VPC flow-log rows (text and Parquet alike): reported per interface (ENI); a side is looked up
 * by its packet-level address first (`pkt-srcaddr`: the pod behind a secondary IP or a NAT), and
 * scoped by the record's account and VPC. An `account-id` of `unknown` (an AWS service's
 * interface) stands for the account the object was delivered for: the flow log that saw it is
 * the tenant's, and the interface sits in one of its VPCs. Without that account it stays
 * `unknown` and matches no account-scoped cluster (never widened to every account).
 */
export const AWS_VPC_ROWS: RowRules = {
  addrColumns: { src: [C.pktSrc, C.src], dst: [C.pktDst, C.dst] },
  scope(b, r, _side, objectAccount) {
    let account = strAt(b, C.account, r);
    if (objectAccount !== null && account === AWS_UNKNOWN_ACCOUNT) account = objectAccount;
    return { account, network: strAt(b, C.vpc, r) };
  },
  interfaceKey: (b, r) => strAt(b, C.eni, r),
};

/** Names only an AWS VPC flow-log header has; enough to tell a header from data or garbage. */
const HEADER_NAMES: ReadonlySet<string> = new Set(AWS_FIELDS.map((f) => f.name));

/** A header line of known field names separated by spaces; or, failing that, a `vpcflowlogs` `.log[.gz]` object. */
export function looksLikeAwsHeader(head: DetectHead, names: ReadonlySet<string>): boolean {
  if (head.text.startsWith('{')) return false;
  const fields = head.firstLine.trim().split(/\s+/);
  const known = fields.filter((n) => names.has(n)).length;
  return fields.length > 0 && known >= Math.min(3, fields.length) && known * 2 >= fields.length;
}

export const awsVpcText: StreamFormatSpec<'aws-vpc-text', 'aws'> = {
  id: 'aws-vpc-text',
  cloud: 'aws',
  title: 'AWS VPC flow logs, text (plain or gzip, default or custom format)',
  rowFormats: ['aws-vpc-text'],
  cloudDefault: true,
  fields: AWS_FIELDS.map((f) => f.name.replaceAll('-', '_')),
  access: 'stream',
  detect: (head) =>
    looksLikeAwsHeader(head, HEADER_NAMES) || (!head.text.startsWith('{') && /\.log(\.gz)?$/.test(head.name) && /vpcflowlogs/i.test(head.name)),
  parse: parseAwsText,
  ...AWS_VPC_ROWS,
};
