/**
 * PartitionedWindow and fencing: a partition lost to another owner is dropped whole, its chunks
 * are neither released nor rejected (no dead letters, no idle timeouts of calls it no longer
 * owns) until it is assigned again; call updates name their partition (their fence token's);
 * a call left ACTIVE by a stopped owner is ended through `endStale`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PartitionedWindow } from '../../src/window/partitioned-window.js';
import type { ChunkSourceRef } from '../../src/core/types.js';
import { Windower } from '../../src/window/index.js';
import { audioChunk, callStart, T0, tone } from '../support/chunks.js';

const WIN = { transcriptWaitMs: 0, allowedLatenessMs: 200, idleTimeoutMs: 1_000 };
const ref = (offset: number, partition = 0): ChunkSourceRef => ({ topic: 'chunks', partition, offset: String(offset) });

test('a fenced partition: state dropped, chunks dropped unreleased and unrejected, no timeouts; back after a new assignment', () => {
  const w = new PartitionedWindow({ make: () => new Windower(WIN) });
  w.assign(['chunks/0', 'chunks/1']);
  const start = w.accept(callStart({ callId: 'c0', tenant: 'acme', eventTimeMs: T0, source: ref(0) }), 0);
  const opened = start.find((e) => e.type === 'call');
  assert.equal(opened?.type === 'call' && opened.partition, 'chunks/0', 'call updates name their partition');
  w.accept(audioChunk({ callId: 'c0', tenant: 'acme', channel: 'customer', seq: 0, eventTimeMs: T0, samples: tone(200), source: ref(1) }), 0);
  assert.equal(w.partitionOf('acme', 'c0'), undefined, 'prepare was not called: not met through the store');
  assert.equal(w.seenOffset('chunks/0'), 1n);

  w.fence('chunks/0');
  assert.deepEqual(w.partitions(), []);
  // the woken instance's stale batch: nothing comes out (no release, no rejection)
  assert.deepEqual(w.accept(audioChunk({ callId: 'c0', tenant: 'acme', channel: 'customer', seq: 1, eventTimeMs: T0 + 200, samples: tone(200), source: ref(2) }), 10), []);
  // long past the idle timeout: the dropped call is not timed out here
  assert.deepEqual(w.tick(60_000), []);
  assert.equal(w.owns({ callId: 'c0', sources: [ref(1)] } as never), false);

  w.assign(['chunks/0']);
  assert.ok(w.accept(callStart({ callId: 'c1', tenant: 'acme', eventTimeMs: T0, source: ref(3) }), 60_000).length > 0, 'assigned again: chunks flow');
});

test('endStale: a TIMED_OUT update on the next tick, tagged with its partition; later chunks are a finished call\'s', () => {
  const w = new PartitionedWindow({ make: () => new Windower(WIN) });
  w.assign(['chunks/0']);
  const call = { callId: 'left', tenant: 'acme', status: 'ACTIVE' as const, startedAtMs: T0, endedAtMs: null, channels: ['customer'], segmentCount: 3, meta: {} };
  assert.equal(w.endStale(call, T0 + 9_000, 'chunks/0'), true);
  assert.equal(w.endStale(call, T0 + 9_000, 'chunks/0'), false, 'met (held) now: not twice');
  const out = w.tick(0);
  assert.equal(out.length, 1);
  const ev = out[0];
  assert.ok(ev.type === 'call' && ev.call.status === 'TIMED_OUT' && ev.call.endedAtMs === T0 + 9_000 && ev.partition === 'chunks/0' && ev.error?.code === 'CALL_IDLE_TIMEOUT');
  const late = w.accept(audioChunk({ callId: 'left', tenant: 'acme', channel: 'customer', seq: 9, eventTimeMs: T0 + 9_000, samples: tone(200), source: ref(5) }), 0);
  assert.deepEqual(late, [{ type: 'release', refs: [ref(5)] }], 'media of a finished call: released without effect');
});
