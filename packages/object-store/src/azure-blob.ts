import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { ClientSecretCredential } from '@azure/identity';
import { BlobServiceClient, StorageSharedKeyCredential, type BlockBlobClient, type ContainerClient } from '@azure/storage-blob';
import { z } from 'zod';
import type { RandomAccessSource } from '@sightline/parsers';
import type { AzureSourceConfig } from './config.js';
import { cloudCall, toCloudError } from './errors.js';
import { countedStream } from './streams.js';
import { CloudError, type Discovery, type ObjectReader, type ObjectRef } from './types.js';

/**
 * Azure NSG and VNet flow logs: hourly `PT1H.json` block blobs that grow every minute.
 *
 * The platform stages a new record block and re-commits the list with it inserted before the
 * final 2-byte `]}` block; the first block is the 12-byte `{"records":[`. So the bytes of the
 * committed blocks before the tail never move, and a reader can take exactly the new ones:
 * per blob the cursor keeps the number of blocks consumed, the ids of the first and last of
 * them and their byte total; the next unit is [consumed, size - tail size), i.e. the blocks
 * added since. The first unit of a blob starts with the head; later ones are fragments (their
 * blocks start with `,{`). If the committed list no longer starts with the checkpointed blocks,
 * the blob was replaced: its checkpoint is dropped, reading starts over, and `onNotice` says so.
 *
 * `ObjectRef.version` of a unit is the blob's generation (creation time and first block id),
 * not its ETag: the ETag changes every minute while the bytes of a committed range never do, so
 * the generation plus the range is the deterministic identity of the flows read.
 *
 * A blob written in one request (Put Blob: `az storage blob upload`, the SDK's `upload()` or a
 * small `uploadData()`) has no committed blocks at all. It is read as a whole, and its checkpoint
 * keeps bytes instead of blocks (`blocks: 0`): its length, where its records close (the offset of
 * its last `]`, the start of the `]}` tail) and a digest of the first and last 64 bytes before
 * that offset. If it grows by another Put Blob (which gives it a new creation time, so the digest,
 * not the generation, says the bytes read are still there), the bytes from that offset on are read
 * as a fragment. If blocks are committed to it later (Put Block
 * List), the committed list holds the whole content, the old bytes first: the blocks from that
 * offset to the tail block are read as a fragment, and the checkpoint becomes a block one. No
 * record is read twice, none is skipped, provided the writer keeps what it wrote (an append-only
 * log does); a blob that shrank is said to be replaced and read again.
 */

export const BlobCheckpointSchema = z.object({
  /** start of the blob's hour (ms), to forget it once the hour leaves the window */
  hour: z.number().int(),
  version: z.string(),
  /** blocks consumed, from the first; the tail is never consumed. 0: a blob without committed blocks, read by bytes */
  blocks: z.number().int().nonnegative(),
  firstBlock: z.string(),
  lastBlock: z.string(),
  /** bytes of those blocks: where the next unit starts (blocks 0: where the records read close) */
  consumed: z.number().int().nonnegative(),
  /** blocks 0: the blob's length when read; it is read again only when it grows */
  size: z.number().int().nonnegative().optional(),
  /** blocks 0: sha256 (hex) of the first and last SEAL_BYTES bytes of [0, consumed), to check they are still there before reading on */
  seal: z.string().optional(),
});

/** bytes at each end of what a blob read by bytes held before its close, whose digest is kept */
const SEAL_BYTES = 64;
export type BlobCheckpoint = z.infer<typeof BlobCheckpointSchema>;

export const AzureCursorSchema = z.object({
  v: z.literal(1),
  /** by `container/blob name` */
  blobs: z.record(z.string(), BlobCheckpointSchema),
});
export type AzureCursor = z.infer<typeof AzureCursorSchema>;

