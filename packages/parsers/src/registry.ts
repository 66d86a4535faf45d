import type { Cloud as FlowCloud } from '@sightline/flow';
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

/** The format of rows whose `format` column holds `value` (`azure-nsg-v2` is azure-nsg's), undefined when unknown. */
export function formatOfRow(value: string | null): FormatSpec | undefined {
  return value === null ? undefined : BY_ROW_FORMAT.get(value);
}

/** Rows of an unknown format (none today): addresses as they are, scoped by the record's account alone. */
export const GENERIC_ROWS: RowRules = {
  addrColumns: { src: [], dst: [] },
  scope: () => ({ account: null, network: null }),
  interfaceKey: () => null,
};
