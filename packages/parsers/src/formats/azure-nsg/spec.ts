import { FIELD_LIST } from '@sightline/flow';
import type { StreamFormatSpec } from '../../format-spec.js';
import { AZURE_ROWS, isRecordsDocument } from '../azure-shared/rows.js';
import { parseAzureNsg } from './azure-nsg.js';

export const azureNsg: StreamFormatSpec<'azure-nsg', 'azure'> = {
  id: 'azure-nsg',
  cloud: 'azure',
  title: 'Azure NSG flow logs v1 and v2',
  rowFormats: ['azure-nsg-v1', 'azure-nsg-v2'],
  fields: FIELD_LIST.filter((f) => f.clouds.includes('azure') && f.group === undefined).map((f) => f.name),
  access: 'stream',
  // after azure-vnet in the registry: any other records document is NSG
  detect: ({ text }) => isRecordsDocument(text),
  parse: parseAzureNsg,
  ...AZURE_ROWS,
};