export function parseAzureCursor(value: unknown, where: string): AzureCursor {
  const r = AzureCursorSchema.safeParse(value);
  if (!r.success) throw new Error(`${where}: bad Azure cursor: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return r.data;
}

export interface CommittedBlock {
  name: string;
  size: number;
}

type PlanCheckpoint = Pick<BlobCheckpoint, 'blocks' | 'firstBlock' | 'lastBlock' | 'consumed' | 'size'>;

export type BlobPlan =
  | { kind: 'none'; replaced: boolean }
  /** committed blocks [first, last) = bytes [start, end); last is the tail, never read */
  | { kind: 'unit'; replaced: boolean; start: number; end: number; first: number; last: number; checkpoint: Omit<BlobCheckpoint, 'hour' | 'version' | 'size'> }
  /** no committed blocks (Put Blob): bytes [start, end) of the blob as stored, tail included; the caller finds where its records close */
  | { kind: 'bytes'; replaced: boolean; start: number; end: number };

/**
 * What to read of a blob given its committed block list, its length and its checkpoint: pure, so
 * the rules (tail excluded, replaced blob detected, nothing new, a blob without blocks) are
 * tested without a server.
 */
export function planBlob(blocks: readonly CommittedBlock[], ckpt: PlanCheckpoint | undefined, length?: number): BlobPlan {
  const total = length ?? blocks.reduce((n, b) => n + b.size, 0);
  if (blocks.length === 0) {
    if (ckpt !== undefined && ckpt.blocks === 0 && ckpt.size !== undefined && total >= ckpt.size) {
      // grown by another Put Blob: what follows the records read (their `]}` tail is re-read, as the opening of a fragment's records)
      return total === ckpt.size ? { kind: 'none', replaced: false } : { kind: 'bytes', replaced: false, start: ckpt.consumed, end: total };
    }
    const replaced = ckpt !== undefined;
    return total > 0 ? { kind: 'bytes', replaced, start: 0, end: total } : { kind: 'none', replaced };
  }
  const last = blocks.length - 1;
  if (ckpt !== undefined && ckpt.blocks === 0) {
    // Blocks committed to a blob read by bytes: the old content is their first bytes, the new records start where the old ones closed.
    let end = 0;
    for (let i = 0; i < last; i++) end += blocks[i]!.size;
    if (ckpt.size !== undefined && total >= ckpt.size) {
      if (blocks.length < 2 || end <= ckpt.consumed) return { kind: 'none', replaced: false };
      let first = 0;
      for (let at = blocks[0]!.size; at <= ckpt.consumed; at += blocks[++first]!.size);
      return {
        kind: 'unit', replaced: false, start: ckpt.consumed, end, first, last,
        checkpoint: { blocks: last, firstBlock: blocks[0]!.name, lastBlock: blocks[last - 1]!.name, consumed: end },
      };
    }
    return { ...planBlob(blocks, undefined, length), replaced: true };
  }
  let replaced = false;
  let from = 0;
  let start = 0;
  if (ckpt !== undefined) {
    let sum = 0;
    for (let i = 0; i < ckpt.blocks && i < blocks.length; i++) sum += blocks[i]!.size;
    const same = blocks.length > ckpt.blocks && blocks[0]!.name === ckpt.firstBlock && blocks[ckpt.blocks - 1]!.name === ckpt.lastBlock && sum === ckpt.consumed;
    if (same) {
      from = ckpt.blocks;
      start = ckpt.consumed;
    } else replaced = true;
  }
  // head, at least one record block, tail: anything shorter has nothing to read yet
  if (blocks.length < 3 || from >= last) return { kind: 'none', replaced };
  let end = start;
  for (let i = from; i < last; i++) end += blocks[i]!.size;
  return {
    kind: 'unit',
    replaced,
    start,
    end,
    first: from,
    last,
    checkpoint: { blocks: last, firstBlock: blocks[0]!.name, lastBlock: blocks[last - 1]!.name, consumed: end },
  };
}

const HOUR_IN_NAME = /\/y=(\d{4})\/m=(\d{2})\/d=(\d{2})\/h=(\d{2})\//;
export function blobHour(name: string): number | undefined {
  const m = HOUR_IN_NAME.exec(name);
  return m === null ? undefined : Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]));
}

const pad = (n: number) => String(n).padStart(2, '0');
const hourPath = (t: number) => {
  const d = new Date(t);
  return `y=${d.getUTCFullYear()}/m=${pad(d.getUTCMonth() + 1)}/d=${pad(d.getUTCDate())}/h=${pad(d.getUTCHours())}/`;
};

export function createBlobServiceClient(c: Pick<AzureSourceConfig, 'storageAccount' | 'credentials' | 'endpoint'>): BlobServiceClient {
  const url = c.endpoint ?? `https://${c.storageAccount}.blob.core.windows.net`;
  switch (c.credentials.type) {
    case 'connection-string': {
      let fromCs: BlobServiceClient;
      try {
        fromCs = BlobServiceClient.fromConnectionString(c.credentials.connectionString);
      } catch {
        // the SDK's message can quote the string: never pass it on
        throw new Error(`azure ${c.storageAccount}: credentials.connectionString is not a valid storage connection string`);
      }
      return c.endpoint !== undefined && fromCs.credential instanceof StorageSharedKeyCredential ? new BlobServiceClient(c.endpoint, fromCs.credential) : fromCs;
    }
    case 'sas':
      return new BlobServiceClient(`${url}?${c.credentials.sasToken.replace(/^\?/, '')}`);
    case 'service-principal':
      return new BlobServiceClient(url, new ClientSecretCredential(c.credentials.tenantId, c.credentials.clientId, c.credentials.clientSecret));
  }
}

