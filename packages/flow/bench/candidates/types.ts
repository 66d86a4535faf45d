import type { FlowBatch } from '../../src/index.js';

/** A serialization of a batch body, before compression. */
export interface Format {
  readonly name: string;
  encode(batch: FlowBatch): Uint8Array;
  decode(buf: Uint8Array): FlowBatch;
}

/** A whole candidate: format + compression, bytes in and out. */
export interface Candidate {
  readonly name: string;
  encode(batch: FlowBatch): Uint8Array;
  decode(buf: Uint8Array): FlowBatch;
}
