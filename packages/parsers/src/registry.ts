import { colIndex, type Cloud as FlowCloud } from '@sightline/flow';
import { strAt } from './core/rows.js';
import type { FormatSpec, RandomAccessFormatSpec, RowRules, StreamFormatSpec } from './format-spec.js';
import { AWS_TGW } from './formats/aws-tgw/spec.js';
import { awsVpcText } from './formats/aws-vpc-text/spec.js';
import { awsVpcParquet } from './formats/aws-vpc-parquet/spec.js';
import { gcpVpcJson } from './formats/gcp-vpc-json/spec.js';
import { azureVnet } from './formats/azure-vnet/spec.js';
import { azureNsg } from './formats/azure-nsg/spec.js';

/**
 * Every flow-log format, one line each, in detection order: a format whose detection is the more
 * specific comes first (Transit Gateway before VPC text, Azure VNet before NSG). A new format is a
 * folder under `formats/` exporting its spec, plus its line here.
 */
export const FORMATS = [
  ...AWS_TGW,
  awsVpcText,
  awsVpcParquet,
  gcpVpcJson,
  azureVnet,
  azureNsg,
] as const;

/** Source formats the parsers know. */
export type FormatId = (typeof FORMATS)[number]['id'];

/** The clouds of the registered formats. */
export type Cloud = (typeof FORMATS)[number]['cloud'];

// The flow record's cloud list and the registry's are the same set; either one growing alone fails here.
const sameClouds: [Cloud] extends [FlowCloud] ? ([FlowCloud] extends [Cloud] ? true : never) : never = true;
void sameClouds;

export const FORMAT_IDS: readonly FormatId[] = FORMATS.map((f) => f.id);

const BY_ID: ReadonlyMap<string, FormatSpec> = new Map(FORMATS.map((f) => [f.id, f]));
const BY_ROW_FORMAT: ReadonlyMap<string, FormatSpec> = new Map(FORMATS.flatMap((f) => f.rowFormats.map((r) => [r, f] as const)));

export const STREAM_FORMATS: readonly StreamFormatSpec[] = FORMATS.filter((f): f is (typeof FORMATS)[number] & StreamFormatSpec => f.access === 'stream');
export const RANDOM_ACCESS_FORMATS: readonly RandomAccessFormatSpec[] = FORMATS.filter(
  (f): f is (typeof FORMATS)[number] & RandomAccessFormatSpec => f.access === 'random',
);

export function formatSpec(id: FormatId): FormatSpec {
  return BY_ID.get(id)!;
}

const CLOUD_DEFAULT: ReadonlyMap<string, FormatSpec> = new Map(FORMATS.filter((f) => f.cloudDefault === true).map((f) => [f.cloud, f]));

/**
 * The format of rows whose `format` column holds `value` (`azure-nsg-v2` is azure-nsg's); for a
 * row without a known format, its cloud's default format (see FormatSpec.cloudDefault) when
 * `cloud` is given; else undefined.
 */
export function formatOfRow(value: string | null, cloud?: string | null): FormatSpec | undefined {
  const f = value === null ? undefined : BY_ROW_FORMAT.get(value);
  return f ?? (cloud == null ? undefined : CLOUD_DEFAULT.get(cloud));
}

/** Rows of no registered format (none are written today): addresses as they are, scoped by the record's account alone. */
export const GENERIC_ROWS: RowRules = {
  addrColumns: { src: [colIndex('src_addr')], dst: [colIndex('dst_addr')] },
  scope: (b, r) => ({ account: strAt(b, colIndex('account'), r), network: null }),
  interfaceKey: () => null,
};