export interface AzureNotice {
  kind: 'replaced';
  container: string;
  blob: string;
  message: string;
}

export interface AzureDiscoveryOptions {
  now?: () => number;
  /** says when a blob was replaced and is read again from its start */
  onNotice?: (n: AzureNotice) => void;
  /** how long the list of flow-log resources (the folders above `y=`) is reused before walking the containers again; default: the config's `resourceRescanSeconds` (0: every poll) */
  rootsTtlMs?: number;
}

interface Container {
  client: ContainerClient;
  name: string;
}

export class AzureBlobDiscovery implements Discovery<AzureCursor> {
  private readonly containers: Container[];
  private roots: { at: number; byContainer: Map<string, string[]> } | undefined;

  constructor(service: BlobServiceClient, private readonly c: AzureSourceConfig, private readonly opts: AzureDiscoveryOptions = {}) {
    this.containers = [];
    if (c.containers.nsg !== null) this.containers.push({ client: service.getContainerClient(c.containers.nsg), name: c.containers.nsg });
    if (c.containers.vnet !== null) this.containers.push({ client: service.getContainerClient(c.containers.vnet), name: c.containers.vnet });
  }

  async *poll(cursor: AzureCursor | undefined, signal?: AbortSignal): AsyncIterable<{ ref: ObjectRef; cursor: AzureCursor }> {
    const now = (this.opts.now ?? Date.now)();
    const firstHour = Math.floor((now - this.c.lookbackHours * 3_600_000) / 3_600_000) * 3_600_000;
    const blobs: Record<string, BlobCheckpoint> = {};
    // Hours that left the window are forgotten: their blobs are no longer listed either.
    for (const [k, v] of Object.entries(cursor?.blobs ?? {})) if (v.hour >= firstHour) blobs[k] = v;

    const rootsBy = await this.resourceRoots(now, signal);
    for (const ct of this.containers) {
      for (const root of rootsBy.get(ct.name) ?? []) {
        for (let h = firstHour; h <= now; h += 3_600_000) {
          const prefix = `${root}${hourPath(h)}`;
          const names: { name: string; created: number; size: number }[] = [];
          const where = `list ${ct.name}/${prefix}`;
          try {
            for await (const b of ct.client.listBlobsFlat({ prefix, abortSignal: signal })) {
              if (b.name.endsWith('/PT1H.json')) names.push({ name: b.name, created: b.properties.createdOn?.getTime() ?? 0, size: b.properties.contentLength ?? 0 });
            }
          } catch (err) {
            throw toCloudError('azure', where, err);
          }
          names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
          for (const b of names) {
            const unit = await this.unitOf(ct, b.name, b.created, h, blobs[`${ct.name}/${b.name}`], signal);
            if (unit === undefined) continue;
            blobs[`${ct.name}/${b.name}`] = unit.checkpoint;
            yield { ref: unit.ref, cursor: { v: 1, blobs: { ...blobs } } };
          }
        }
      }
    }
  }

