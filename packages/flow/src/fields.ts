import { CLOUD_NAMES } from '@sightline/kube-model';

/**
 * The normalized flow record, described once as a field table. The zod row schema,
 * the columnar batch, the NDJSON writer and (later) the store DDL are all derived
 * from this table, so a field is added in exactly one place.
 *
 * Field names are the source's own names with `-` and `.` turned into `_`
 * (AWS `pkt-srcaddr` -> `pkt_srcaddr`, GCP `src_instance.vm_name` -> `src_instance_vm_name`),
 * so a user who knows the cloud's documentation finds the field under the name they expect.
 */

/** How a column is held in a batch and written out. */
export type FieldKind =
  /** text, null allowed; held as (string | null)[] */
  | 'string'
  /** integer or float, null allowed; held in a Float64Array with NaN for null (int64 counters exceed 2^32) */
  | 'number'
  /** instant; held as epoch milliseconds (fractional ms keep sub-ms precision) in a Float64Array, NaN for null; written as ISO-8601 UTC */
  | 'time';

/**
 * The clouds of the flow record: every schema and type of a flow's cloud derives from this list,
 * and the parsers' format registry checks its formats' clouds are the same set. Written out once,
 * in kube-model (CLOUD_NAMES), the one package below both the record and what kubetags and the
 * configuration read.
 */
export const CLOUDS = CLOUD_NAMES;
export type Cloud = (typeof CLOUDS)[number];

export interface FieldSpec {
  readonly name: string;
  readonly kind: FieldKind;
  /** clouds whose records always carry this field (null when absent); empty = every cloud */
  readonly clouds: readonly Cloud[];
  readonly doc: string;
  /**
   * Optional field group. Grouped fields are left out of `fieldsForCloud` unless asked for,
   * so adding a group never changes what `sightline parse` writes.
   */
  readonly group?: FieldGroup;
  /**
   * Row formats (the `format` column) whose records carry this field; absent: every format of
   * its clouds. Keeps a format's own fields (Transit Gateway's) off the rows of its cloud's other
   * formats (VPC), so adding a format never changes what `sightline parse` writes for the others.
   */
  readonly formats?: readonly string[];
}

/** `k8s`: the Kubernetes attribution of both ends, added by the enricher (`sightline enrich`). */
export type FieldGroup = 'k8s';

/** The row formats of AWS Transit Gateway flow logs (text and Parquet). */
export const AWS_TGW_FORMATS: readonly string[] = ['aws-tgw-text', 'aws-tgw-parquet'];

const ALL: readonly Cloud[] = [];
const AWS: readonly Cloud[] = ['aws'];
const GCP: readonly Cloud[] = ['gcp'];
const AZ: readonly Cloud[] = ['azure'];

const f = (name: string, kind: FieldKind, clouds: readonly Cloud[], doc: string): FieldSpec => ({ name, kind, clouds, doc });

