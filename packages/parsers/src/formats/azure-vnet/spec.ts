import { FIELD_LIST } from '@sightline/flow';
import type { StreamFormatSpec } from '../../format-spec.js';
import { AZURE_ROWS, isRecordsDocument, NSG_MARKERS, VNET_MARKERS } from '../azure-shared/rows.js';
import { parseAzureVnet } from './azure-vnet.js';

export const azureVnet: StreamFormatSpec<'azure-vnet', 'azure'> = {
  id: 'azure-vnet',
  cloud: 'azure',
  title: 'Azure VNet flow logs',
  rowFormats: ['azure-vnet'],
  cloudDefault: true,
  fields: FIELD_LIST.filter((f) => f.clouds.includes('azure') && f.group === undefined).map((f) => f.name),
  access: 'stream',
  // by content; a blob with only its opening `{"records":[` so far, by its container's name
  detect: ({ text, name }) =>
    isRecordsDocument(text) && (VNET_MARKERS.test(text) || (!NSG_MARKERS.test(text) && /flowlogflowevent|flowLogResourceID=/i.test(name))),
  parse: parseAzureVnet,
  ...AZURE_ROWS,
};
