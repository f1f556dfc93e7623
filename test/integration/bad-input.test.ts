/**
 * Bad input over real Kafka: each kind of bad chunk, written into the same partition as a good
 * call in flight, yields its typed error code in a dead-letter record on `<topic>.dlq` (original
 * key, value and headers, plus x-error-code and where it was read), and the good call's scores
 * all arrive, unchanged: identical to the same call played alone first. A call that never ends is
 * closed TIMED_OUT by the idle timeout.
 *
 * The app runs with autoOpenCalls off (so an unknown call is CHUNK_UNKNOWN_CALL) and a 2 s idle
 * timeout. Needs Kafka and the exported model (CI=true: fail; otherwise skip loudly).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Client } from 'graphql-ws';
import { H } from '../../schema/chunk.js';
import { scriptCall } from '../../src/app/demo/script.js';
import { repoRoot } from '../../src/app/paths.js';
import type { MediaChunk } from '../../src/core/types.js';
import { encodeChunk, type WireRecord } from '../../src/ingest/encode.js';
import { freshGroupId, freshTopic, requireKafka } from '../support/kafka.js';
import {
  type ApiScore, type AppHandle, callIdFor, collect, fixtures, gql, readDeadLetters, RecordingProducer, SCORE_FIELDS,
  scoreKey, startApp, tempDb, testKafka, until, wsClient,
} from './harness.js';

const EPOCH = 1_764_000_000_000;
const IDLE_MS = 2_000;

/** A control, audio (silence, 16 kHz) or video record of call `callId`. */
function control(callId: string, kind: 'call_start' | 'call_end', seq: number, atMs = 0): WireRecord {
  return encodeChunk({ modality: 'control', kind, callId, tenant: 'demo', channel: '*', seq, eventTimeMs: EPOCH + atMs, durationMs: 0, contractVersion: 1 });
}
function audio(callId: string, channel: string, seq: number, atMs: number, ms = 200): WireRecord {
  const samples = new Float32Array((16000 * ms) / 1000);
  return encodeChunk({ modality: 'audio', callId, tenant: 'demo', channel, seq, eventTimeMs: EPOCH + atMs, durationMs: ms, samples, sampleRate: 16000, contractVersion: 1 });
}
function video(callId: string, frames: Float32Array): WireRecord {
  const c: MediaChunk = { modality: 'video', callId, tenant: 'demo', channel: 'customer', seq: 0, eventTimeMs: EPOCH, durationMs: 1000, frames, featureDim: 24, fps: 10, contractVersion: 1 };
  return encodeChunk(c);
}
function withHeaders(r: WireRecord, headers: Record<string, string>): WireRecord {
  return { ...r, headers: { ...r.headers, ...headers } };
}

/** One bad input: its records (the last `bad` of them are the rejected ones) and the code each must get. */
interface Case {
  name: string;
  callId: string;
  records: WireRecord[];
  /** Indices into `records` that must be dead-lettered, with their codes. */
  rejected: [number, string][];
}