export const FIELDS: readonly FieldSpec[] = [
  // --- common to every cloud -------------------------------------------------------
  f('cloud', 'string', ALL, CLOUDS.join(' | ')),
  f('format', 'string', ALL, 'source format: aws-vpc-text, aws-vpc-parquet, aws-tgw-text, aws-tgw-parquet, gcp-vpc-json, azure-nsg-v1, azure-nsg-v2, azure-vnet'),
  f('account', 'string', ALL, 'the cloud account the record belongs to: AWS account id, GCP project id, Azure subscription id'),
  f('src_addr', 'string', ALL, 'source IP (IPv6 in RFC 5952 form)'),
  f('dst_addr', 'string', ALL, 'destination IP (IPv6 in RFC 5952 form)'),
  f('src_port', 'number', ALL, 'source port'),
  f('dst_port', 'number', ALL, 'destination port'),
  f('protocol', 'number', ALL, 'IANA protocol number'),
  f('packets', 'number', ALL, 'packets, both directions added for bidirectional sources; null when the source has no counters'),
  f('bytes', 'number', ALL, 'bytes, both directions added for bidirectional sources; null when the source has no counters'),
  f('packets_src_to_dst', 'number', ALL, 'Azure NSG v2 and VNet only'),
  f('bytes_src_to_dst', 'number', ALL, 'Azure NSG v2 and VNet only'),
  f('packets_dst_to_src', 'number', ALL, 'Azure NSG v2 and VNet only'),
  f('bytes_dst_to_src', 'number', ALL, 'Azure NSG v2 and VNet only'),
  f('start', 'time', ALL, 'flow (or aggregation interval) start'),
  f('end', 'time', ALL, 'flow (or aggregation interval) end'),
  f('action', 'string', ALL, 'accept | reject | null'),
  f('direction', 'string', ALL, 'ingress | egress | null, as seen by the reporting interface'),

  // --- AWS VPC flow logs, versions 2 to 8 (and later fields seen in the wild) -------
  f('version', 'number', AWS, 'v2+: highest version among the chosen fields'),
  f('account_id', 'string', AWS, 'v2: account id of the interface owner (can be "unknown")'),
  f('interface_id', 'string', AWS, 'v2: network interface id'),
  f('srcaddr', 'string', AWS, 'v2: source address as logged (primary IP of the interface for secondary-IP traffic)'),
  f('dstaddr', 'string', AWS, 'v2: destination address as logged'),
  f('log_status', 'string', AWS, 'v2: OK | NODATA | SKIPDATA'),
  f('vpc_id', 'string', AWS, 'v3'),
  f('subnet_id', 'string', AWS, 'v3'),
  f('instance_id', 'string', AWS, 'v3'),
  f('tcp_flags', 'number', AWS, 'v3: OR of TCP flags in the interval (FIN 1, SYN 2, RST 4, SYN-ACK 18)'),
  f('type', 'string', AWS, 'v3: IPv4 | IPv6 | EFA'),
  f('pkt_srcaddr', 'string', AWS, 'v3: packet-level (original) source address'),
  f('pkt_dstaddr', 'string', AWS, 'v3: packet-level (original) destination address'),
  f('region', 'string', AWS, 'v4'),
  f('az_id', 'string', AWS, 'v4'),
  f('sublocation_type', 'string', AWS, 'v4: wavelength | outpost | localzone'),
  f('sublocation_id', 'string', AWS, 'v4'),
  f('pkt_src_aws_service', 'string', AWS, 'v5'),
  f('pkt_dst_aws_service', 'string', AWS, 'v5'),
  f('flow_direction', 'string', AWS, 'v5: ingress | egress'),
  f('traffic_path', 'number', AWS, 'v5: 1-8, egress records only'),
  f('ecs_cluster_arn', 'string', AWS, 'v7'),
  f('ecs_cluster_name', 'string', AWS, 'v7'),
  f('ecs_container_instance_arn', 'string', AWS, 'v7'),
  f('ecs_container_instance_id', 'string', AWS, 'v7'),
  f('ecs_container_id', 'string', AWS, 'v7'),
  f('ecs_second_container_id', 'string', AWS, 'v7'),
  f('ecs_service_name', 'string', AWS, 'v7'),
  f('ecs_task_definition_arn', 'string', AWS, 'v7'),
  f('ecs_task_arn', 'string', AWS, 'v7'),
  f('ecs_task_id', 'string', AWS, 'v7'),
  f('reject_reason', 'string', AWS, 'v8: BPA or null'),
  f('resource_id', 'string', AWS, 'later versions (third-party copies): the resource the interface belongs to'),
  f('encryption_status', 'string', AWS, 'later versions (third-party copies)'),

  // --- GCP VPC flow logs (LogEntry exported to Cloud Storage) --------------------------
  f('reporter', 'string', GCP, 'SRC | DEST | SRC_GATEWAY | DEST_GATEWAY'),
  f('rtt_msec', 'number', GCP, 'TCP round-trip time'),
  f('project_id', 'string', GCP, 'resource.labels.project_id: project of the reporting subnetwork'),
  f('location', 'string', GCP, 'resource.labels.location'),
  f('subnetwork_id', 'string', GCP, 'resource.labels.subnetwork_id'),
  f('subnetwork_name', 'string', GCP, 'resource.labels.subnetwork_name'),
  f('log_name', 'string', GCP, 'LogEntry logName'),
  f('insert_id', 'string', GCP, 'LogEntry insertId'),
  f('timestamp', 'time', GCP, 'LogEntry timestamp (not the flow time)'),
  ...(['src', 'dest'] as const).flatMap((side) => [
    f(`${side}_instance_project_id`, 'string', GCP, `${side}_instance.project_id`),
    f(`${side}_instance_region`, 'string', GCP, `${side}_instance.region`),
    f(`${side}_instance_vm_name`, 'string', GCP, `${side}_instance.vm_name`),
    f(`${side}_instance_zone`, 'string', GCP, `${side}_instance.zone`),
    f(`${side}_instance_managed_instance_group_name`, 'string', GCP, `${side}_instance.managed_instance_group.name`),
    f(`${side}_instance_managed_instance_group_region`, 'string', GCP, `${side}_instance.managed_instance_group.region`),
    f(`${side}_instance_managed_instance_group_zone`, 'string', GCP, `${side}_instance.managed_instance_group.zone`),
    f(`${side}_vpc_project_id`, 'string', GCP, `${side}_vpc.project_id`),
    f(`${side}_vpc_vpc_name`, 'string', GCP, `${side}_vpc.vpc_name`),
    f(`${side}_vpc_subnetwork_name`, 'string', GCP, `${side}_vpc.subnetwork_name`),
    f(`${side}_location_continent`, 'string', GCP, `${side}_location.continent`),
    f(`${side}_location_country`, 'string', GCP, `${side}_location.country (ISO alpha-3, lower case)`),
    f(`${side}_location_region`, 'string', GCP, `${side}_location.region`),
    f(`${side}_location_city`, 'string', GCP, `${side}_location.city`),
    f(`${side}_location_asn`, 'number', GCP, `${side}_location.asn`),
    f(`${side}_gke_cluster_name`, 'string', GCP, `${side}_gke_details.cluster.cluster_name`),
    f(`${side}_gke_cluster_location`, 'string', GCP, `${side}_gke_details.cluster.cluster_location`),
    f(`${side}_gke_pod_name`, 'string', GCP, `${side}_gke_details.pod.pod_name`),
    f(`${side}_gke_pod_namespace`, 'string', GCP, `${side}_gke_details.pod.pod_namespace`),
    f(`${side}_gke_workload_name`, 'string', GCP, `${side}_gke_details.pod.pod_workload.workload_name`),
    f(`${side}_gke_workload_type`, 'string', GCP, `${side}_gke_details.pod.pod_workload.workload_type`),
    f(`${side}_gke_service_name`, 'string', GCP, `${side}_gke_details.service[].service_name, comma-joined when several`),
    f(`${side}_gke_service_namespace`, 'string', GCP, `${side}_gke_details.service[].service_namespace, comma-joined when several`),
  ]),

  // --- Azure NSG flow logs v1/v2 and VNet flow logs ------------------------------------
  f('subscription_id', 'string', AZ, 'from resourceId / targetResourceID (lower case GUID)'),
  f('resource_group', 'string', AZ, 'from resourceId / targetResourceID'),
  f('resource_id', 'string', AZ, 'NSG resourceId, or VNet flow log targetResourceID'),
  f('flow_log_resource_id', 'string', AZ, 'VNet: flowLogResourceID'),
  f('flow_log_guid', 'string', AZ, 'VNet: flowLogGUID'),
  f('system_id', 'string', AZ, 'NSG: systemId'),
  f('category', 'string', AZ, 'NetworkSecurityGroupFlowEvent | FlowLogFlowEvent'),
  f('flow_log_version', 'number', AZ, 'NSG properties.Version or VNet flowLogVersion'),
  f('record_time', 'time', AZ, 'the record\'s time field'),
  f('acl_id', 'string', AZ, 'VNet: aclID'),
  f('rule', 'string', AZ, 'rule name'),
  f('mac', 'string', AZ, 'MAC address of the NIC (as written by Azure)'),
  f('flow_state', 'string', AZ, 'B begin, C continuing, E end, D denied (VNet)'),
  f('encryption', 'string', AZ, 'VNet: X, NX, NX_HW_NOT_SUPPORTED, ...'),

  // --- Kubernetes attribution (group k8s), filled by the enricher for both ends ----------
  // Declared for every cloud but optional in the row schema: records are written with them only after enrichment.
  ...(['src', 'dst'] as const).flatMap((side) =>
    (
      [
        ['kind', 'pod | node | service; null when the endpoint is not attributed'],
        ['cluster', 'cluster name'],
        ['namespace', 'namespace of the pod or service'],
        ['pod', 'pod name'],
        ['node', 'node name (of the pod, or the node itself)'],
        ['workload', 'top owner: Deployment, StatefulSet, DaemonSet, CronJob, or the Job / ReplicaSet without owner'],
        ['workload_kind', 'Deployment | StatefulSet | DaemonSet | CronJob | Job | ReplicaSet'],
        ['service', 'service name; for a pod, the services whose EndpointSlices list it, comma-joined'],
        ['zone', 'topology zone of the node'],
        ['labels', 'allow-listed pod labels as a JSON object string with sorted keys; null when none'],
      ] as const
    ).map(([name, doc]): FieldSpec => ({ name: `${side}_k8s_${name}`, kind: 'string', clouds: CLOUDS, doc, group: 'k8s' })),
  ),
  // --- AWS Transit Gateway flow logs (v6 fields; the v2-v5 ones are the AWS fields above) ----
  // Appended after every older field: stores add their columns by a later migration, at the end.
  ...(
    [
      ['resource_type', 'string', 'TransitGateway | TransitGatewayAttachment: what the flow log is created on'],
      ['tgw_id', 'string', 'transit gateway id'],
      ['tgw_attachment_id', 'string', 'the attachment the traffic is recorded at'],
      ['tgw_src_vpc_account_id', 'string', 'account of the source VPC'],
      ['tgw_dst_vpc_account_id', 'string', 'account of the destination VPC'],
      ['tgw_src_vpc_id', 'string', 'source VPC'],
      ['tgw_dst_vpc_id', 'string', 'destination VPC'],
      ['tgw_src_subnet_id', 'string', 'subnet of the source traffic'],
      ['tgw_dst_subnet_id', 'string', 'subnet of the destination traffic'],
      ['tgw_src_eni', 'string', 'source attachment ENI'],
      ['tgw_dst_eni', 'string', 'destination attachment ENI'],
      ['tgw_src_az_id', 'string', 'source Availability Zone id (null for a sublocation)'],
      ['tgw_dst_az_id', 'string', 'destination Availability Zone id'],
      ['tgw_pair_attachment_id', 'string', 'the other attachment of the flow (egress or ingress one, by flow direction)'],
      ['packets_lost_no_route', 'number', 'packets dropped: no route'],
      ['packets_lost_blackhole', 'number', 'packets dropped: blackhole route'],
      ['packets_lost_mtu_exceeded', 'number', 'packets dropped: larger than the MTU'],
      ['packets_lost_ttl_expired', 'number', 'packets dropped: TTL expired'],
    ] as const
  ).map(([name, kind, doc]): FieldSpec => ({ name, kind, clouds: AWS, doc: `Transit Gateway v6: ${doc}`, formats: AWS_TGW_FORMATS })),

];