  private async unitOf(ct: Container, name: string, created: number, hour: number, ckpt: BlobCheckpoint | undefined, signal?: AbortSignal): Promise<{ ref: ObjectRef; checkpoint: BlobCheckpoint } | undefined> {
    const blob = ct.client.getBlockBlobClient(name);
    let list;
    try {
      list = await blob.getBlockList('committed', { abortSignal: signal });
    } catch (err) {
      const e = toCloudError('azure', `getBlockList ${ct.name}/${name}`, err);
      if (e instanceof CloudError && e.kind === 'not-found') return undefined; // deleted since listed
      throw e;
    }
    const blocks = (list.committedBlocks ?? []).map((b) => ({ name: b.name, size: b.size }));
    const length = list.blobContentLength ?? blocks.reduce((s, b) => s + b.size, 0);
    const generation = new Date(created).toISOString();
    // a blob written by Put Blob has no first block: its checkpoint stays usable once blocks are committed to it
    const byBytes = `${generation}/`;
    const version = `${generation}/${blocks[0]?.name ?? ''}`;
    let usable = ckpt !== undefined && ckpt.version === version ? ckpt : undefined;
    if (ckpt !== undefined && ckpt.blocks === 0) {
      // A Put Blob over the blob gives it a new creation time (Azurite does) though a writer that
      // re-uploads a growing document only added to it: what decides is whether the bytes before
      // where its records closed are still those read (their digest), not the generation.
      const unchanged = blocks.length === 0 && length === ckpt.size && ckpt.version === byBytes;
      usable = unchanged || (length >= (ckpt.size ?? Infinity) && await this.stillHolds(blob, ckpt, `${ct.name}/${name}`, signal)) ? ckpt : undefined;
    }
    const plan = planBlob(blocks, usable, length);
    if (ckpt !== undefined && (usable === undefined || plan.replaced)) {
      this.opts.onNotice?.({
        kind: 'replaced', container: ct.name, blob: name,
        message: `azure ${ct.name}/${name}: the blob was replaced (its content no longer starts with the ${ckpt.blocks > 0 ? `${ckpt.blocks} blocks` : `${ckpt.consumed} bytes`} read before): reading it again from the start`,
      });
    }
    if (plan.kind === 'none') return undefined;
    const common = {
      cloud: 'azure' as const, tenant: this.c.tenant, account: this.c.subscriptionId, bucket: ct.name, key: name, size: length,
      range: { start: plan.start, end: plan.end },
      ...(plan.start > 0 ? { fragment: true } : {}),
      ...(list.lastModified !== undefined ? { lastModified: list.lastModified.toISOString() } : {}),
    };
    if (plan.kind === 'bytes') {
      // No blocks: the unit is the stored bytes, tail included (no `blocks`, so nothing is put behind them).
      const { consumed, seal } = await this.recordsEnd(blob, length, `${ct.name}/${name}`, signal);
      return { ref: { ...common, version: byBytes }, checkpoint: { blocks: 0, firstBlock: '', lastBlock: '', consumed, size: length, seal, hour, version: byBytes } };
    }
    return {
      ref: { ...common, version, blocks: { first: plan.first, last: plan.last } },
      checkpoint: { ...plan.checkpoint, hour, version },
    };
  }

  /**
   * Where the records of a blob without blocks close: the offset of its last `]` (the `]}` tail,
   * perhaps followed by a line end), read from its last bytes; records appended later start there.
   * A blob without one is not a records document: its length (the parser reports it). The seal is
   * the digest of the first and the last SEAL_BYTES bytes before that offset, to tell later that
   * they are unchanged (a rewrite changes the first record or the length before the close).
   */
  private async recordsEnd(blob: BlockBlobClient, length: number, where: string, signal?: AbortSignal): Promise<{ consumed: number; seal: string }> {
    const from = Math.max(0, length - 64 - SEAL_BYTES);
    const tail = await cloudCall('azure', `download ${where} bytes ${from}+${length - from}`, () => blob.downloadToBuffer(from, length - from, { abortSignal: signal }));
    const i = tail.lastIndexOf(0x5d); // ]
    const consumed = i < 0 ? length : from + i;
    return { consumed, seal: await this.sealOf(blob, consumed, where, signal) };
  }

  private async sealOf(blob: BlockBlobClient, consumed: number, where: string, signal?: AbortSignal): Promise<string> {
    const h = createHash('sha256');
    const headEnd = Math.min(SEAL_BYTES, consumed);
    const tailStart = Math.max(headEnd, consumed - SEAL_BYTES);
    for (const [a, b] of [[0, headEnd], [tailStart, consumed]] as const) {
      if (b > a) h.update(await cloudCall('azure', `download ${where} bytes ${a}+${b - a}`, () => blob.downloadToBuffer(a, b - a, { abortSignal: signal })));
    }
    return h.digest('hex');
  }

  /** Whether the blob still holds, before the checkpoint's offset, the bytes read (a checkpoint without a seal: its generation decides). */
  private async stillHolds(blob: BlockBlobClient, ckpt: BlobCheckpoint, where: string, signal?: AbortSignal): Promise<boolean> {
    if (ckpt.seal === undefined) return false;
    return (await this.sealOf(blob, ckpt.consumed, where, signal)) === ckpt.seal;
  }

