/**
 * PartitionedWindow: hand-over of a call from one instance to the next through the store (no
 * segment lost, none counted twice, indices continue), revoked partitions dropped unscored,
 * and replayed vs too-late transcripts told apart. Real Windowers, a real SQLite store.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { WindowOutput } from '../../src/core/ports.js';
import { PartitionedWindow } from '../../src/window/partitioned-window.js';
import { recoverCall } from '../../src/window/recovery.js';
import type { ChunkSourceRef, MediaChunk, Segment } from '../../src/core/types.js';
import { SqliteScoreStore } from '../../src/store/sqlite-store.js';
import { Windower } from '../../src/window/index.js';
import { makeScore } from '../store/fixtures.js';
import { audioChunk, callEnd, callStart, silence, T0, textChunk, tone } from '../support/chunks.js';

const CALL = 'call-h';
const TENANT = 'acme';
const WIN = { transcriptWaitMs: 0, allowedLatenessMs: 200, idleTimeoutMs: 600_000 };
const ref = (offset: number, partition = 0): ChunkSourceRef => ({ topic: 'chunks', partition, offset: String(offset) });

/** 30 s of one channel: 1 s of speech every 2 s (bursts at 0.6..1.6 s, 2.6..3.6 s, ...), 200 ms chunks. */
function script(): MediaChunk[] {
  const out: MediaChunk[] = [callStart({ callId: CALL, tenant: TENANT, eventTimeMs: T0, source: ref(0) })];
  for (let i = 0; i < 150; i++) {
    const t = i * 200;
    const speech = t % 2000 >= 600 && t % 2000 < 1600;
    out.push(audioChunk({ callId: CALL, tenant: TENANT, channel: 'customer', seq: i, eventTimeMs: T0 + t, samples: speech ? tone(200) : silence(200, 16000, 0.001), source: ref(out.length) }));
  }
  out.push(callEnd({ callId: CALL, tenant: TENANT, eventTimeMs: T0 + 30_000, seq: 1, source: ref(out.length) }));
  return out;
}
const bursts = Array.from({ length: 15 }, (_, i) => T0 + i * 2000 + 1100); // burst centres

function segmentsOf(events: WindowOutput[]): Segment[] {
  return events.flatMap((e) => (e.type === 'segment' ? [e.segment] : []));
}

function storeScore(store: SqliteScoreStore, s: Segment) {
  return store.putScore(makeScore({ callId: s.callId, tenant: s.tenant, channel: s.channel, segmentIndex: s.index, revision: s.revision, startMs: s.startMs, endMs: s.endMs, text: s.text }));
}

test('a call handed over mid-way through the store: indices continue, no overlap, every burst in exactly one segment', async () => {
  const chunks = script();
  // Reference: one instance sees everything.
  const ref1 = new PartitionedWindow({ make: () => new Windower(WIN) });
  const whole = segmentsOf(chunks.flatMap((c) => ref1.accept(c, 0)));
  assert.ok(whole.length >= 14, `reference cut the 15 bursts (${whole.length})`);

  const store = new SqliteScoreStore({ path: ':memory:' });
  await store.start();
  // Instance A: the first 80 chunks; what it stores is what the store knows; then it dies.
  const a = new PartitionedWindow({ make: () => new Windower(WIN) });
  const released = new Set<string>();
  const stored: Segment[] = [];
  for (const c of chunks.slice(0, 80)) {
    for (const ev of a.accept(c, 0)) {
      if (ev.type === 'segment') {
        stored.push(ev.segment);
        await storeScore(store, ev.segment);
        for (const r of ev.segment.sources) released.add(r.offset);
      } else if (ev.type === 'call') await store.upsertCall(ev.call);
      else if (ev.type === 'release') for (const r of ev.refs) released.add(r.offset);
    }
  }
  assert.ok(stored.length >= 4, `A stored some segments (${stored.length})`);
  // Commit point: the first offset not released; B re-reads from there (at-least-once).
  let commit = 0;
  while (released.has(String(commit))) commit++;
  const b = new PartitionedWindow({ make: () => new Windower(WIN), recover: (id, tenant) => recoverCall(store, id, tenant) });
  const fromB: Segment[] = [];
  let skipped = 0;
  for (const c of chunks.slice(commit)) {
    await b.prepare(c);
    for (const ev of b.accept(c, 0)) {
      if (ev.type === 'segment') fromB.push(ev.segment);
      if (ev.type === 'release' && ev.refs.some((r) => Number(r.offset) < 80)) skipped++;
    }
  }
  assert.ok(skipped > 0 || commit >= 80, 'B skipped media A had scored');
  const all = [...stored, ...fromB].sort((x, y) => x.index - y.index);
  assert.deepEqual(all.map((s) => s.index), all.map((_, i) => i), 'indices 0..n-1, each once');
  for (let i = 1; i < all.length; i++) assert.ok(all[i].startMs >= all[i - 1].endMs - 0.5, `segment ${i} starts after ${i - 1} ends`);
  for (const centre of bursts) {
    const holders = all.filter((s) => s.startMs <= centre && centre < s.endMs);
    assert.equal(holders.length, 1, `burst at +${centre - T0} ms in exactly one segment`);
  }
  assert.ok(Math.abs(all.length - whole.length) <= 2, `about as many segments as one instance cuts (${all.length} vs ${whole.length})`);
  await store.stop();
});