/** `resource_id` is declared for AWS and Azure; the table keeps one entry per name. */
export const FIELD_BY_NAME: ReadonlyMap<string, FieldSpec> = (() => {
  const m = new Map<string, FieldSpec>();
  for (const spec of FIELDS) {
    const prev = m.get(spec.name);
    if (prev) {
      if (prev.kind !== spec.kind) throw new Error(`field ${spec.name} declared twice with different kinds`);
      m.set(spec.name, { ...prev, clouds: [...prev.clouds, ...spec.clouds], doc: `${prev.doc}; ${spec.doc}` });
    } else m.set(spec.name, spec);
  }
  return m;
})();

/** Unique fields in table order. */
export const FIELD_LIST: readonly FieldSpec[] = [...FIELD_BY_NAME.values()];

/**
 * Field names a record of this cloud always carries, in output order; grouped fields only when
 * their group is asked for; with `format`, only the fields of that row format (see FieldSpec.formats).
 */
export function fieldsForCloud(cloud: Cloud, groups: readonly FieldGroup[] = [], format?: string): readonly FieldSpec[] {
  return FIELD_LIST.filter(
    (s) =>
      (s.group === undefined || groups.includes(s.group)) &&
      (s.clouds.length === 0 || s.clouds.includes(cloud)) &&
      (s.formats === undefined || format === undefined || s.formats.includes(format)),
  );
}

/** The fields of one group, in table order. */
export function fieldsOfGroup(group: FieldGroup): readonly FieldSpec[] {
  return FIELD_LIST.filter((s) => s.group === group);
}

/** Bumped whenever a field is added, removed or changes meaning; carried in every batch. */
export const FLOW_SCHEMA_VERSION = 1;
