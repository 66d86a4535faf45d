/**
 * The columns of the flows table as migration 1 created them, frozen. Migration 1 was built from the
 * flow field table itself, so a field added there later changed migration 1 and a store created
 * before never got the column (its migration 1 was already recorded as applied). Migrations now
 * build from this list, which never changes: a field added to the field table gets a new numbered
 * migration on each engine (`duckdbAddFlowColumns`, `clickhouseAddFlowColumns`; schema-migrations.test.ts
 * fails until it has one).
 *
 * Each entry is name:kind, kind s (string), lc (low-cardinality string), i (integer), f (double), t (time).
 */
export type FrozenKind = 's' | 'lc' | 'i' | 'f' | 't';
export interface FrozenColumn {
  readonly name: string;
  readonly kind: FrozenKind;
}

const parse = (lines: readonly string[]): FrozenColumn[] =>
  lines.flatMap((l) => l.split(' ')).map((w) => {
    const [name, kind] = w.split(':') as [string, FrozenKind];
    return { name, kind };
  });

export const V1_FLOW_COLUMNS: readonly FrozenColumn[] = parse([
  'cloud:lc format:lc account:lc src_addr:s dst_addr:s src_port:i dst_port:i protocol:i packets:i bytes:i',
  'packets_src_to_dst:i bytes_src_to_dst:i packets_dst_to_src:i bytes_dst_to_src:i start:t end:t action:lc',
  'direction:lc version:i account_id:s interface_id:s srcaddr:s dstaddr:s log_status:lc vpc_id:s subnet_id:s',
  'instance_id:s tcp_flags:i type:lc pkt_srcaddr:s pkt_dstaddr:s region:lc az_id:s sublocation_type:lc',
  'sublocation_id:s pkt_src_aws_service:lc pkt_dst_aws_service:lc flow_direction:lc traffic_path:i',
  'ecs_cluster_arn:s ecs_cluster_name:lc ecs_container_instance_arn:s ecs_container_instance_id:s',
  'ecs_container_id:s ecs_second_container_id:s ecs_service_name:lc ecs_task_definition_arn:s ecs_task_arn:s',
  'ecs_task_id:s reject_reason:lc resource_id:s encryption_status:lc reporter:lc rtt_msec:f project_id:s',
  'location:lc subnetwork_id:s subnetwork_name:lc log_name:lc insert_id:s timestamp:t src_instance_project_id:s',
  'src_instance_region:lc src_instance_vm_name:lc src_instance_zone:lc',
  'src_instance_managed_instance_group_name:lc src_instance_managed_instance_group_region:lc',
  'src_instance_managed_instance_group_zone:lc src_vpc_project_id:s src_vpc_vpc_name:lc',
  'src_vpc_subnetwork_name:lc src_location_continent:lc src_location_country:lc src_location_region:lc',
  'src_location_city:lc src_location_asn:i src_gke_cluster_name:lc src_gke_cluster_location:lc',
  'src_gke_pod_name:lc src_gke_pod_namespace:lc src_gke_workload_name:lc src_gke_workload_type:lc',
  'src_gke_service_name:lc src_gke_service_namespace:lc dest_instance_project_id:s dest_instance_region:lc',
  'dest_instance_vm_name:lc dest_instance_zone:lc dest_instance_managed_instance_group_name:lc',
  'dest_instance_managed_instance_group_region:lc dest_instance_managed_instance_group_zone:lc',
  'dest_vpc_project_id:s dest_vpc_vpc_name:lc dest_vpc_subnetwork_name:lc dest_location_continent:lc',
  'dest_location_country:lc dest_location_region:lc dest_location_city:lc dest_location_asn:i',
  'dest_gke_cluster_name:lc dest_gke_cluster_location:lc dest_gke_pod_name:lc dest_gke_pod_namespace:lc',
  'dest_gke_workload_name:lc dest_gke_workload_type:lc dest_gke_service_name:lc dest_gke_service_namespace:lc',
  'subscription_id:s resource_group:lc flow_log_resource_id:s flow_log_guid:s system_id:s category:lc',
  'flow_log_version:i record_time:t acl_id:s rule:lc mac:s flow_state:lc encryption:lc src_k8s_kind:lc',
  'src_k8s_cluster:lc src_k8s_namespace:lc src_k8s_pod:s src_k8s_node:lc src_k8s_workload:lc',
  'src_k8s_workload_kind:lc src_k8s_service:lc src_k8s_zone:lc src_k8s_labels:s dst_k8s_kind:lc',
  'dst_k8s_cluster:lc dst_k8s_namespace:lc dst_k8s_pod:s dst_k8s_node:lc dst_k8s_workload:lc',
  'dst_k8s_workload_kind:lc dst_k8s_service:lc dst_k8s_zone:lc dst_k8s_labels:s',
]);

/** Rollup key fields as migration 2 created them, frozen for the same reason. */
export const V2_ROLLUP_DIMS: readonly string[] = ['src_k8s_cluster', 'src_k8s_namespace', 'src_k8s_workload_kind', 'src_k8s_workload', 'dst_k8s_cluster', 'dst_k8s_namespace', 'dst_k8s_workload_kind', 'dst_k8s_workload', 'dst_port', 'protocol', 'action', 'direction'];

/**
 * Rollup key fields of the rollups keyed by service port (DuckDB migration 4, ClickHouse migration 8:
 * tables `rollup_1m`, `rollup_5m`, `rollup_1h`), frozen: V2's keys with `service_port` (the lower of
 * the two ports, see SERVICE_PORT_RULE in schema.ts) in place of `dst_port`.
 */
