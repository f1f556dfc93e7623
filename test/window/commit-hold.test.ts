/**
 * Exact hand-over (issue #13, the paused-instance bar): the record that opened a call holds its
 * partition's commit point until the call's final status is stored (src/window/commit-hold.ts),
 * and an owner that meets that record first replays the call from scratch, suppressing what is
 * stored (src/window/partitioned-window.ts). Real Windowers, the real OffsetTracker, a real
 * SQLite store, and the pipeline's release rule (releasable on work done, finished on a final
 * status stored); no Kafka.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadFixtureCalls } from '../../src/app/demo/fixtures.js';
import { scriptCall } from '../../src/app/demo/script.js';
import { repoRoot } from '../../src/app/paths.js';
import type { WindowOutput } from '../../src/core/ports.js';
import { CommitHolds, type HoldGiveUp } from '../../src/window/commit-hold.js';
import { type HandoverEvent, opensCall, PartitionedWindow } from '../../src/window/partitioned-window.js';
import { recoverCall } from '../../src/window/recovery.js';
import type { CallInfo, ChunkSourceRef, MediaChunk, Segment } from '../../src/core/types.js';
import { createDecoder } from '../../src/ingest/decode.js';
import { encodeChunk } from '../../src/ingest/encode.js';
import { OffsetTracker } from '../../src/ingest/offset-tracker.js';
import { SqliteScoreStore } from '../../src/store/sqlite-store.js';
import { Windower, type WindowOptionsInput } from '../../src/window/index.js';
import { makeScore } from '../store/fixtures.js';
import { audioChunk, callEnd, callStart, silence, T0, textChunk, tone } from '../support/chunks.js';

const TOPIC = 'chunks';
const PART = `${TOPIC}/0`;
const WIN: WindowOptionsInput = { transcriptWaitMs: 0, allowedLatenessMs: 200, idleTimeoutMs: 600_000 };
const at = (offset: number): ChunkSourceRef => ({ topic: TOPIC, partition: 0, offset: String(offset) });

/** One 30 s call on one channel, 1 s of speech every 2 s, 200 ms chunks; offsets from `first`. */
function script(callId: string, first = 0, tenant = 'acme'): MediaChunk[] {
  const out: MediaChunk[] = [callStart({ callId, tenant, eventTimeMs: T0, source: at(first) })];
  for (let i = 0; i < 150; i++) {
    const t = i * 200;
    const speech = t % 2000 >= 600 && t % 2000 < 1600;
    out.push(audioChunk({ callId, tenant, channel: 'customer', seq: i, eventTimeMs: T0 + t, samples: speech ? tone(200) : silence(200, 16000, 0.001), source: at(first + out.length) }));
  }
  out.push(callEnd({ callId, tenant, eventTimeMs: T0 + 30_000, seq: 1, source: at(first + out.length) }));
  return out;
}

/** The fixture call (TTS speech, transcripts incl. late ones, face features) as decoded records. */
function fixtureRecords(): MediaChunk[] {
  const fx = loadFixtureCalls(join(repoRoot(), 'fixtures', 'calls'))[0];
  const timed = scriptCall(fx, { callId: 'c-fx', epochMs: T0, seed: 7, dropTranscriptShare: 0, lateTranscriptShare: 0.5, lateTranscriptMs: 20_000 });
  const decode = createDecoder({ modelSampleRate: 16_000, videoFeatureDim: 24 });
  return timed.map((x, i) => {
    const w = encodeChunk(x.chunk);
    return decode({ key: Buffer.from(x.chunk.callId), headers: w.headers, value: w.value, source: at(i) });
  });
}

/**
 * One instance as the pipeline drives it: segments are "scored" and stored at once, then their
 * records released through the window's hold; a final call status stored releases the held opener.
 */
class Instance {
  readonly tracker = new OffsetTracker();
  readonly window: PartitionedWindow;
  readonly scored: Segment[] = [];
  readonly events: HandoverEvent[] = [];
  readonly givenUp: HoldGiveUp[] = [];

