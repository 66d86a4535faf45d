import { colIndex, FIELD_LIST } from '@sightline/flow';
import { strAt } from '../../core/rows.js';
import type { StreamFormatSpec } from '../../format-spec.js';
import { parseGcpJson } from './gcp-json.js';

const C = {
  account: colIndex('account'),
  reporter: colIndex('reporter'),
  srcVm: colIndex('src_instance_vm_name'),
  destVm: colIndex('dest_instance_vm_name'),
  subnet: colIndex('subnetwork_id'),
  src: colIndex('src_addr'),
  dst: colIndex('dst_addr'),
};
const VPC = {
  src: { project: colIndex('src_vpc_project_id'), name: colIndex('src_vpc_vpc_name') },
  dst: { project: colIndex('dest_vpc_project_id'), name: colIndex('dest_vpc_vpc_name') },
};

export const gcpVpcJson: StreamFormatSpec<'gcp-vpc-json', 'gcp'> = {
  id: 'gcp-vpc-json',
  cloud: 'gcp',
  title: 'GCP VPC flow logs (Cloud Logging export to Cloud Storage, one LogEntry per line)',
  rowFormats: ['gcp-vpc-json'],
  cloudDefault: true,
  fields: FIELD_LIST.filter((f) => f.clouds.includes('gcp') && f.group === undefined).map((f) => f.name),
  access: 'stream',
  // one JSON object per line with a jsonPayload (or a connection) on the first line
  detect: ({ text, firstLine }) =>
    text.startsWith('{') && !/^\{\s*"records"\s*:/.test(text) && (/"jsonPayload"\s*:/.test(firstLine) || /vpc_flows/.test(firstLine) || /"connection"\s*:\s*\{/.test(firstLine)),
  parse: parseGcpJson,
  addrColumns: { src: [C.src], dst: [C.dst] },
  // each side by its own VPC (Shared VPC: the host project), else the record's project
  scope: (b, r, side) => ({ account: strAt(b, VPC[side].project, r) ?? strAt(b, C.account, r), network: strAt(b, VPC[side].name, r) }),
  // the reporting VM (src or dest instance by `reporter`), else the subnetwork
  interfaceKey(b, r) {
    const rep = strAt(b, C.reporter, r);
    const vm = rep === 'SRC' || rep === 'SRC_GATEWAY' ? strAt(b, C.srcVm, r) : rep === 'DEST' || rep === 'DEST_GATEWAY' ? strAt(b, C.destVm, r) : null;
    return vm ?? strAt(b, C.subnet, r);
  },
};
