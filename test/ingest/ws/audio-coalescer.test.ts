/**
 * AudioCoalescer alone: platform frames joined into records of the asked length per channel,
 * numbered per channel, with the first frame's time; a frame that does not continue the open
 * record in time ends it; flush lets every open record go; the bytes are the frames' in order.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { H } from '../../../schema/chunk.js';
import { AudioCoalescer } from '../../../src/ingest/ws/audio-coalescer.js';

interface Made { channel: string; seq: number; at: number; pcm: Buffer }

/** A coalescer of call c1 whose records are read back from their contract headers. */
function rig(recordMs: number) {
  const out: Made[] = [];
  const c = new AudioCoalescer('c1', 'acme', 8000, recordMs, async (r) => {
    assert.deepEqual([r.key.toString(), r.headers[H.tenant], r.headers[H.sampleRate], r.headers[H.modality]], ['c1', 'acme', '8000', 'audio']);
    out.push({ channel: r.headers[H.channel], seq: Number(r.headers[H.seq]), at: Number(r.headers[H.eventTimeMs]), pcm: r.value });
  });
  return { c, out };
}
/** A 20 ms frame at 8 kHz whose samples all hold `v`. */
function frame(v: number): Buffer {
  const b = Buffer.alloc(320);
  for (let i = 0; i < 160; i++) b.writeInt16LE(v, 2 * i);
  return b;
}

test('20 ms frames become 100 ms records per channel, in order, with the first frame\'s time', async () => {
  const { c, out } = rig(100);
  for (let k = 0; k < 12; k++) {
    await c.add('customer', 1000 + k * 20, frame(k));
    await c.add('agent', 1000 + k * 20, frame(100 + k));
  }
  assert.deepEqual(out.map((m) => [m.channel, m.seq, m.at, m.pcm.length]), [
    ['customer', 0, 1000, 1600], ['agent', 0, 1000, 1600], ['customer', 1, 1100, 1600], ['agent', 1, 1100, 1600],
  ]);
  await c.flush();
  assert.deepEqual(out.slice(4).map((m) => [m.channel, m.seq, m.at, m.pcm.length]), [['customer', 2, 1200, 640], ['agent', 2, 1200, 640]]);
  // The bytes are the frames', in order.
  const customer = Buffer.concat(out.filter((m) => m.channel === 'customer').map((m) => m.pcm));
  assert.deepEqual(customer, Buffer.concat(Array.from({ length: 12 }, (_, k) => frame(k))));
});

test('a frame that does not continue the open record in time ends it first (lost frame, skipped time)', async () => {
  const { c, out } = rig(100);
  await c.add('customer', 0, frame(0));
  await c.add('customer', 20, frame(1));
  await c.add('customer', 60, frame(3)); // frame 2 lost
  await c.add('customer', 80, frame(4));
  await c.add('customer', 5000, frame(5)); // time skipped (e.g. a pause)
  await c.flush();
  assert.deepEqual(out.map((m) => [m.seq, m.at, m.pcm.length / 2]), [[0, 0, 320], [1, 60, 320], [2, 5000, 160]]);
});

test('a frame within 1 ms of the record end continues it (whole-millisecond timestamps); an earlier one ends it', async () => {
  const { c, out } = rig(1000);
  await c.add('agent', 0, Buffer.alloc(2 * 84)); // 10.5 ms
  await c.add('agent', 10, Buffer.alloc(2 * 84)); // platform rounded 10.5 down
  await c.add('agent', 15, Buffer.alloc(2 * 80)); // 6 ms before the end (21): ends the record
  await c.flush();
  assert.deepEqual(out.map((m) => [m.seq, m.at, m.pcm.length / 2]), [[0, 0, 168], [1, 15, 80]]);
});

test('recordMs 0 passes each frame on as its own record', async () => {
  const { c, out } = rig(0);
  for (let k = 0; k < 3; k++) await c.add('customer', k * 20, frame(k));
  assert.deepEqual(out.map((m) => [m.seq, m.at, m.pcm.length]), [[0, 0, 320], [1, 20, 320], [2, 40, 320]], 'nothing held back');
});

test('push waits are passed on: add resolves only after the record was taken (backpressure)', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  let taken = 0;
  const c = new AudioCoalescer('c1', 'acme', 8000, 20, async () => { await gate; taken++; });
  let resolved = false;
  const p = c.add('customer', 0, frame(0)).then(() => { resolved = true; });
  await new Promise((r) => setImmediate(r));
  assert.equal(resolved, false, 'add waits while the source is full');
  release();
  await p;
  assert.equal(taken, 1);
});