export const V4_ROLLUP_DIMS: readonly string[] = ['src_k8s_cluster', 'src_k8s_namespace', 'src_k8s_workload_kind', 'src_k8s_workload', 'dst_k8s_cluster', 'dst_k8s_namespace', 'dst_k8s_workload_kind', 'dst_k8s_workload', 'service_port', 'protocol', 'action', 'direction'];

/**
 * The AWS Transit Gateway flow-log columns, as DuckDB migration 3 and ClickHouse migration 5
 * added them, frozen.
 */
export const TGW_FLOW_COLUMNS: readonly FrozenColumn[] = parse([
  'resource_type:lc tgw_id:s tgw_attachment_id:s tgw_src_vpc_account_id:s tgw_dst_vpc_account_id:s',
  'tgw_src_vpc_id:s tgw_dst_vpc_id:s tgw_src_subnet_id:s tgw_dst_subnet_id:s tgw_src_eni:lc tgw_dst_eni:lc',
  'tgw_src_az_id:s tgw_dst_az_id:s tgw_pair_attachment_id:s packets_lost_no_route:i packets_lost_blackhole:i',
  'packets_lost_mtu_exceeded:i packets_lost_ttl_expired:i',
]);

/**
 * Layout (b), a table per cloud behind one view `flows` (DuckDB migration 5, ClickHouse migration 9;
 * chosen by `pnpm -C packages/store bench:layouts`, see the store README): which of the columns above
 * (V1 and Transit Gateway) belong to one cloud's table only, frozen as the field table had them when
 * the layout was made. A column named in no list is common and is a column of every cloud table (the
 * 18 common fields and the Kubernetes attribution of both ends); a column named in more than one list
 * (`resource_id`: AWS and Azure) is a column of each of those tables. Every cloud table also keeps
 * `extra`. A field added later gets a migration of its own that adds it to its clouds' tables.
 */
export const V5_CLOUD_OWN_COLUMNS = {
  aws: [
    'version account_id interface_id srcaddr dstaddr log_status vpc_id subnet_id instance_id tcp_flags type',
    'pkt_srcaddr pkt_dstaddr region az_id sublocation_type sublocation_id pkt_src_aws_service pkt_dst_aws_service',
    'flow_direction traffic_path ecs_cluster_arn ecs_cluster_name ecs_container_instance_arn',
    'ecs_container_instance_id ecs_container_id ecs_second_container_id ecs_service_name ecs_task_definition_arn',
    'ecs_task_arn ecs_task_id reject_reason resource_id encryption_status resource_type tgw_id tgw_attachment_id',
    'tgw_src_vpc_account_id tgw_dst_vpc_account_id tgw_src_vpc_id tgw_dst_vpc_id tgw_src_subnet_id',
    'tgw_dst_subnet_id tgw_src_eni tgw_dst_eni tgw_src_az_id tgw_dst_az_id tgw_pair_attachment_id',
    'packets_lost_no_route packets_lost_blackhole packets_lost_mtu_exceeded packets_lost_ttl_expired',
  ].flatMap((l) => l.split(' ')),
  gcp: [
    'reporter rtt_msec project_id location subnetwork_id subnetwork_name log_name insert_id timestamp',
    'src_instance_project_id src_instance_region src_instance_vm_name src_instance_zone',
    'src_instance_managed_instance_group_name src_instance_managed_instance_group_region',
    'src_instance_managed_instance_group_zone src_vpc_project_id src_vpc_vpc_name src_vpc_subnetwork_name',
    'src_location_continent src_location_country src_location_region src_location_city src_location_asn',
    'src_gke_cluster_name src_gke_cluster_location src_gke_pod_name src_gke_pod_namespace src_gke_workload_name',
    'src_gke_workload_type src_gke_service_name src_gke_service_namespace dest_instance_project_id',
    'dest_instance_region dest_instance_vm_name dest_instance_zone dest_instance_managed_instance_group_name',
    'dest_instance_managed_instance_group_region dest_instance_managed_instance_group_zone dest_vpc_project_id',
    'dest_vpc_vpc_name dest_vpc_subnetwork_name dest_location_continent dest_location_country',
    'dest_location_region dest_location_city dest_location_asn dest_gke_cluster_name dest_gke_cluster_location',
    'dest_gke_pod_name dest_gke_pod_namespace dest_gke_workload_name dest_gke_workload_type',
    'dest_gke_service_name dest_gke_service_namespace',
  ].flatMap((l) => l.split(' ')),
  azure: [
    'resource_id subscription_id resource_group flow_log_resource_id flow_log_guid system_id category',
    'flow_log_version record_time acl_id rule mac flow_state encryption',
  ].flatMap((l) => l.split(' ')),
} as const satisfies Readonly<Record<string, readonly string[]>>;

/** The clouds of layout (b), frozen with it (a cloud added later gets a migration of its own). */
export type V5Cloud = keyof typeof V5_CLOUD_OWN_COLUMNS;
export const V5_CLOUDS = Object.keys(V5_CLOUD_OWN_COLUMNS) as V5Cloud[];

/** The flow columns of one cloud's table in layout (b), in the wide table's order (V1, then Transit Gateway), frozen. */
export function v5CloudColumns(cloud: V5Cloud): FrozenColumn[] {
  const owned = new Set<string>(Object.values(V5_CLOUD_OWN_COLUMNS).flat());
  const own = new Set<string>(V5_CLOUD_OWN_COLUMNS[cloud]);
  return [...V1_FLOW_COLUMNS, ...TGW_FLOW_COLUMNS].filter((c) => !owned.has(c.name) || own.has(c.name));
}