  constructor(readonly store: SqliteScoreStore, o: { holds?: Partial<ConstructorParameters<typeof CommitHolds>[0]> | false; win?: WindowOptionsInput } = {}) {
    const holds = o.holds === false ? undefined : new CommitHolds({ maxSpanMs: 900_000, maxRecords: 500_000, onGiveUp: (r) => this.givenUp.push(r), ...o.holds });
    this.window = new PartitionedWindow({
      make: () => new Windower(o.win ?? WIN),
      recover: (id, tenant) => recoverCall(store, id, tenant),
      holds,
      onHandover: (e) => this.events.push(e),
    });
  }

  async feed(chunks: MediaChunk[]): Promise<void> {
    for (const c of chunks) {
      if (c.source) this.tracker.track(c.source);
      await this.window.prepare(c);
      await this.handle(this.window.accept(c, 0));
    }
  }

  /** The partition's commit point (next offset to read); -1 when nothing may be committed yet. */
  commit(): number {
    const p = this.tracker.committable().find((x) => x.partition === 0);
    return p ? Number(p.offset) : -1;
  }

  private async handle(events: WindowOutput[]): Promise<void> {
    for (const ev of events) {
      if (ev.type === 'segment') {
        const s = ev.segment;
        this.scored.push(s);
        await this.store.putScore(makeScore({ callId: s.callId, tenant: s.tenant, channel: s.channel, segmentIndex: s.index, revision: s.revision, startMs: s.startMs, endMs: s.endMs, text: s.text }));
        this.release(s.sources);
      } else if (ev.type === 'call') {
        await this.store.upsertCall(ev.call);
        if (ev.call.status !== 'ACTIVE') this.tracker.release(this.window.finished(ev.call, ev.partition));
      } else if (ev.type === 'release') this.release(ev.refs);
      else if (ev.chunk.source) this.tracker.release([ev.chunk.source]);
    }
  }

  private release(refs: ChunkSourceRef[]): void {
    this.tracker.release(this.window.releasable(refs));
  }
}

async function freshStore(): Promise<SqliteScoreStore> {
  const store = new SqliteScoreStore({ path: ':memory:' });
  await store.start();
  return store;
}

const key = (s: Segment) => `${s.channel}/${s.index}/${s.revision}`;
const shape = (s: Segment) => ({ key: key(s), startMs: s.startMs, endMs: s.endMs, text: s.text });

test('the record that opened a call holds the commit point until the call\'s final status is stored', async () => {
  const store = await freshStore();
  const a = script('c-a');
  const b = script('c-b', a.length - 1); // c-b opens later, in the same partition
  const node = new Instance(store);
  await node.feed(a.slice(0, -1)); // all of c-a but its call_end
  assert.ok(node.scored.length >= 10, `c-a scored most of its segments (${node.scored.length})`);
  // Without the hold the call_start at offset 0 was released at once and the commit passed it.
  assert.equal(node.commit(), -1, 'nothing committed past c-a\'s call_start while c-a is open');
  await node.feed(b);
  assert.equal(node.commit(), -1, 'c-b ending does not move it either');
  const end = { ...a[a.length - 1], source: at(a.length - 1 + b.length) };
  await node.feed([end]);
  assert.equal(node.commit(), a.length + b.length, 'c-a\'s end stored: every record committed');
  await store.stop();
});

