import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MediaChunk } from '../../src/core/types.js';
import { SeqTracker } from '../../src/window/seq.js';
import { audioChunk } from '../support/chunks.js';

const c = (seq: number) => audioChunk({ seq });
const seqs = (cs: MediaChunk[]) => cs.map((x) => x.seq);

test('in order passes; a gap is held until filled, then delivered in order', () => {
  const s = new SeqTracker<MediaChunk>(0, 4);
  assert.deepEqual(seqs(s.offer(c(0)).deliver), [0]);
  assert.deepEqual(seqs(s.offer(c(2)).deliver), []);
  assert.deepEqual(seqs(s.offer(c(3)).deliver), []);
  assert.deepEqual(seqs(s.offer(c(1)).deliver), [1, 2, 3]);
  assert.equal(s.heldCount, 0);
});

test('duplicates: already delivered or already held', () => {
  const s = new SeqTracker<MediaChunk>(0, 4);
  s.offer(c(0));
  s.offer(c(2));
  assert.equal(s.offer(c(0)).error?.code, 'CHUNK_DUPLICATE');
  assert.equal(s.offer(c(2)).error?.code, 'CHUNK_DUPLICATE');
});

test('a gap is given up after the reorder window; the straggler is then CHUNK_OUT_OF_ORDER', () => {
  const s = new SeqTracker<MediaChunk>(0, 2);
  s.offer(c(0));
  assert.deepEqual(seqs(s.offer(c(2)).deliver), []);
  assert.deepEqual(seqs(s.offer(c(3)).deliver), []);
  assert.deepEqual(seqs(s.offer(c(4)).deliver), [2, 3, 4], 'third held chunk exceeds the window of 2');
  const late = s.offer(c(1));
  assert.equal(late.error?.code, 'CHUNK_OUT_OF_ORDER');
  assert.deepEqual(late.error?.details, { seq: 1, lastSeq: 4, callId: 'call-1', channel: 'customer', modality: 'audio' });
});

test('flush delivers everything held, in seq order', () => {
  const s = new SeqTracker<MediaChunk>(0, 8);
  s.offer(c(5));
  s.offer(c(3));
  s.offer(c(4));
  assert.deepEqual(seqs(s.flush()), [3, 4, 5]);
  assert.equal(s.offer(c(1)).error?.code, 'CHUNK_OUT_OF_ORDER');
});
