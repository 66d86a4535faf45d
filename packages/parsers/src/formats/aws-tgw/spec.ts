import { colIndex } from '@sightline/flow';
import { strAt } from '../../core/rows.js';
import type { RandomAccessFormatSpec, RowRules, Side, StreamFormatSpec } from '../../format-spec.js';
import { createAwsParquetParser } from '../aws-vpc-parquet/aws-parquet.js';
import { createAwsTextParser } from '../aws-vpc-text/aws-text.js';
import { looksLikeAwsHeader } from '../aws-vpc-text/spec.js';
import { AWS_TGW_FIELDS, awsTgwField, TGW_ONLY_NAMES } from './fields.js';

/**
 * AWS Transit Gateway flow logs: the VPC flow logs' file layout (a header line naming the fields,
 * one space-separated record per line, `-` where a field does not apply; gzip on S3; or Parquet)
 * and S3 key layout (`AWSLogs/<account>/vpcflowlogs/<region>/yyyy/mm/dd/...`, also Hive-style and
 * hourly), with fields of their own. Told from a VPC flow log by a field only Transit Gateway has
 * (`resource-type`, `tgw-*`, `packets-lost-*`); a custom format with none of them reads as a VPC
 * flow log, which it then is field for field.
 */

const C = {
  tgw: colIndex('tgw_id'),
  attachment: colIndex('tgw_attachment_id'),
  pair: colIndex('tgw_pair_attachment_id'),
  direction: colIndex('flow_direction'),
  src: colIndex('src_addr'),
  dst: colIndex('dst_addr'),
};
const SIDE = {
  src: { account: colIndex('tgw_src_vpc_account_id'), vpc: colIndex('tgw_src_vpc_id') },
  dst: { account: colIndex('tgw_dst_vpc_account_id'), vpc: colIndex('tgw_dst_vpc_id') },
};

/**
 * The attachment a side's traffic passes: a record is written at `tgw-attachment-id`, and
 * `tgw-pair-attachment-id` is the flow's other attachment. Ingress at the attachment: the source
 * came through it; egress: the destination is behind it. Null when the direction is not logged.
 */
function sideAttachment(b: Parameters<RowRules['scope']>[0], r: number, side: Side): string | null {
  const dir = strAt(b, C.direction, r);
  if (dir !== 'ingress' && dir !== 'egress') return null;
  const own = (dir === 'ingress') === (side === 'src');
  return strAt(b, own ? C.attachment : C.pair, r);
}

/**
 * Each side is scoped by its own VPC and that VPC's account (`tgw-src-vpc-id`,
 * `tgw-src-vpc-account-id`): both ends of one record can sit in different accounts. A side that
 * is not in a VPC (a VPN, Direct Connect or peering attachment) is scoped by the attachment it
 * came through, which no cluster lists among its networks: its on-premises addresses are never
 * taken for pods of a cluster whose networks are known.
 */
export const AWS_TGW_ROWS: RowRules = {
  addrColumns: { src: [C.src], dst: [C.dst] },
  scope(b, r, side) {
    const s = SIDE[side];
    const account = strAt(b, s.account, r);
    const vpc = strAt(b, s.vpc, r);
    return { account, network: vpc ?? sideAttachment(b, r, side) };
  },
  // the attachment that recorded the flow; a custom format without it, the transit gateway
  interfaceKey: (b, r) => strAt(b, C.attachment, r) ?? strAt(b, C.tgw, r),
};

const FIELDS = AWS_TGW_FIELDS.map((f) => f.name.replaceAll('-', '_'));
const HEADER_NAMES: ReadonlySet<string> = new Set(AWS_TGW_FIELDS.map((f) => f.name));

export const awsTgwText: StreamFormatSpec<'aws-tgw-text', 'aws'> = {
  id: 'aws-tgw-text',
  cloud: 'aws',
  title: 'AWS Transit Gateway flow logs, text (plain or gzip, default or custom format)',
  rowFormats: ['aws-tgw-text'],
  fields: FIELDS,
  access: 'stream',
  detect: (head) => looksLikeAwsHeader(head, HEADER_NAMES) && head.firstLine.trim().split(/\s+/).some((n) => TGW_ONLY_NAMES.has(n)),
  parse: createAwsTextParser({ format: 'aws-tgw-text', field: awsTgwField }),
  ...AWS_TGW_ROWS,
};

export const awsTgwParquet: RandomAccessFormatSpec<'aws-tgw-parquet', 'aws'> = {
  id: 'aws-tgw-parquet',
  cloud: 'aws',
  title: 'AWS Transit Gateway flow logs, Parquet',
  rowFormats: ['aws-tgw-parquet'],
  fields: FIELDS,
  access: 'random',
  detectColumns: (names) => names.some((n) => TGW_ONLY_NAMES.has(n)),
  parse: createAwsParquetParser({ format: 'aws-tgw-parquet', field: awsTgwField }),
  ...AWS_TGW_ROWS,
};

/** Both files formats of the Transit Gateway flow logs, in detection order (the registry's one line). */
export const AWS_TGW = [awsTgwText, awsTgwParquet] as const;