test('a hold is given up beyond its event-time span, its record count, or an early seal; the commit then passes', async () => {
  const store = await freshStore();
  const span = new Instance(store, { holds: { maxSpanMs: 10_000 } });
  await span.feed(script('c-span').slice(0, 30)); // 5.8 s: held
  assert.equal(span.commit(), -1);
  await span.feed(script('c-span').slice(30, 60)); // past 10 s
  assert.deepEqual(span.givenUp, ['span']);
  assert.ok(span.commit() > 0, 'the commit passed the call_start');

  const records = new Instance(store, { holds: { maxRecords: 40 } });
  await records.feed(script('c-rec').slice(0, 41));
  assert.deepEqual(records.givenUp, []);
  await records.feed(script('c-rec').slice(41, 43));
  assert.deepEqual(records.givenUp, ['records']);

  // Two calls talking at once over a 2 s open budget: the window seals one early for the other.
  const early = new Instance(store, { win: { ...WIN, transcriptWaitMs: 10_000, maxOpenSamples: 32_000 } });
  const x = script('c-x');
  const y = script('c-y', 1000);
  const both = x.slice(0, 60).flatMap((c, i) => [c, y[i]]).map((c, i) => ({ ...c, source: at(i) }));
  await early.feed(both);
  assert.ok(early.givenUp.includes('early-seal'), `an early seal gave a hold up (${early.givenUp.join(',')})`);
  await store.stop();
});

test('shutdown gives every hold up, and the flush releases what was held', async () => {
  const store = await freshStore();
  const node = new Instance(store);
  const a = script('c-stop');
  await node.feed(a.slice(0, 50));
  assert.equal(node.commit(), -1);
  for (const ev of node.window.flush(0)) {
    if (ev.type === 'segment') node.window.releasable(ev.segment.sources).forEach((r) => node.tracker.release([r]));
    if (ev.type === 'release') node.tracker.release(node.window.releasable(ev.refs));
  }
  assert.equal(node.commit(), 50, 'the commit passes the whole call after the flush');
  assert.deepEqual(node.givenUp, ['shutdown']);
  await store.stop();
});

test('opensCall: the call_start at the start time, or the first channel\'s seq-0 chunk; nothing later', () => {
  const call: CallInfo = { callId: 'c', tenant: 'acme', status: 'ACTIVE', startedAtMs: T0, endedAtMs: null, channels: ['customer', 'agent'], segmentCount: 3, meta: {} };
  assert.equal(opensCall(call, callStart({ callId: 'c', tenant: 'acme', eventTimeMs: T0 })), true);
  assert.equal(opensCall(call, callStart({ callId: 'c', tenant: 'acme', eventTimeMs: T0 - 200 })), true, 'the stored start may be earlier (a segment began one lateness before the first chunk)');
  assert.equal(opensCall(call, audioChunk({ callId: 'c', tenant: 'acme', channel: 'customer', seq: 0, eventTimeMs: T0 })), true);
  assert.equal(opensCall(call, audioChunk({ callId: 'c', tenant: 'acme', channel: 'agent', seq: 0, eventTimeMs: T0 })), false, 'the second channel\'s first chunk did not open it');
  assert.equal(opensCall(call, audioChunk({ callId: 'c', tenant: 'acme', channel: 'customer', seq: 1, eventTimeMs: T0 })), false);
  assert.equal(opensCall(call, callEnd({ callId: 'c', tenant: 'acme', eventTimeMs: T0 })), false);
  assert.equal(opensCall(call, textChunk({ callId: 'c', tenant: 'acme', channel: 'customer', seq: 0, eventTimeMs: T0 })), false, 'a transcript piece follows its media');
});

