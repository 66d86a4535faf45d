import { colIndex } from '@sightline/flow';

/**
 * The AWS VPC flow-log fields, versions 2 to 8 plus later names seen in third-party copies,
 * and how each lands in the normalized record. Shared by the text and the Parquet parser so
 * both produce the same columns from the same field.
 */

/** How a source field is decoded. Several kinds also fill a common column (account, src_addr, ...). */
export type AwsFieldKind =
  /** non-negative integer, optional upper bound */
  | 'int'
  /** Unix seconds, held as epoch ms */
  | 'time'
  /** text, kept as logged */
  | 'string'
  /** IP address, normalized (RFC 5952 for IPv6) */
  | 'addr'
  /** account-id: also the common `account` */
  | 'account'
  /** srcaddr / dstaddr: also the common `src_addr` / `dst_addr` */
  | 'srcaddr'
  | 'dstaddr'
  /** ACCEPT | REJECT -> accept | reject; only the common `action` column exists */
  | 'action'
  /** OK | NODATA | SKIPDATA; NODATA and SKIPDATA rows are counted, never emitted */
  | 'log_status'
  /** ingress | egress: also the common `direction` */
  | 'flow_direction';

export interface AwsFieldSpec {
  /** the name AWS uses in the text header (hyphenated) */
  readonly name: string;
  readonly kind: AwsFieldKind;
  /** column index in the FlowBatch */
  readonly column: number;
  /** the second column some kinds fill, -1 when none */
  readonly column2: number;
  /** inclusive upper bound for ints, Infinity when none */
  readonly max: number;
  /** flow-log version that introduced the field; 0 when unconfirmed */
  readonly version: number;
}

/** One field: its AWS name, kind, version, flow column (default: the name with `_`), int bound. */
export type AwsFieldDef = readonly [name: string, kind: AwsFieldKind, version: number, column?: string, max?: number];

export const AWS_VPC_FIELD_DEFS: readonly AwsFieldDef[] = [
  ['version', 'int', 2, 'version', 255],
  ['account-id', 'account', 2],
  ['interface-id', 'string', 2],
  ['srcaddr', 'srcaddr', 2],
  ['dstaddr', 'dstaddr', 2],
  ['srcport', 'int', 2, 'src_port', 65535],
  ['dstport', 'int', 2, 'dst_port', 65535],
  ['protocol', 'int', 2, 'protocol', 255],
  ['packets', 'int', 2],
  ['bytes', 'int', 2],
  ['start', 'time', 2],
  ['end', 'time', 2],
  ['action', 'action', 2, 'action'],
  ['log-status', 'log_status', 2],
  ['vpc-id', 'string', 3],
  ['subnet-id', 'string', 3],
  ['instance-id', 'string', 3],
  ['tcp-flags', 'int', 3, 'tcp_flags', 65535],
  ['type', 'string', 3],
  ['pkt-srcaddr', 'addr', 3],
  ['pkt-dstaddr', 'addr', 3],
  ['region', 'string', 4],
  ['az-id', 'string', 4],
  ['sublocation-type', 'string', 4],
  ['sublocation-id', 'string', 4],
  ['pkt-src-aws-service', 'string', 5],
  ['pkt-dst-aws-service', 'string', 5],
  ['flow-direction', 'flow_direction', 5],
  ['traffic-path', 'int', 5, 'traffic_path', 255],
  ['ecs-cluster-arn', 'string', 7],
  ['ecs-cluster-name', 'string', 7],
  ['ecs-container-instance-arn', 'string', 7],
  ['ecs-container-instance-id', 'string', 7],
  ['ecs-container-id', 'string', 7],
  ['ecs-second-container-id', 'string', 7],
  ['ecs-service-name', 'string', 7],
  ['ecs-task-definition-arn', 'string', 7],
  ['ecs-task-arn', 'string', 7],
  ['ecs-task-id', 'string', 7],
  ['reject-reason', 'string', 8],
  ['resource-id', 'string', 0],
  ['encryption-status', 'string', 0],
];

const SECOND: Partial<Record<AwsFieldKind, string>> = {
  account: 'account',
  srcaddr: 'src_addr',
  dstaddr: 'dst_addr',
  flow_direction: 'direction',
};

/** The specs of a field table (VPC's, Transit Gateway's). */
export function awsFieldSpecs(defs: readonly AwsFieldDef[]): readonly AwsFieldSpec[] {
  return defs.map(([name, kind, version, column, max]) => {
    const second = SECOND[kind];
    return {
      name,
      kind,
      version,
      column: colIndex(column ?? name.replaceAll('-', '_')),
      column2: second === undefined ? -1 : colIndex(second),
      max: max ?? Infinity,
    };
  });
}

/**
 * The lookup of a field table: the field a header name (text: `pkt-srcaddr`) or Parquet column
 * name (`pkt_srcaddr`) denotes, undefined when the name is not one of its fields.
 */
export function awsFieldLookup(fields: readonly AwsFieldSpec[]): (name: string) => AwsFieldSpec | undefined {
  const byName: ReadonlyMap<string, AwsFieldSpec> = new Map(fields.map((s) => [s.name, s]));
  return (name) => byName.get(name.replaceAll('_', '-'));
}

export const AWS_FIELDS: readonly AwsFieldSpec[] = awsFieldSpecs(AWS_VPC_FIELD_DEFS);

/** A VPC flow-log field by header or Parquet column name; undefined when unknown. */
export const awsField: (name: string) => AwsFieldSpec | undefined = awsFieldLookup(AWS_FIELDS);

/** The 14 fields of the default format, in their fixed order. */
export const AWS_DEFAULT_FORMAT: readonly string[] = [
  'version', 'account-id', 'interface-id', 'srcaddr', 'dstaddr', 'srcport', 'dstport',
  'protocol', 'packets', 'bytes', 'start', 'end', 'action', 'log-status',
];
