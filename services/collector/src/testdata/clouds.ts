// Helpers for the GCS (fake-gcs-server), Azure Blob (Azurite) and SQS (moto) integration tests
// and the per-emulator benchmark: flow-log objects shaped like the samples in packages/parsers/src/testdata, written
// where and how each cloud writes them, and the source configs that read them back.
import { randomBytes, randomUUID } from 'node:crypto';
import { BlobServiceClient, type BlockBlobClient, type ContainerClient } from '@azure/storage-blob';
import { Storage, type Bucket } from '@google-cloud/storage';
import { CreateQueueCommand, DeleteQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { PutBucketNotificationConfigurationCommand, type S3Client } from '@aws-sdk/client-s3';
import { endpoints } from '@sightline/testkit';
import { DUMMY_SECRET, REGION, TENANT, uniqueName } from './harness.js';

const pad = (n: number) => String(n).padStart(2, '0');

// ---------------------------------------------------------------- GCP

export const GCP_PROJECT = 'sightline-local';

export function gcpSource(bucket: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { cloud: 'gcp', tenant: TENANT, projectId: GCP_PROJECT, bucket, credentials: { type: 'emulator' }, apiEndpoint: endpoints().gcsEndpoint, ...extra };
}

/** fake-gcs-server needs no credentials: a custom apiEndpoint makes the client skip Google auth. */
export const adminGcs = () => new Storage({ apiEndpoint: endpoints().gcsEndpoint, projectId: GCP_PROJECT });

export async function createGcsBucket(name: string): Promise<Bucket> {
  const [b] = await adminGcs().createBucket(name);
  return b;
}

export async function deleteGcsBucket(b: Bucket): Promise<void> {
  await b.deleteFiles({ force: true }).catch(() => undefined);
  await b.delete().catch(() => undefined);
}

/** `compute.googleapis.com/vpc_flows/YYYY/MM/DD/` of the day of `at` (the sink's layout). */
export function gcsDay(at = new Date()): string {
  return `compute.googleapis.com/vpc_flows/${at.getUTCFullYear()}/${pad(at.getUTCMonth() + 1)}/${pad(at.getUTCDate())}/`;
}

/** The hourly shard name of hour `h` (S0 on time, `A0:<unix>` for a late addendum). */
export function gcsShard(day: string, h: number, shard: string): string {
  return `${day}${pad(h)}:00:00_${pad(h)}:59:59_${shard}.json`;
}

/**
 * `lines` GCP VPC flow log entries (the Cloud Logging export, one JSON per line), shaped like
 * parsers' testdata/gcp/vpc_flows.ndjson: a reporting VM, its VPC, a connection, string-typed counters. Deterministic per seed.
 */
export function gcpFlowLog(lines: number, seed: number, vms = 40): Buffer {
  let x = seed >>> 0 || 1;
  const rnd = () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
  const base = Date.now() - 3_600_000;
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    const vm = `gke-shop-prod-default-pool-1a2b3c4d-${(rnd() % vms).toString(36).padStart(4, '0')}`;
    const start = new Date(base + (i % 3000) * 1000);
    const end = new Date(start.getTime() + 5000 + (rnd() % 55_000));
    const reporter = rnd() % 2 === 0 ? 'SRC' : 'DEST';
    const inst = { project_id: 'shop-prod-4711', region: 'europe-west1', vm_name: vm, zone: 'europe-west1-b' };
    const vpc = { project_id: 'shop-prod-4711', subnetwork_name: 'gke-nodes-ew1', vpc_name: 'shop-vpc' };
    out.push(JSON.stringify({
      insertId: `${seed.toString(36)}${i.toString(36)}`,
      jsonPayload: {
        bytes_sent: String(40 + (rnd() % 200_000)),
        connection: { dest_ip: `10.44.${rnd() % 256}.${rnd() % 256}`, dest_port: [443, 80, 7070, 5432][rnd() % 4], protocol: 6, src_ip: `10.44.${rnd() % 256}.${rnd() % 256}`, src_port: 1024 + (rnd() % 60_000) },
        end_time: end.toISOString(),
        packets_sent: String(1 + (rnd() % 500)),
        reporter,
        rtt_msec: String(rnd() % 50),
        ...(reporter === 'SRC' ? { src_instance: inst, src_vpc: vpc } : { dest_instance: inst, dest_vpc: vpc }),
        start_time: start.toISOString(),
      },
      logName: 'projects/shop-prod-4711/logs/compute.googleapis.com%2Fvpc_flows',
      receiveTimestamp: end.toISOString(),
      resource: { labels: { location: 'europe-west1-b', project_id: 'shop-prod-4711', subnetwork_id: '5512341928376412345', subnetwork_name: 'gke-nodes-ew1' }, type: 'gce_subnetwork' },
      timestamp: end.toISOString(),
    }));
  }
  return Buffer.from(`${out.join('\n')}\n`);
}