test('revoked partitions are dropped without sealing; owns() turns false for their segments', () => {
  const w = new PartitionedWindow({ make: () => new Windower(WIN) });
  w.assign(['chunks/0', 'chunks/1']);
  const out: WindowOutput[] = [];
  for (const p of [0, 1]) {
    for (let i = 0; i < 20; i++) {
      out.push(...w.accept(audioChunk({ callId: `c${p}`, tenant: TENANT, seq: i, eventTimeMs: T0 + i * 200, samples: tone(200), source: ref(i, p) }), 0));
    }
  }
  assert.deepEqual(w.partitions().sort(), ['chunks/0', 'chunks/1']);
  const seg = (p: number): Segment => ({ callId: `c${p}`, tenant: TENANT, channel: 'customer', index: 0, revision: 0, startMs: 0, endMs: 1, audio: null, text: null, video: null, videoFrames: 0, sources: [ref(0, p)], sealedAtWallMs: 0 });
  assert.equal(w.owns(seg(1)), true);
  assert.deepEqual(w.assign(['chunks/0']), ['chunks/1']);
  assert.equal(w.owns(seg(1)), false, 'a revoked partition is not ours');
  assert.equal(w.owns(seg(0)), true);
  const flushed = segmentsOf(w.flush(0));
  assert.ok(flushed.length > 0 && flushed.every((s) => s.callId === 'c0'), 'only the kept partition is sealed at flush');
});

test('after a hand-over, a replayed transcript is released; one its segment never had is CHUNK_TOO_LATE', async () => {
  const store = new SqliteScoreStore({ path: ':memory:' });
  await store.start();
  await store.upsertCall({ callId: CALL, tenant: TENANT, status: 'ACTIVE', startedAtMs: T0, endedAtMs: null, channels: ['customer'], segmentCount: 1, meta: { q: '1' } });
  await storeScore(store, { callId: CALL, tenant: TENANT, channel: 'customer', index: 0, revision: 0, startMs: T0, endMs: T0 + 3000, text: 'hello there', audio: null, video: null, videoFrames: 0, sources: [], sealedAtWallMs: 0 });
  const w = new PartitionedWindow({ make: () => new Windower(WIN), recover: (id, tenant) => recoverCall(store, id, tenant) });
  const replayed = textChunk({ callId: CALL, tenant: TENANT, seq: 0, eventTimeMs: T0 + 500, durationMs: 1000, text: 'hello there', source: ref(5) });
  await w.prepare(replayed);
  assert.deepEqual(w.accept(replayed, 0), [{ type: 'release', refs: [ref(5)] }]);
  const late = textChunk({ callId: CALL, tenant: TENANT, seq: 1, eventTimeMs: T0 + 1500, durationMs: 1000, text: 'never seen', source: ref(6) });
  const [ev] = w.accept(late, 0);
  assert.equal(ev.type, 'rejected');
  assert.equal(ev.type === 'rejected' && ev.error.code, 'CHUNK_TOO_LATE');
  // New media continues the numbering at 1, and the call update keeps the stored start and meta.
  const out: WindowOutput[] = [];
  for (let i = 0; i < 10; i++) out.push(...w.accept(audioChunk({ callId: CALL, tenant: TENANT, seq: i, eventTimeMs: T0 + 3000 + i * 200, samples: tone(200), source: ref(7 + i) }), 0));
  out.push(...w.accept(callEnd({ callId: CALL, tenant: TENANT, eventTimeMs: T0 + 6000, seq: 1, source: ref(20) }), 0));
  const segs = segmentsOf(out);
  assert.ok(segs.length >= 1 && segs[0].index === 1, `numbering continues at 1 (${segs.map((s) => s.index)})`);
  assert.ok(segs[0].startMs >= T0 + 3000 - 0.5, 'no media before the stored end');
  const ended = out.find((e) => e.type === 'call' && e.call.status === 'ENDED');
  assert.ok(ended && ended.type === 'call');
  assert.equal(ended.call.startedAtMs, T0);
  assert.deepEqual(ended.call.meta, { q: '1' });
  assert.equal(ended.call.segmentCount, 1 + segs.length);
  await store.stop();
});