  /**
   * The folders directly above `y=…` (one per NSG / NIC / flow log), found by walking the
   * container level by level; only those of this subscription are kept. Walked again at every
   * poll unless `resourceRescanSeconds` says otherwise: a cache of 10 minutes (fixed, before) let a
   * new flow log's first blob wait up to that long.
   */
  private async resourceRoots(now: number, signal?: AbortSignal): Promise<Map<string, string[]>> {
    const ttl = this.opts.rootsTtlMs ?? (this.c.resourceRescanSeconds ?? 0) * 1000;
    if (this.roots !== undefined && now - this.roots.at < ttl) return this.roots.byContainer;
    const sub = this.c.subscriptionId.toUpperCase();
    const byContainer = new Map<string, string[]>();
    for (const ct of this.containers) {
      const roots: string[] = [];
      const walk = async (prefix: string, depth: number): Promise<void> => {
        if (depth > 16) return;
        const children: string[] = [];
        try {
          for await (const item of ct.client.listBlobsByHierarchy('/', { prefix, abortSignal: signal })) {
            if (item.kind === 'prefix') children.push(item.name);
          }
        } catch (err) {
          const e = toCloudError('azure', `list ${ct.name}/${prefix}`, err);
          if (e instanceof CloudError && e.kind === 'not-found' && prefix === '') return; // no logs in this container yet
          throw e;
        }
        if (children.some((p) => /(^|\/)y=\d{4}\/$/.test(p))) {
          if (prefix.toUpperCase().includes(sub)) roots.push(prefix);
          return;
        }
        for (const child of children) await walk(child, depth + 1);
      };
      await walk('', 0);
      byContainer.set(ct.name, roots.sort());
    }
    this.roots = { at: now, byContainer };
    return byContainer;
  }
}

export class AzureBlobReader implements ObjectReader {
  /** bytes received from Azure, for metrics (and to show that only new ranges are fetched) */
  bytesFetched = 0;
  constructor(private readonly service: BlobServiceClient) {}

  /** No If-Match: the ETag moves every minute as blocks are added, while the committed range read here does not. */
  async open(ref: ObjectRef, signal?: AbortSignal): Promise<Readable> {
    const blob = this.service.getContainerClient(ref.bucket).getBlockBlobClient(ref.key);
    const start = ref.range?.start ?? 0;
    const count = ref.range !== undefined ? ref.range.end - ref.range.start : undefined;
    const where = `download ${ref.bucket}/${ref.key}${ref.range !== undefined ? ` bytes [${ref.range.start}, ${ref.range.end})` : ''}`;
    if (count === 0) return Readable.from([]);
    const res = await cloudCall('azure', where, () => blob.download(start, count, { abortSignal: signal }));
    const body = res.readableStreamBody;
    if (body === undefined) throw new Error(`azure ${where}: response has no body`);
    return countedStream(body, (n) => (this.bytesFetched += n), (err) => toCloudError('azure', where, err));
  }

  /**
   * A unit of blocks after the blob's first continues the `{"records":[` array an earlier unit
   * opened: the head is put back in front (the parsers skip the `,` a record block starts with).
   * No block unit holds the blob's `]}` tail block (it stays last while the blob grows): it is put
   * back behind, else the parser would report every unit as an unfinished document. A blob read
   * by bytes (no committed blocks) has its own tail.
   */
  framing(ref: ObjectRef): { head?: Uint8Array; tail?: Uint8Array } {
    return { head: ref.fragment === true ? AZURE_RECORDS_HEAD : undefined, tail: ref.blocks !== undefined ? AZURE_RECORDS_TAIL : undefined };
  }

  async randomAccess(ref: ObjectRef): Promise<RandomAccessSource> {
    const blob = this.service.getContainerClient(ref.bucket).getBlockBlobClient(ref.key);
    return {
      size: ref.size,
      read: async (offset: number, length: number) => {
        if (length <= 0) return new Uint8Array(0);
        const buf = await cloudCall('azure', `download ${ref.bucket}/${ref.key} bytes ${offset}+${length}`, () => blob.downloadToBuffer(offset, length));
        this.bytesFetched += buf.length;
        return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      },
    };
  }
}

/** `{"records":[`: what a fragment lacks to be read by a scanner that expects a whole document. */
export const AZURE_RECORDS_HEAD = Buffer.from('{"records":[');
/** `]}`: the blob's tail block, which no block unit holds. */
export const AZURE_RECORDS_TAIL = Buffer.from(']}');

/**
 * Until the Azure scanner has a fragment mode, a fragment unit can be parsed by putting the
 * 12-byte head in front of it: the scanner already skips the leading `,`. Offsets the scanner
 * reports are then 12 more than the offset in the unit (add `range.start - 12` for the blob).
 */
export function asRecordsDocument(ref: ObjectRef, stream: Readable): Readable {
  if (ref.fragment !== true) return stream;
  return Readable.from((async function* () {
    yield AZURE_RECORDS_HEAD;
    for await (const chunk of stream) yield chunk as Buffer;
  })());
}

export function azureBlobSource(c: AzureSourceConfig, opts: AzureDiscoveryOptions = {}): { service: BlobServiceClient; discovery: AzureBlobDiscovery; reader: AzureBlobReader } {
  const service = createBlobServiceClient(c);
  return { service, discovery: new AzureBlobDiscovery(service, c, opts), reader: new AzureBlobReader(service) };
}
