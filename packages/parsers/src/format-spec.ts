import type { FlowBatch } from '@sightline/flow';
import type { RandomAccessParser, StreamParser } from './types.js';

/**
 * What one flow-log format is, in one place: how it is recognised and parsed, which flow fields
 * its rows fill, how its rows are keyed into the collector's interface groups and how a row's
 * scope (account, network) is found for attribution. Each format's folder under `formats/`
 * exports its spec; `registry.ts` lists them, and the rest of the system asks the registry
 * instead of branching on the cloud.
 */

/** What detection sees of an object's decompressed head. */
export interface DetectHead {
  /** the first KiB as latin1, BOM removed, leading white space trimmed */
  readonly text: string;
  /** `text` up to the first newline */
  readonly firstLine: string;
  /** object key or file path: breaks ties only where content is ambiguous */
  readonly name: string;
}

/** One end of a flow. */
export type Side = 'src' | 'dst';

/** The account and network a flow side belongs to, as its record says; null where it says nothing. */
export interface SideScope {
  account: string | null;
  network: string | null;
}

/** What the collector and the attributor ask of a format about its rows (columns by index). */
export interface RowRules {
  /** per side, the address columns tried in order: the first non-null is the address looked up */
  readonly addrColumns: Readonly<Record<Side, readonly number[]>>;
  /**
   * The scope of one side of row r. `objectAccount` is the account the object was delivered for
   * (the S3 key's `AWSLogs/<account>/`), null when unknown.
   */
  scope(batch: FlowBatch, r: number, side: Side, objectAccount: string | null): SideScope;
  /**
   * The interface that reported row r, null when the record names none. The collector keys its
   * Kafka messages by it, so all flows of an interface stay in one partition, in order.
   */
  interfaceKey(batch: FlowBatch, r: number): string | null;
}

interface SpecBase<Id extends string, C extends string> extends RowRules {
  readonly id: Id;
  readonly cloud: C;
  readonly title: string;
  /** the values its rows carry in the `format` column (Azure NSG writes azure-nsg-v1 and -v2) */
  readonly rowFormats: readonly string[];
  /** the flow fields its rows fill (names in `@sightline/flow`'s field table) */
  readonly fields: readonly string[];
  /**
   * Rows of its cloud that carry no known `format` (batches built by hand, by tools) follow this
   * format's row rules; one format per cloud says so.
   */
  readonly cloudDefault?: boolean;
}

/** A format read as a byte stream (text, NDJSON, a JSON document). */
export interface StreamFormatSpec<Id extends string = string, C extends string = string> extends SpecBase<Id, C> {
  readonly access: 'stream';
  /** true when the decompressed head is this format; the registry asks formats in its order */
  detect(head: DetectHead): boolean;
  readonly parse: StreamParser;
}

/** A format that needs random access (Parquet: the footer comes first). */
export interface RandomAccessFormatSpec<Id extends string = string, C extends string = string> extends SpecBase<Id, C> {
  readonly access: 'random';
  /** true when a Parquet file with these columns is this format; the registry asks in its order */
  detectColumns(names: readonly string[]): boolean;
  readonly parse: RandomAccessParser;
}

export type FormatSpec<Id extends string = string, C extends string = string> = StreamFormatSpec<Id, C> | RandomAccessFormatSpec<Id, C>;
