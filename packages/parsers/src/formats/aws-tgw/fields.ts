import { AWS_VPC_FIELD_DEFS, awsFieldLookup, awsFieldSpecs, type AwsFieldDef, type AwsFieldSpec } from '../aws-vpc-text/aws-fields.js';

/**
 * The AWS Transit Gateway flow-log fields (Transit Gateway guide, "Transit Gateway Flow Log
 * records", available fields), in the order of the table, which is the order of the default
 * format ("all version 2 to version 6 fields, in the order shown"). The v2-v5 fields are the VPC
 * flow logs' own and land in the same columns; the v6 ones are Transit Gateway's. There is no
 * `action` and no `interface-id`: a transit gateway neither accepts nor rejects, and it reports
 * per attachment.
 */
const TGW_ONLY: readonly AwsFieldDef[] = [
  ['resource-type', 'string', 6],
  ['tgw-id', 'string', 6],
  ['tgw-attachment-id', 'string', 6],
  ['tgw-src-vpc-account-id', 'string', 6],
  ['tgw-dst-vpc-account-id', 'string', 6],
  ['tgw-src-vpc-id', 'string', 6],
  ['tgw-dst-vpc-id', 'string', 6],
  ['tgw-src-subnet-id', 'string', 6],
  ['tgw-dst-subnet-id', 'string', 6],
  ['tgw-src-eni', 'string', 6],
  ['tgw-dst-eni', 'string', 6],
  ['tgw-src-az-id', 'string', 6],
  ['tgw-dst-az-id', 'string', 6],
  ['tgw-pair-attachment-id', 'string', 6],
  ['packets-lost-no-route', 'int', 6],
  ['packets-lost-blackhole', 'int', 6],
  ['packets-lost-mtu-exceeded', 'int', 6],
  ['packets-lost-ttl-expired', 'int', 6],
];

/** The default format: every field, in this order. */
export const AWS_TGW_DEFAULT_FORMAT: readonly string[] = [
  'version', 'resource-type', 'account-id', 'tgw-id', 'tgw-attachment-id', 'tgw-src-vpc-account-id',
  'tgw-dst-vpc-account-id', 'tgw-src-vpc-id', 'tgw-dst-vpc-id', 'tgw-src-subnet-id', 'tgw-dst-subnet-id',
  'tgw-src-eni', 'tgw-dst-eni', 'tgw-src-az-id', 'tgw-dst-az-id', 'tgw-pair-attachment-id', 'srcaddr', 'dstaddr',
  'srcport', 'dstport', 'protocol', 'packets', 'bytes', 'start', 'end', 'log-status', 'type',
  'packets-lost-no-route', 'packets-lost-blackhole', 'packets-lost-mtu-exceeded', 'packets-lost-ttl-expired',
  'tcp-flags', 'region', 'flow-direction', 'pkt-src-aws-service', 'pkt-dst-aws-service',
];

const SHARED = new Map(AWS_VPC_FIELD_DEFS.map((d) => [d[0], d]));
const OWN = new Map(TGW_ONLY.map((d) => [d[0], d]));

export const AWS_TGW_FIELDS: readonly AwsFieldSpec[] = awsFieldSpecs(
  AWS_TGW_DEFAULT_FORMAT.map((name) => {
    const d = OWN.get(name) ?? SHARED.get(name);
    if (d === undefined) throw new Error(`Transit Gateway field ${name} has no definition`);
    return d;
  }),
);

/** A Transit Gateway flow-log field by header (`tgw-src-vpc-id`) or Parquet column name (`tgw_src_vpc_id`). */
export const awsTgwField: (name: string) => AwsFieldSpec | undefined = awsFieldLookup(AWS_TGW_FIELDS);

/** Names only a Transit Gateway flow log has: one of them in a header or Parquet schema tells it from a VPC flow log. */
export const TGW_ONLY_NAMES: ReadonlySet<string> = new Set(TGW_ONLY.flatMap(([n]) => [n, n.replaceAll('-', '_')]));