function cases(): Case[] {
  const id = (n: string) => callIdFor(`bad-${n}`);
  const out: Case[] = [];
  const hdr = id('headers');
  out.push({ name: 'malformed headers', callId: hdr, records: [withHeaders(audio(hdr, 'customer', 0, 0), { [H.seq]: 'abc' })], rejected: [[0, 'CHUNK_MALFORMED_HEADERS']] });
  const mod = id('modality');
  out.push({ name: 'unknown modality', callId: mod, records: [withHeaders(audio(mod, 'customer', 0, 0), { [H.modality]: 'smell' })], rejected: [[0, 'CHUNK_UNKNOWN_MODALITY']] });
  const big = id('oversized');
  out.push({ name: 'oversized payload', callId: big, records: [audio(big, 'customer', 0, 0, 20_001)], rejected: [[0, 'CHUNK_PAYLOAD_TOO_LARGE']] });
  const rate = id('rate');
  out.push({ name: 'wrong sample rate', callId: rate, records: [withHeaders(audio(rate, 'customer', 0, 0), { [H.sampleRate]: '44100' })], rejected: [[0, 'CHUNK_BAD_SAMPLE_RATE']] });
  const nan = id('nan');
  const frames = new Float32Array(10 * 24).fill(0.1);
  frames[37] = Number.NaN;
  out.push({ name: 'NaN features', callId: nan, records: [control(nan, 'call_start', 0), video(nan, frames), control(nan, 'call_end', 1, 1000)], rejected: [[1, 'CHUNK_NON_FINITE']] });
  const ghost = id('unknown-call');
  out.push({ name: 'unknown call', callId: ghost, records: [audio(ghost, 'customer', 0, 0)], rejected: [[0, 'CHUNK_UNKNOWN_CALL']] });
  // Out of order: seq 1 is skipped; 17 successors overflow the reorder window (16), the gap is
  // given up, and seq 1 turning up afterwards is out of order; seq 0 again is a duplicate.
  const ooo = id('order');
  const oooRecs = [control(ooo, 'call_start', 0), audio(ooo, 'customer', 0, 0)];
  for (let s = 2; s <= 18; s++) oooRecs.push(audio(ooo, 'customer', s, s * 200));
  oooRecs.push(audio(ooo, 'customer', 1, 200), audio(ooo, 'customer', 0, 0), control(ooo, 'call_end', 1, 19 * 200));
  out.push({ name: 'out of order and duplicate', callId: ooo, records: oooRecs, rejected: [[oooRecs.length - 3, 'CHUNK_OUT_OF_ORDER'], [oooRecs.length - 2, 'CHUNK_DUPLICATE']] });
  // Too late: the customer channel reached 10 s, so agent audio at 0 s is behind the watermark.
  const late = id('late');
  const lateRecs = [control(late, 'call_start', 0)];
  for (let s = 0; s < 50; s++) lateRecs.push(audio(late, 'customer', s, s * 200));
  lateRecs.push(audio(late, 'agent', 0, 0), control(late, 'call_end', 1, 10_000));
  out.push({ name: 'too late', callId: late, records: lateRecs, rejected: [[lateRecs.length - 2, 'CHUNK_TOO_LATE']] });
  return out;
}

