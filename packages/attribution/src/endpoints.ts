/**
 * The endpoint descriptors leases point to: one row per pod, node or service, held as parallel
 * string columns so a lookup result is a plain integer and writing a flow's attribution copies
 * references, never builds an object.
 */

export const ENDPOINT_FIELDS = ['kind', 'cluster', 'namespace', 'pod', 'node', 'workload', 'workload_kind', 'service', 'zone', 'labels'] as const;
export type EndpointField = (typeof ENDPOINT_FIELDS)[number];

export type EndpointKind = 'pod' | 'node' | 'service';

export type Endpoint = { kind: EndpointKind } & { [K in Exclude<EndpointField, 'kind'>]: string | null };

export class EndpointTable {
  /** columns[f][id]: value of field f (ENDPOINT_FIELDS order) for endpoint id */
  readonly columns: (string | null)[][] = ENDPOINT_FIELDS.map(() => []);
  private readonly free: number[] = [];
  private live = 0;

  get size(): number {
    return this.live;
  }

  add(e: Endpoint): number {
    const id = this.free.pop() ?? this.columns[0]!.length;
    this.write(id, e);
    this.live++;
    return id;
  }

  /** Rewrites an endpoint in place (labels or service membership changed); its leases keep pointing at it. */
  update(id: number, e: Endpoint): void {
    this.write(id, e);
  }

  /** Frees ids no lease refers to any more (after compaction); they are reused by `add`. */
  release(id: number): void {
    if (this.columns[0]![id] === null || this.columns[0]![id] === undefined) return;
    for (const c of this.columns) c[id] = null;
    this.free.push(id);
    this.live--;
  }

  get(id: number): Endpoint | null {
    const kind = this.columns[0]![id];
    if (kind === null || kind === undefined) return null;
    const out: Record<string, string | null> = {};
    ENDPOINT_FIELDS.forEach((f, i) => (out[f] = this.columns[i]![id] ?? null));
    return out as Endpoint;
  }

  private write(id: number, e: Endpoint): void {
    ENDPOINT_FIELDS.forEach((f, i) => (this.columns[i]![id] = e[f]));
  }
}
