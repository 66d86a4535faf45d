import { z } from 'zod';
import { CLOUDS, FIELD_LIST, type FieldSpec } from './fields.js';

/**
 * The row form of a normalized flow, as it crosses boundaries in JSON (the CLI's NDJSON,
 * the query API). Common fields are required; cloud-specific fields are present (maybe
 * null) on records of their cloud and absent on others.
 */
const ISO_UTC = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3,9})?Z$/, 'ISO-8601 UTC ending in Z');

function zodFor(spec: FieldSpec): z.ZodType {
  const base = spec.kind === 'string' ? z.string() : spec.kind === 'number' ? z.number().finite() : ISO_UTC;
  return spec.clouds.length === 0 ? base.nullable() : base.nullable().optional();
}

const shape: Record<string, z.ZodType> = Object.fromEntries(FIELD_LIST.map((s) => [s.name, zodFor(s)]));

export const FlowRecordSchema = z
  .object({
    ...shape,
    cloud: z.enum(CLOUDS),
    format: z.enum(['aws-vpc-text', 'aws-vpc-parquet', 'aws-tgw-text', 'aws-tgw-parquet', 'gcp-vpc-json', 'azure-nsg-v1', 'azure-nsg-v2', 'azure-vnet']),
    src_port: z.number().int().min(0).max(65535).nullable(),
    dst_port: z.number().int().min(0).max(65535).nullable(),
    protocol: z.number().int().min(0).max(255).nullable(),
    action: z.enum(['accept', 'reject']).nullable(),
    direction: z.enum(['ingress', 'egress']).nullable(),
    extra: z.record(z.string(), z.string()).optional(),
  })
  .strict();

export type FlowRecord = z.infer<typeof FlowRecordSchema>;