// ---------------------------------------------------------------- Azure

/** Azurite's well-known development account (public, documented); not a secret. */
export const AZURITE_CONNECTION = 'UseDevelopmentStorage=true';

export function azureSource(subscriptionId: string, containers: { nsg: string | null; vnet: string | null }, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    cloud: 'azure', tenant: TENANT, subscriptionId, storageAccount: 'devstoreaccount1', containers,
    credentials: { type: 'connection-string', connectionString: AZURITE_CONNECTION }, endpoint: endpoints().azureBlobEndpoint, lookbackHours: 2, ...extra,
  };
}

export function adminAzure(): BlobServiceClient {
  const dev = BlobServiceClient.fromConnectionString(AZURITE_CONNECTION);
  return new BlobServiceClient(endpoints().azureBlobEndpoint, dev.credential);
}

/** Container names: 3-63 lower-case letters, digits and dashes. */
export const uniqueContainer = (what: string) => `${what}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;

function hourPath(t: number): string {
  const d = new Date(t);
  return `y=${d.getUTCFullYear()}/m=${pad(d.getUTCMonth() + 1)}/d=${pad(d.getUTCDate())}/h=${pad(d.getUTCHours())}/m=00/`;
}

/** Where NSG flow logs land: one folder per NSG, then the hour, then the NIC's MAC. */
export function nsgBlobName(sub: string, t: number, nsg = 'AKS-AGENTPOOL-31415926-NSG', mac = '6045BDA1B2C3'): string {
  return `resourceId=/SUBSCRIPTIONS/${sub.toUpperCase()}/RESOURCEGROUPS/MC_SHOP-RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/${nsg}/${hourPath(t)}macAddress=${mac}/PT1H.json`;
}

/** Where VNet flow logs land: one folder per flow log, then the hour, then the NIC's MAC. */
export function vnetBlobName(sub: string, t: number, mac = '112233445566'): string {
  return `flowLogResourceID=/SUBSCRIPTIONS/${sub.toUpperCase()}/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_EASTUS/FLOWLOGS/VNETFLOWLOG/${hourPath(t)}macAddress=${mac}/PT1H.json`;
}

function xorshift(seed: number) {
  let x = seed >>> 0 || 1;
  return () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
}

/** One NSG (version 2) record of `tuples` flow tuples, shaped like parsers' testdata/azure/nsg-v2.json. */
export function nsgRecord(sub: string, tuples: number, seed: number, at = Date.now()): string {
  const rnd = xorshift(seed);
  const t0 = Math.floor(at / 1000) - 60;
  const ft: string[] = [];
  for (let i = 0; i < tuples; i++) {
    const out = rnd() % 2 === 0;
    const local = `10.5.${rnd() % 256}.${rnd() % 256}`, remote = `52.${rnd() % 256}.${rnd() % 256}.${rnd() % 256}`;
    ft.push(`${t0 + (i % 60)},${out ? local : remote},${out ? remote : local},${1024 + (rnd() % 60_000)},${[443, 80, 22][rnd() % 3]},T,${out ? 'O' : 'I'},A,C,${1 + (rnd() % 90)},${60 + (rnd() % 90_000)},${1 + (rnd() % 90)},${60 + (rnd() % 90_000)}`);
  }
  return JSON.stringify({
    time: new Date(at).toISOString(), systemId: 'a0fca5ce-022c-47b1-9735-89943b42f2fa', category: 'NetworkSecurityGroupFlowEvent',
    resourceId: `/SUBSCRIPTIONS/${sub.toUpperCase()}/RESOURCEGROUPS/MC_SHOP-RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/AKS-AGENTPOOL-31415926-NSG`,
    operationName: 'NetworkSecurityGroupFlowEvents',
    properties: { Version: 2, flows: [{ rule: 'UserRule_allow-web', flows: [{ mac: '6045BDA1B2C3', flowTuples: ft }] }] },
  });
}

/** One VNet flow log (version 4) record of `tuples` flow tuples, shaped like parsers' testdata/azure/vnet.json. */
export function vnetRecord(sub: string, tuples: number, seed: number, at = Date.now()): string {
  const rnd = xorshift(seed);
  const t0 = at - 60_000;
  const ft: string[] = [];
  for (let i = 0; i < tuples; i++) {
    const out = rnd() % 2 === 0;
    const local = `10.0.${rnd() % 256}.${rnd() % 256}`, remote = `203.0.${rnd() % 256}.${rnd() % 256}`;
    ft.push(`${t0 + (i % 60) * 1000},${out ? local : remote},${out ? remote : local},${1024 + (rnd() % 60_000)},${[443, 80, 22][rnd() % 3]},6,${out ? 'O' : 'I'},E,NX,${1 + (rnd() % 90)},${60 + (rnd() % 90_000)},${1 + (rnd() % 90)},${60 + (rnd() % 90_000)}`);
  }
  return JSON.stringify({
    time: new Date(at).toISOString(), flowLogVersion: 4, flowLogGUID: '66aa66aa-bb77-cc88-dd99-00ee00ee00ee', macAddress: '112233445566', category: 'FlowLogFlowEvent',
    flowLogResourceID: `/SUBSCRIPTIONS/${sub.toUpperCase()}/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_EASTUS/FLOWLOGS/VNETFLOWLOG`,
    targetResourceID: `/subscriptions/${sub}/resourceGroups/shop/providers/Microsoft.Network/virtualNetworks/shop-vnet`,
    operationName: 'FlowLogFlowEvent',
    flowRecords: { flows: [{ aclID: '00aa00aa-bb11-cc22-dd33-44ee44ee44ee', flowGroups: [{ rule: 'DefaultRule_AllowInternetOutBound', flowTuples: ft }] }] },
  });
}

export const AZURE_HEAD = Buffer.from('{"records":[');
export const AZURE_TAIL = Buffer.from(']}');

/**
 * A PT1H.json written the way the platform writes it: a 12-byte head block, one block per record
 * (after the first they start with a comma), a 2-byte tail block kept last; every append stages
 * the new blocks and commits the list with them inserted before the tail.
 */
export class Pt1hWriter {
  private readonly records: string[] = [];
  private readonly ids: string[] = [];
  private readonly gen = randomBytes(4).toString('hex');
  readonly blob: BlockBlobClient;
  constructor(container: ContainerClient, readonly name: string) {
    this.blob = container.getBlockBlobClient(name);
  }

  // Block ids of one blob must all have the same length (base64 of a fixed-width string).
  private id(n: number): string {
    return Buffer.from(`${this.gen}-${String(n).padStart(6, '0')}`).toString('base64');
  }

  /**
   * Appends records and commits; returns the bytes of the new blocks. Each record is its own block
   * unless `perBlock` groups them (the platform writes one block per minute, with that minute's records).
   */
  async append(records: string[], perBlock = 1): Promise<number> {
    let added = 0;
    if (this.ids.length === 0) {
      await this.blob.stageBlock(this.id(0), AZURE_HEAD, AZURE_HEAD.length);
      await this.blob.stageBlock(this.id(999_999), AZURE_TAIL, AZURE_TAIL.length);
      this.ids.push(this.id(0));
      added += AZURE_HEAD.length;
    }
    for (let i = 0; i < records.length; i += perBlock) {
      const group = records.slice(i, i + perBlock);
      const body = Buffer.from(`${this.records.length === 0 ? '' : ','}${group.join(',')}`);
      const id = this.id(this.ids.length);
      await this.blob.stageBlock(id, body, body.length);
      this.ids.push(id);
      this.records.push(...group);
      added += body.length;
    }
    await this.blob.commitBlockList([...this.ids, this.id(999_999)]);
    return added;
  }

  /** The whole blob as a reader would see it now. */
  document(): Buffer {
    return Buffer.from(`{"records":[${this.records.join(',')}]}`);
  }
}

export const newSubscription = () => randomUUID();

// ---------------------------------------------------------------- SQS (moto)

export function adminSqs(): SQSClient {
  return new SQSClient({ region: REGION, endpoint: endpoints().s3Endpoint, credentials: { accessKeyId: 'test', secretAccessKey: DUMMY_SECRET } });
}

/** A queue (unique name) receiving the bucket's ObjectCreated notifications; returns its URL. */
export async function notifyingQueue(sqs: SQSClient, s3: S3Client, bucket: string, visibilityTimeoutSeconds: number): Promise<string> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: uniqueName('q'), Attributes: { VisibilityTimeout: String(visibilityTimeoutSeconds) } }));
  if (QueueUrl === undefined) throw new Error('moto returned no QueueUrl');
  const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes?.['QueueArn'];
  await s3.send(new PutBucketNotificationConfigurationCommand({
    Bucket: bucket,
    NotificationConfiguration: { QueueConfigurations: [{ QueueArn: arn, Events: ['s3:ObjectCreated:*'] }] },
  }));
  return QueueUrl;
}

/** Messages ready to be received, and received but invisible (in flight). */
export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<{ visible: number; inFlight: number }> {
  const a = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }))).Attributes ?? {};
  return { visible: Number(a['ApproximateNumberOfMessages'] ?? NaN), inFlight: Number(a['ApproximateNumberOfMessagesNotVisible'] ?? NaN) };
}

export async function deleteQueue(sqs: SQSClient, queueUrl: string): Promise<void> {
  await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl })).catch(() => undefined);
}