test('a finished call re-read from its call_start (a new group) is not windowed again: media released, held transcripts released, the rest CHUNK_TOO_LATE', async () => {
  const store = new SqliteScoreStore({ path: ':memory:' });
  await store.start();
  await store.upsertCall({ callId: CALL, tenant: TENANT, status: 'ENDED', startedAtMs: T0, endedAtMs: T0 + 6000, channels: ['customer'], segmentCount: 3, meta: {} });
  const seg = (index: number, startMs: number, endMs: number, text: string | null): Segment => ({ callId: CALL, tenant: TENANT, channel: 'customer', index, revision: 0, startMs, endMs, text, audio: null, video: null, videoFrames: 0, sources: [], sealedAtWallMs: 0 });
  // Segment 1 was cut by a stop mid-utterance: text-less. Segment 2 holds a piece that reached it
  // as a late revision by overlap, though the piece's middle lies in segment 1.
  await storeScore(store, seg(0, T0, T0 + 2000, 'hello there'));
  await storeScore(store, seg(1, T0 + 2000, T0 + 4000, null));
  await storeScore(store, seg(2, T0 + 4000, T0 + 6000, 'moved piece'));
  const w = new PartitionedWindow({ make: () => new Windower(WIN), recover: (id, tenant) => recoverCall(store, id, tenant) });
  const chunks: MediaChunk[] = [callStart({ callId: CALL, tenant: TENANT, eventTimeMs: T0, source: ref(0) })];
  for (let i = 0; i < 30; i++) chunks.push(audioChunk({ callId: CALL, tenant: TENANT, seq: i, eventTimeMs: T0 + i * 200, samples: tone(200), source: ref(chunks.length) }));
  const text = (seq: number, at: number, dur: number, t: string) => textChunk({ callId: CALL, tenant: TENANT, seq, eventTimeMs: T0 + at, durationMs: dur, text: t, source: ref(chunks.length) });
  chunks.push(text(0, 200, 1500, 'hello there'));
  chunks.push(text(1, 2200, 3000, 'split by the stop'));
  chunks.push(text(2, 3000, 1800, 'moved piece'));
  chunks.push(text(3, 6500, 500, 'after the end'));
  chunks.push(callEnd({ callId: CALL, tenant: TENANT, eventTimeMs: T0 + 6000, seq: 1, source: ref(chunks.length) }));
  const released: string[] = [];
  const rejected: string[] = [];
  for (const c of chunks) {
    await w.prepare(c);
    for (const ev of w.accept(c, 0)) {
      assert.ok(ev.type === 'release' || ev.type === 'rejected', `only releases and rejections (${ev.type})`);
      if (ev.type === 'release') released.push(...ev.refs.map((r) => r.offset));
      if (ev.type === 'rejected') {
        assert.equal(ev.error.code, 'CHUNK_TOO_LATE');
        assert.equal(ev.chunk, c);
        rejected.push(ev.chunk.modality === 'text' ? ev.chunk.text : ev.chunk.modality);
      }
    }
  }
  assert.deepEqual(w.flush(0), [], 'nothing left open');
  assert.deepEqual(rejected, ['split by the stop', 'after the end'], 'transcripts no stored segment holds are dead-lettered, not dropped');
  const offsets = chunks.map((c) => c.source!.offset);
  assert.deepEqual(released.sort(), offsets.filter((_, i) => !['split by the stop', 'after the end'].includes((chunks[i] as { text?: string }).text ?? '')).sort(), 'every other chunk released once');
  assert.equal((await store.getSegments({ tenant: TENANT, callId: CALL, first: 10, latestOnly: false })).items.length, 3);
  await store.stop();
});

test('a call is (tenant, callId) at hand-over too: another tenant\'s recovered call of the same id does not filter a new call', async () => {
  const store = new SqliteScoreStore({ path: ':memory:' });
  await store.start();
  try {
    // Tenant acme's call-h: its first 80 chunks were scored and stored by an instance that died.
    const acme = script();
    const dead = new PartitionedWindow({ make: () => new Windower(WIN) });
    for (const c of acme.slice(0, 80)) {
      for (const ev of dead.accept(c, 0)) {
        if (ev.type === 'segment') await storeScore(store, ev.segment);
        if (ev.type === 'call') await store.upsertCall(ev.call);
      }
    }
    // The next owner meets acme's call mid-way (hand-over) and, in the same partition, tenant
    // globex's call with the same id from its start.
    const globex = script().map((c) => ({ ...c, tenant: 'globex', source: ref(1000 + Number(c.source!.offset)) }) as MediaChunk);
    const w = new PartitionedWindow({ make: () => new Windower(WIN), recover: (callId, tenant) => recoverCall(store, callId, tenant) });
    const events: WindowOutput[] = [];
    for (let i = 0; i < globex.length; i++) {
      for (const c of [acme[80 + i], globex[i]]) {
        if (!c) continue;
        await w.prepare(c);
        events.push(...w.accept(c, 0));
      }
    }
    const fresh = new PartitionedWindow({ make: () => new Windower(WIN) });
    const alone = segmentsOf(globex.flatMap((c) => fresh.accept(c, 0)));
    const strip = (s: Segment) => ({ ...s, sources: [], sealedAtWallMs: 0 });
    assert.ok(alone.length >= 14);
    assert.deepEqual(events.filter((e) => e.type === 'rejected'), []);
    assert.deepEqual(segmentsOf(events).filter((s) => s.tenant === 'globex').map(strip), alone.map(strip), 'globex\'s call cut whole, as if acme\'s did not exist');
    assert.ok(segmentsOf(events).some((s) => s.tenant === TENANT && s.index > 0), 'acme\'s call continued after its stored segments');
  } finally {
    await store.stop();
  }
});
