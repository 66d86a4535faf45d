import { colIndex, type FlowBatch, type StringColumn } from '@sightline/flow';

/** The GCP columns of a batch, shared by the general reader (gcp-json.ts) and the fast one (gcp-json-fast.ts). */

export class SideCols {
  readonly instProject: StringColumn;
  readonly instRegion: StringColumn;
  readonly instVm: StringColumn;
  readonly instZone: StringColumn;
  readonly migName: StringColumn;
  readonly migRegion: StringColumn;
  readonly migZone: StringColumn;
  readonly vpcProject: StringColumn;
  readonly vpcName: StringColumn;
  readonly vpcSubnet: StringColumn;
  readonly locContinent: StringColumn;
  readonly locCountry: StringColumn;
  readonly locRegion: StringColumn;
  readonly locCity: StringColumn;
  readonly locAsn: Float64Array;
  readonly gkeCluster: StringColumn;
  readonly gkeClusterLoc: StringColumn;
  readonly gkePod: StringColumn;
  readonly gkeNs: StringColumn;
  readonly gkeWl: StringColumn;
  readonly gkeWlType: StringColumn;
  readonly gkeSvc: StringColumn;
  readonly gkeSvcNs: StringColumn;
  // column groups in key order, for the fast reader's flat objects
  readonly migCols: readonly StringColumn[];
  readonly vpcCols: readonly StringColumn[];
  readonly clusterCols: readonly StringColumn[];
  readonly workloadCols: readonly StringColumn[];
  constructor(b: FlowBatch, p: 'src' | 'dest') {
    const s = (name: string) => b.strings(colIndex(`${p}_${name}`));
    this.instProject = s('instance_project_id');
    this.instRegion = s('instance_region');
    this.instVm = s('instance_vm_name');
    this.instZone = s('instance_zone');
    this.migName = s('instance_managed_instance_group_name');
    this.migRegion = s('instance_managed_instance_group_region');
    this.migZone = s('instance_managed_instance_group_zone');
    this.vpcProject = s('vpc_project_id');
    this.vpcName = s('vpc_vpc_name');
    this.vpcSubnet = s('vpc_subnetwork_name');
    this.locContinent = s('location_continent');
    this.locCountry = s('location_country');
    this.locRegion = s('location_region');
    this.locCity = s('location_city');
    this.locAsn = b.numbers(colIndex(`${p}_location_asn`));
    this.gkeCluster = s('gke_cluster_name');
    this.gkeClusterLoc = s('gke_cluster_location');
    this.gkePod = s('gke_pod_name');
    this.gkeNs = s('gke_pod_namespace');
    this.gkeWl = s('gke_workload_name');
    this.gkeWlType = s('gke_workload_type');
    this.gkeSvc = s('gke_service_name');
    this.gkeSvcNs = s('gke_service_namespace');
    this.migCols = [this.migName, this.migRegion, this.migZone];
    this.vpcCols = [this.vpcProject, this.vpcName, this.vpcSubnet];
    this.clusterCols = [this.gkeCluster, this.gkeClusterLoc];
    this.workloadCols = [this.gkeWl, this.gkeWlType];
  }
}

export class GcpCols {
  readonly cloud: StringColumn;
  readonly format: StringColumn;
  readonly account: StringColumn;
  readonly srcAddr: StringColumn;
  readonly dstAddr: StringColumn;
  readonly srcPort: Float64Array;
  readonly dstPort: Float64Array;
  readonly protocol: Float64Array;
  readonly packets: Float64Array;
  readonly bytes: Float64Array;
  readonly start: Float64Array;
  readonly end: Float64Array;
  readonly direction: StringColumn;
  readonly reporter: StringColumn;
  readonly rtt: Float64Array;
  readonly projectId: StringColumn;
  readonly location: StringColumn;
  readonly subnetId: StringColumn;
  readonly subnetName: StringColumn;
  readonly logName: StringColumn;
  readonly insertId: StringColumn;
  readonly timestamp: Float64Array;
  readonly src: SideCols;
  readonly dest: SideCols;
  constructor(readonly batch: FlowBatch) {
    const s = (name: string) => batch.strings(colIndex(name));
    const n = (name: string) => batch.numbers(colIndex(name));
    this.cloud = s('cloud');
    this.format = s('format');
    this.account = s('account');
    this.srcAddr = s('src_addr');
    this.dstAddr = s('dst_addr');
    this.srcPort = n('src_port');
    this.dstPort = n('dst_port');
    this.protocol = n('protocol');
    this.packets = n('packets');
    this.bytes = n('bytes');
    this.start = n('start');
    this.end = n('end');
    this.direction = s('direction');
    this.reporter = s('reporter');
    this.rtt = n('rtt_msec');
    this.projectId = s('project_id');
    this.location = s('location');
    this.subnetId = s('subnetwork_id');
    this.subnetName = s('subnetwork_name');
    this.logName = s('log_name');
    this.insertId = s('insert_id');
    this.timestamp = n('timestamp');
    this.src = new SideCols(batch, 'src');
    this.dest = new SideCols(batch, 'dest');
  }
}

