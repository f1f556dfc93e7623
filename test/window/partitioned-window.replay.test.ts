/**
 * PartitionedWindow over a real fixture call (fixtures/calls: TTS speech, transcripts, face
 * features, through the wire encoder and decoder), cut by a graceful stop at many points: the
 * first instance flushes and stores, the next continues from storage, then a new consumer group
 * replays the whole call. Every transcript ends in exactly one stored segment or one
 * CHUNK_TOO_LATE dead letter per pass; the replay adds no row and dead-letters exactly what the
 * restart did. Real Windowers, a real SQLite store; no Kafka, no model.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadFixtureCalls } from '../../src/app/demo/fixtures.js';
import { scriptCall } from '../../src/app/demo/script.js';
import { repoRoot } from '../../src/app/paths.js';
import type { WindowOutput } from '../../src/core/ports.js';
import { PartitionedWindow } from '../../src/window/partitioned-window.js';
import { recoverCall } from '../../src/window/recovery.js';
import type { MediaChunk } from '../../src/core/types.js';
import { createDecoder } from '../../src/ingest/decode.js';
import { encodeChunk } from '../../src/ingest/encode.js';
import { SqliteScoreStore } from '../../src/store/sqlite-store.js';
import { Windower } from '../../src/window/index.js';
import { makeScore } from '../store/fixtures.js';

const EPOCH = 1_764_000_000_000;
/** The app's window for the model (16 kHz, 12 s segments) with the e2e suite's transcript wait. */
const WIN = { transcriptWaitMs: 12_000, sampleRate: 16_000, maxSegmentMs: 12_000, maxVideoFrames: 120 };
const decode = createDecoder({ modelSampleRate: 16_000, videoFeatureDim: 24 });

/** The fixture call as decoded records, offsets in script order (one partition). */
function records(lateTranscriptShare: number) {
  const fx = loadFixtureCalls(join(repoRoot(), 'fixtures', 'calls'))[0];
  const timed = scriptCall(fx, { callId: 'c-replay', epochMs: EPOCH, seed: 7, dropTranscriptShare: 0, lateTranscriptShare, lateTranscriptMs: 20_000 });
  const chunks = timed.map((x, i): MediaChunk => {
    const w = encodeChunk(x.chunk);
    return decode({ key: Buffer.from(x.chunk.callId), headers: w.headers, value: w.value, source: { topic: 't', partition: 0, offset: String(i) } });
  });
  return { fx, chunks, tenant: chunks[0].tenant };
}

/** One instance's pass over `list`, then its graceful stop; returns the dead-lettered texts. */
async function pass(store: SqliteScoreStore, list: MediaChunk[]): Promise<{ dead: string[]; segments: number }> {
  const w = new PartitionedWindow({ make: () => new Windower(WIN), recover: (id, tenant) => recoverCall(store, id, tenant) });
  const dead: string[] = [];
  let segments = 0;
  const handle = async (evs: WindowOutput[]) => {
    for (const ev of evs) {
      if (ev.type === 'segment') {
        const s = ev.segment;
        segments++;
        await store.putScore(makeScore({ callId: s.callId, tenant: s.tenant, channel: s.channel, segmentIndex: s.index, revision: s.revision, startMs: s.startMs, endMs: s.endMs, text: s.text }));
      } else if (ev.type === 'call') await store.upsertCall(ev.call);
      else if (ev.type === 'rejected') {
        assert.equal(ev.error.code, 'CHUNK_TOO_LATE', `${ev.chunk.modality} rejected ${ev.error.code}`);
        assert.equal(ev.chunk.modality, 'text');
        dead.push(ev.chunk.modality === 'text' ? ev.chunk.text.trim() : '');
      }
    }
  };
  for (const c of list) {
    await w.prepare(c);
    await handle(w.accept(c, 0));
  }
  await handle(w.flush(0));
  return { dead, segments };
}

for (const late of [0, 0.5]) {
  test(`stop at every 8th record, continue from storage, replay under a new group (late transcripts ${late}): no transcript lost or doubled`, async () => {
    const { fx, chunks, tenant } = records(late);
    for (let n = 1; n < chunks.length; n += 8) {
      const store = new SqliteScoreStore({ path: ':memory:' });
      await store.start();
      const first = await pass(store, chunks.slice(0, n));
      const second = await pass(store, chunks.slice(n));
      const dead = [...first.dead, ...second.dead];
      const rows = async () => (await store.getSegments({ tenant, callId: 'c-replay', first: 1000, latestOnly: false })).items.map((e) => e.node);
      const stored = await rows();
      const latest = stored.filter((s) => !stored.some((x) => x.channel === s.channel && x.segmentIndex === s.segmentIndex && x.revision > s.revision));
      for (const u of fx.utterances) {
        const text = u.text.trim();
        const holders = latest.filter((s) => s.channel === u.channel && s.text?.includes(text)).length;
        assert.equal(holders + dead.filter((d) => d === text).length, 1, `stop at ${n}: "${text}" stored once or dead-lettered once`);
      }
      const replay = await pass(store, chunks);
      assert.equal(replay.segments, 0, `stop at ${n}: the replay of a finished call cuts no segment`);
      assert.deepEqual(await rows(), stored, `stop at ${n}: the replay changed nothing stored`);
      assert.deepEqual(replay.dead, dead, `stop at ${n}: the replay dead-letters exactly what the restart did`);
      await store.stop();
    }
  });
}