test('each bad input is dead-lettered with its code; a good call in flight in the same partition scores exactly as alone; a call that never ends times out', { timeout: 110_000 }, async (t) => {
  if (!existsSync(join(repoRoot(), 'models', 'CURRENT'))) {
    if (process.env.CI === 'true') throw new Error('models/CURRENT is missing (CI=true)');
    console.warn('SKIPPING bad-input suite: no exported model (models/CURRENT)');
    return t.skip('no exported model');
  }
  const brokers = await requireKafka(t);
  if (!brokers) return;
  const kafka = testKafka('bad-input');
  // One partition: every bad record sits between the good call's records.
  const topic = await freshTopic('bad-input', 1, {}, kafka);
  const db = tempDb('bad-input');
  const fx = fixtures()[0];
  const opts = { epochMs: EPOCH, seed: 7, dropTranscriptShare: 0.3, lateTranscriptShare: 0 };
  const alone = scriptCall(fx, { ...opts, callId: callIdFor('alone') });
  const goodId = callIdFor('good');
  const good = scriptCall(fx, { ...opts, callId: goodId });
  const idle = callIdFor('idle');
  let app: AppHandle | null = null;
  let client: Client | null = null;
  let producer: RecordingProducer | null = null;
  try {
    app = await startApp({
      brokers, topic, group: freshGroupId('bad-input'), dbPath: db.dbPath,
      overrides: { window: { autoOpenCalls: false, idleTimeoutMs: IDLE_MS, transcriptWaitMs: 12_000 } },
    });
    const { url, wsUrl } = app.app.api;
    client = wsClient(wsUrl);
    const scores = collect<ApiScore>(client, `subscription { segmentScored { ${SCORE_FIELDS} } }`, 'segmentScored');
    const calls = collect<{ id: string; status: string }>(client, 'subscription { callUpdated { id status } }', 'callUpdated');
    await until(() => app!.app.hub.stats().subscribers === 2, 5_000, 'subscribed');
    producer = await RecordingProducer.connect(kafka, topic);
    const status = async (id: string) => (await gql(url, 'query($id: ID!) { call(id: $id) { status } }', { id })).call?.status ?? null;

    // The reference: the good call alone.
    await producer.send(alone.map((c) => encodeChunk(c.chunk)));
    await until(async () => (await status(alone[0].chunk.callId)) === 'ENDED', 40_000, 'reference call ENDED');

    // The good call again, with every bad case spliced in between its records, plus a call that never ends.
    const bad = cases();
    const goodRecs = good.map((c) => encodeChunk(c.chunk));
    const mixed: WireRecord[] = [];
    const where = new Map<Case, number>();
    const step = Math.floor(goodRecs.length / (bad.length + 1));
    for (let i = 0, k = 0; i < goodRecs.length; i++) {
      mixed.push(goodRecs[i]);
      if (i > 0 && i % step === 0 && k < bad.length) {
        where.set(bad[k], mixed.length);
        mixed.push(...bad[k++].records);
      }
    }
    assert.equal(where.size, bad.length, 'every case spliced in');
    mixed.splice(10, 0, control(idle, 'call_start', 0), audio(idle, 'customer', 0, 0), audio(idle, 'customer', 1, 200));
    const sent = await producer.send(mixed);
    // Indices shifted by the idle call's 3 records where they come after position 10.
    const offsetOf = (c: Case, i: number) => sent[where.get(c)! + (where.get(c)! >= 10 ? 3 : 0) + i];

    await until(async () => (await status(goodId)) === 'ENDED', 60_000, 'good call ENDED');
    await until(async () => (await status(idle)) === 'TIMED_OUT', IDLE_MS + 10_000, 'the call that never ended TIMED_OUT');
    assert.ok(calls.events.some((c) => c.id === idle && c.status === 'TIMED_OUT'), 'subscribers saw the call time out');
    await app.app.pipeline.idle();

    // Dead letters: exactly the bad records, each with its code, its bytes, and where it was read.
    const expected = bad.flatMap((c) => c.rejected.map(([i, code]) => ({ c, i, code })));
    const dlq = await readDeadLetters(kafka, topic, expected.length);
    assert.equal(dlq.length, expected.length, `dead letters: ${JSON.stringify(dlq.map((d) => [d.key, d.headers['x-error-code']]))}`);
    for (const { c, i, code } of expected) {
      const src = offsetOf(c, i);
      assert.equal(src.record, c.records[i], `${c.name}: offset bookkeeping`);
      const d = dlq.find((x) => x.headers['x-source-offset'] === String(src.offset));
      assert.ok(d, `${c.name}: a dead letter for offset ${src.offset}`);
      assert.equal(d.headers['x-error-code'], code, c.name);
      assert.equal(d.key, c.callId);
      assert.equal(d.headers['x-source-topic'], topic);
      assert.equal(d.headers['x-source-partition'], '0');
      assert.ok(d.headers['x-error-message'].length > 0);
      assert.ok(d.value?.equals(src.record.value), `${c.name}: the original payload is kept`);
      for (const [k, v] of Object.entries(src.record.headers)) assert.equal(d.headers[k], v, `${c.name}: header ${k} kept`);
    }
    const metrics = await (await fetch(url.replace(/\/graphql$/, '/metrics'))).text();
    for (const code of new Set(expected.map((e) => e.code))) {
      const n = expected.filter((e) => e.code === code).length;
      assert.match(metrics, new RegExp(`dead_letters_total\\{code="${code}"\\} ${n}\\b`), `${code} counted`);
    }

    // The good call's scores: all there, identical to the call played alone.
    const strip = (s: ApiScore) => ({ ...s, callId: '', scoredAt: '' });
    const ref = scores.events.filter((s) => s.callId === alone[0].chunk.callId).sort((a, b) => scoreKey(a).localeCompare(scoreKey(b)));
    const got = scores.events.filter((s) => s.callId === goodId).sort((a, b) => scoreKey(a).localeCompare(scoreKey(b)));
    assert.ok(ref.length >= 4, `the reference call made segments (${ref.length})`);
    assert.ok(ref.some((s) => s.textMissing) && ref.some((s) => !s.textMissing), 'the reference mixes segments with and without text');
    assert.equal(got.length, ref.length);
    for (let i = 0; i < ref.length; i++) {
      const a = strip(ref[i]);
      const b = strip(got[i]);
      assert.ok(Math.abs(a.valence - b.valence) < 1e-5, `${scoreKey(got[i])}: valence ${b.valence} vs ${a.valence} alone`);
      assert.deepEqual({ ...b, valence: 0, confidence: 0, modalityWeights: null }, { ...a, valence: 0, confidence: 0, modalityWeights: null });
    }
  } finally {
    await client?.dispose();
    await producer?.disconnect();
    await app?.stop();
    db.cleanup();
  }
});