// The first stop lies just past the first segment's seal (the 800 ms VAD hangover seals it after
// record 75; at 60 the first owner had stored nothing, which is what this case must not be).
for (const stopAt of [90, 200, 300, 353]) {
  test(`a new owner that meets the call's first record replays it: the store ends as one instance alone writes it (fixture call, stop at record ${stopAt})`, async () => {
    const chunks = fixtureRecords();
    // Reference: one instance, no fault.
    const refStore = await freshStore();
    const reference = new Instance(refStore);
    await reference.feed(chunks);
    assert.ok(reference.scored.length >= 8 && reference.scored.some((s) => s.revision > 0), `the reference scored the call, late transcripts as revisions (${reference.scored.length})`);
    assert.equal(reference.commit(), chunks.length, 'the reference committed every record');

    // The first owner reads up to stopAt and is lost (no flush); it committed nothing of the call.
    const store = await freshStore();
    const first = new Instance(store);
    await first.feed(chunks.slice(0, stopAt));
    assert.equal(first.commit(), -1, 'the first owner held the commit at the call_start');
    assert.ok(first.scored.length >= 1, `the first owner stored segments (${first.scored.length})`);

    // The next owner reads from that commit point: the whole call, and decides to replay it.
    const next = new Instance(store);
    await next.feed(chunks);
    assert.deepEqual(next.events.filter((e) => e === 'replay' || e === 'cut'), ['replay']);
    assert.equal(next.events.filter((e) => e === 'mismatch').length, 0, 'every stored segment cut the same');
    const firstKeys = new Set(first.scored.map(key));
    assert.ok(next.scored.every((s) => !firstKeys.has(key(s))), 'nothing stored by the first owner is scored again');
    const union = [...first.scored, ...next.scored].map(shape).sort((p, q) => p.key.localeCompare(q.key));
    assert.deepEqual(union, reference.scored.map(shape).sort((p, q) => p.key.localeCompare(q.key)), 'the same segments, spans and texts as the reference');
    assert.equal(next.commit(), chunks.length, 'the next owner committed every record');
    const call = await store.getCall('c-fx', chunks[0].tenant);
    const refCall = await refStore.getCall('c-fx', chunks[0].tenant);
    assert.deepEqual(call, refCall, 'the call ends as in the reference');
    await store.stop();
    await refStore.stop();
  });
}

test('a new owner that meets the call mid-way continues from the stored cut (approximate)', async () => {
  const store = await freshStore();
  const chunks = script('c-mid');
  const first = new Instance(store, { holds: false });
  await first.feed(chunks.slice(0, 80));
  const next = new Instance(store);
  await next.feed(chunks.slice(first.commit()));
  assert.deepEqual(next.events.filter((e) => e === 'replay' || e === 'cut'), ['cut']);
  await store.stop();
});

test('a call opened by media on two channels (no call_start) is replayed from its first chunk too', async () => {
  // customer and agent legs, 200 ms chunks interleaved, speech bursts offset between the legs
  const chunks: MediaChunk[] = [];
  for (let i = 0; i < 100; i++) {
    for (const [channel, phase] of [['customer', 0], ['agent', 1000]] as const) {
      const t = i * 200;
      const speech = (t + phase) % 2000 >= 600 && (t + phase) % 2000 < 1600;
      chunks.push(audioChunk({ callId: 'c-media', tenant: 'acme', channel, seq: i, eventTimeMs: T0 + t, samples: speech ? tone(200) : silence(200, 16000, 0.001), source: at(chunks.length) }));
    }
  }
  chunks.push(callEnd({ callId: 'c-media', tenant: 'acme', eventTimeMs: T0 + 20_000, seq: 0, source: at(chunks.length) }));
  const refStore = await freshStore();
  const reference = new Instance(refStore);
  await reference.feed(chunks);
  const store = await freshStore();
  const first = new Instance(store);
  await first.feed(chunks.slice(0, 120));
  assert.equal(first.commit(), -1, 'the customer leg\'s first chunk holds the commit');
  assert.ok(first.scored.length >= 2, `the first owner stored segments (${first.scored.length})`);
  const next = new Instance(store);
  await next.feed(chunks);
  assert.deepEqual(next.events.filter((e) => e === 'replay' || e === 'cut'), ['replay']);
  const union = [...first.scored, ...next.scored].map(shape).sort((p, q) => p.key.localeCompare(q.key));
  assert.deepEqual(union, reference.scored.map(shape).sort((p, q) => p.key.localeCompare(q.key)));
  // Met from the agent leg's first chunk instead (the customer's was committed past): the cut path.
  const other = new Instance(await freshStore());
  await other.feed(chunks.slice(0, 60));
  const cut = new Instance(other.store);
  await cut.feed(chunks.slice(1));
  assert.deepEqual(cut.events.filter((e) => e === 'replay' || e === 'cut'), ['cut']);
  await store.stop();
  await refStore.stop();
  await other.store.stop();
});
