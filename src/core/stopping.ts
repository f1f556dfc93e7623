/**
 * The signal a stage gives when it is shutting down and will take no more records: not an error
 * of the record (nothing is dead-lettered), and not a failure of the batch (nothing is retried).
 *
 * A ChunkSink's `accept` throws it with the refs of the records of the batch it did not take; the
 * source forgets them unreleased, so their offsets stay uncommitted and the partition's next owner
 * reads them (docs/lifecycle.md, the process: shutdown).
 */
import type { ChunkSourceRef } from './types.js';

export class SinkStopping extends Error {
  constructor(
    /** Records of the batch the sink did not take, in batch order. */
    readonly untaken: ChunkSourceRef[] = [],
  ) {
    super('the sink is stopping: records left for the next owner');
    this.name = 'SinkStopping';
  }
}
