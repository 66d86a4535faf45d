import { colIndex } from '@sightline/flow';
import { strAt } from '../../core/rows.js';
import type { RowRules } from '../../format-spec.js';

const C = {
  account: colIndex('account'),
  resource: colIndex('resource_id'),
  mac: colIndex('mac'),
  src: colIndex('src_addr'),
  dst: colIndex('dst_addr'),
};

/**
 * Azure NSG and VNet flow-log rows: reported per NIC (its MAC), scoped by the subscription and,
 * where the flow log's target is a virtual network, by that VNet's resource id.
 */
export const AZURE_ROWS: RowRules = {
  addrColumns: { src: [C.src], dst: [C.dst] },
  scope(b, r) {
    const res = strAt(b, C.resource, r);
    return { account: strAt(b, C.account, r), network: res !== null && /\/virtualnetworks\//i.test(res) ? res : null };
  },
  interfaceKey: (b, r) => strAt(b, C.mac, r),
};

/** `{"records":[` first: both Azure formats. */
export const isRecordsDocument = (text: string): boolean => /^\{\s*"records"\s*:/.test(text);
export const VNET_MARKERS = /"flowRecords"\s*:|"flowLogVersion"\s*:|FlowLogFlowEvent/;
export const NSG_MARKERS = /"NetworkSecurityGroupFlowEvent|"flowTuples"|"Version"\s*:/;
