import type { RandomAccessFormatSpec } from '../../format-spec.js';
import { AWS_FIELDS } from '../aws-vpc-text/aws-fields.js';
import { AWS_VPC_ROWS } from '../aws-vpc-text/spec.js';
import { parseAwsParquet } from './aws-parquet.js';

/** The Parquet file format of the VPC flow logs: the same fields and row rules as the text one. */
export const awsVpcParquet: RandomAccessFormatSpec<'aws-vpc-parquet', 'aws'> = {
  id: 'aws-vpc-parquet',
  cloud: 'aws',
  title: 'AWS VPC flow logs, Parquet',
  rowFormats: ['aws-vpc-parquet'],
  fields: AWS_FIELDS.map((f) => f.name.replaceAll('-', '_')),
  access: 'random',
  // the catch-all for Parquet: a file naming no AWS field is rejected by the parser, naming its columns
  detectColumns: () => true,
  parse: parseAwsParquet,
  ...AWS_VPC_ROWS,
};
