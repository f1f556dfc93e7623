/**
 * Issue 15, first bar: the same WAV (fixtures/call/call.wav, stereo 8 kHz, mu-law-exact samples)
 * streamed through each WebSocket ingest path of an embedded server (no Kafka: in-process source,
 * real ONNX scorer, SQLite) scores exactly as the same audio produced to Kafka does: the same
 * segments, spans, flags and labels, valences within 1e-4. The Twilio and AudioHook clients send
 * 20 ms frames (Twilio's size), which the server joins into records of INGEST_AUDIO_RECORD_MS
 * (200 ms here, audio-coalescer.ts); the Kafka reference and /ingest send records of those same
 * 200 ms, so the decoder's per-record resampling sees the same input on every path. Bad frames
 * are mixed into each stream; they are refused with their codes and the scores do not change.
 *
 * The Twilio and AudioHook senders (clients/) are written from each protocol's documentation.
 * Needs Kafka for the reference (fails under CI=true, skips loudly otherwise) and the model.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { CONTRACT_VERSION, CONTROL_CHANNEL, H } from '../../../schema/chunk.js';
import { encodeFrame } from '../../../src/ingest/ws/frame.js';
import type { WireRecord } from '../../../src/ingest/encode.js';
import {
  type ApiScore, type AppHandle, callIdFor, committedOffsets, endOffsets, RecordingProducer, startApp, storedScores, tempDb, testKafka, until,
} from '../../integration/harness.js';
import { freshGroupId, freshTopic, requireKafka } from '../../support/kafka.js';
import { AudioHookClient } from './clients/audiohook-client.js';
import { encodeMulaw } from './clients/g711.js';
import { TwilioStreamClient } from './clients/twilio-client.js';
import { assertSameScores, type Embedded, finished, fixtureWav, FRAME, PARITY_ENV, refusedCount, requireModel, startEmbedded } from './support.js';

const wav = fixtureWav();
const CHANNELS = ['customer', 'agent'] as const;
const frames = Math.ceil(wav.channels[0].length / FRAME);
const pcm = (c: number, k: number): Int16Array => wav.channels[c].subarray(k * FRAME, (k + 1) * FRAME);
/** 20 ms frames per record: PARITY_ENV's INGEST_AUDIO_RECORD_MS of 200. */
const RECORD_FRAMES = 10;
const records = Math.ceil(frames / RECORD_FRAMES);
const recordPcm = (c: number, k: number): Int16Array => wav.channels[c].subarray(k * RECORD_FRAMES * FRAME, (k + 1) * RECORD_FRAMES * FRAME);
const s16le = (x: Int16Array): Buffer => Buffer.from(x.buffer, x.byteOffset, x.byteLength);

/** The call as contract records: call_start, per 200 ms a customer then an agent record, call_end. */
function contractRecords(callId: string, epochMs: number): WireRecord[] {
  const base = { [H.version]: String(CONTRACT_VERSION), [H.tenant]: 'demo' };
  const control = (kind: string, seq: number, at: number): WireRecord => ({
    key: Buffer.from(callId), value: Buffer.from(JSON.stringify({ kind })),
    headers: { ...base, [H.modality]: 'control', [H.channel]: CONTROL_CHANNEL, [H.seq]: String(seq), [H.eventTimeMs]: String(at) },
  });
  const out = [control('call_start', 0, epochMs)];
  for (let k = 0; k < records; k++) {
    for (const [c, channel] of CHANNELS.entries()) {
      out.push({
        key: Buffer.from(callId), value: Buffer.from(s16le(recordPcm(c, k))),
        headers: { ...base, [H.modality]: 'audio', [H.channel]: channel, [H.seq]: String(k), [H.eventTimeMs]: String(epochMs + k * RECORD_FRAMES * 20), [H.sampleRate]: '8000' },
      });
    }
  }
  out.push(control('call_end', 1, epochMs + frames * 20));
  return out;
}

let reference: ApiScore[] | null = null;
let embedded: Embedded | null = null;
let skipped = false;
/** The Kafka-configured server, its topic and group (kept for the /ingest-with-Kafka test). */
let kafkaSide: { app: AppHandle; kafka: ReturnType<typeof testKafka>; topic: string; group: string; cleanup: () => void } | null = null;

/** Waits until the group committed every record of the topic (each only after its scores were stored). */
async function allCommitted(k: NonNullable<typeof kafkaSide>, what: string): Promise<void> {
  const end = await endOffsets(k.kafka, k.topic);
  await until(async () => (await committedOffsets(k.kafka, k.group, k.topic)).get(0) === end.get(0), 90_000, what);
}

before(async () => {
  // The reference: the same records through Kafka (fresh topic and group), read back when the
  // group has committed every record (a record is committed only after its scores are stored).
  const t = { name: 'ws ingest parity', skip: (m: string) => { skipped = true; console.warn(m); } } as unknown as Parameters<typeof requireKafka>[0];
  if (!requireModel(t)) return;
  const brokers = await requireKafka(t);
  if (!brokers) return;
  const topic = await freshTopic('ws-parity', 1);
  const group = freshGroupId('ws-parity');
  const db = tempDb('ws-parity-kafka');
  const kafka = testKafka();
  const app = await startApp({ brokers, topic, group, dbPath: db.dbPath, env: PARITY_ENV });
  kafkaSide = { app, kafka, topic, group, cleanup: db.cleanup };
  const producer = await RecordingProducer.connect(kafka, topic);
  try {
    const callId = callIdFor('kafka-ref');
    await producer.send(contractRecords(callId, 1_764_000_000_000));
    await allCommitted(kafkaSide, 'the Kafka reference call committed');
    reference = await storedScores(app.app.api.url, callId);
  } finally {
    await producer.disconnect();
  }
  embedded = await startEmbedded();
});

after(async () => {
  await embedded?.stop();
  await kafkaSide?.app.stop();
  kafkaSide?.cleanup();
});

function ready(t: { skip: (m: string) => void }): boolean {
  if (skipped || !reference || !embedded) {
    t.skip('Kafka or the model is missing (see the warning above)');
    return false;
  }
  return true;
}

test('own contract over /ingest: the same scores as Kafka; bad frames get error frames and change nothing', async (t) => {
  if (!ready(t)) return;
  const e = embedded!;
  const callId = callIdFor('ws-contract');
  const ws = new WebSocket(`${e.wsBase}/ingest`);
  const answers: { type: string; n: number; code?: string }[] = [];
  ws.on('message', (d) => answers.push(JSON.parse(d.toString())));
  await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
  const records = contractRecords(callId, Date.now());
  const bad: Record<number, string> = {};
  let n = 0;
  for (const [i, r] of records.entries()) {
    if (i === 5) { bad[n++] = 'INGEST_BAD_FRAME'; ws.send(Buffer.from([0, 0])); } // too short to frame
    if (i === 6) { bad[n++] = 'INGEST_BAD_FRAME'; ws.send('{"not":"binary"}'); }
    if (i === 7) { bad[n++] = 'CHUNK_BAD_SAMPLE_RATE'; ws.send(encodeFrame({ key: callId, headers: { ...r.headers, [H.sampleRate]: '44100', [H.channel]: 'other' }, value: r.value })); }
    if (i === 8) { bad[n++] = 'FORBIDDEN'; ws.send(encodeFrame({ key: callId, headers: { ...r.headers, [H.tenant]: 'someone-else', [H.channel]: 'other' }, value: r.value })); }
    ws.send(encodeFrame({ key: r.key, headers: r.headers as Record<string, string>, value: r.value }));
    n++;
  }
  await until(() => answers.length === n, 60_000, `an answer for each of ${n} messages (have ${answers.length})`);
  const errors = answers.filter((a) => a.type === 'error');
  assert.deepEqual(Object.fromEntries(errors.map((a) => [a.n, a.code])), bad, 'exactly the bad frames were refused, each with its code');
  assert.equal(answers.filter((a) => a.type === 'ack').length, records.length, 'every good record acked');
  ws.close();
  t.diagnostic(assertSameScores(await finished(e, callId), reference!, '/ingest'));
});

test('Twilio Media Streams over /ingest/twilio: the same scores as Kafka; malformed frames are counted and skipped', async (t) => {
  if (!ready(t)) return;
  const e = embedded!;
  const callId = callIdFor('ws-twilio');
  const before = await refusedCount(e, 'twilio', 'INGEST_BAD_FRAME');
  const c = await TwilioStreamClient.connect(`${e.wsBase}/ingest/twilio`, `MZ${callId.slice(-30)}`);
  c.start({ callSid: `CA${callId.slice(-30)}`, customParameters: { callId, displayName: 'Twilio parity' } });
  for (let k = 0; k < frames; k++) {
    if (k === 3) c.raw('not json');
    if (k === 4) c.raw(JSON.stringify({ event: 'media', sequenceNumber: '9999', streamSid: c.streamSid, media: { track: 'inbound', chunk: '1', timestamp: '0', payload: '!!!' } }));
    if (k === 5) c.mark('greeting-done');
    if (k === 6) c.dtmf('5');
    c.media('inbound', k * 20, encodeMulaw(pcm(0, k)));
    c.media('outbound', k * 20, encodeMulaw(pcm(1, k)));
  }
  c.stop(`CA${callId.slice(-30)}`);
  await c.close();
  t.diagnostic(assertSameScores(await finished(e, callId), reference!, 'Twilio'));
  assert.equal(await refusedCount(e, 'twilio', 'INGEST_BAD_FRAME') - before, 2, 'the non-JSON frame and the bad payload were refused');
});

test('Genesys AudioHook over /ingest/audiohook: the same scores as Kafka; ping, update and a bad frame on the way', async (t) => {
  if (!ready(t)) return;
  const e = embedded!;
  const callId = callIdFor('ws-audiohook');
  const before = await refusedCount(e, 'audiohook', 'INGEST_BAD_FRAME');
  const c = await AudioHookClient.connect(`${e.wsBase}/ingest/audiohook`);
  const opened = await c.open({ conversationId: callId });
  assert.equal(opened.type, 'opened');
  assert.deepEqual(opened.parameters.media, [{ type: 'audio', format: 'PCMU', channels: ['external', 'internal'], rate: 8000 }]);
  for (let k = 0; k < frames; k++) {
    if (k === 10) assert.equal((await c.ping()).type, 'pong');
    if (k === 11) assert.equal((await c.update('en-US')).type, 'updated');
    if (k === 12) c.raw(Buffer.from([1, 2, 3]), true); // not whole stereo samples
    const left = pcm(0, k);
    const right = pcm(1, k);
    const inter = new Int16Array(left.length * 2);
    for (let i = 0; i < left.length; i++) {
      inter[2 * i] = left[i];
      inter[2 * i + 1] = right[i];
    }
    c.audio(encodeMulaw(inter), left.length);
  }
  const closed = await c.close();
  assert.equal(closed.type, 'closed');
  t.diagnostic(assertSameScores(await finished(e, callId), reference!, 'AudioHook'));
  assert.equal(await refusedCount(e, 'audiohook', 'INGEST_BAD_FRAME') - before, 1, 'the odd-sized audio frame was refused');
});

test('/ingest on a server that reads Kafka: records are written to the chunk topic (ack = written) and score the same', async (t) => {
  if (!ready(t) || !kafkaSide) return;
  const k = kafkaSide;
  const callId = callIdFor('ws-kafka');
  const ws = new WebSocket(`${k.app.app.api.wsUrl.replace(/\/graphql$/, '')}/ingest`);
  const answers: { type: string; n: number; code?: string }[] = [];
  ws.on('message', (d) => answers.push(JSON.parse(d.toString())));
  await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
  const records = contractRecords(callId, Date.now());
  for (const r of records) ws.send(encodeFrame({ key: r.key, headers: r.headers as Record<string, string>, value: r.value }));
  ws.send(encodeFrame({ key: callId, headers: { ...(records[1].headers as Record<string, string>), [H.tenant]: 'someone-else' }, value: records[1].value }));
  await until(() => answers.length === records.length + 1, 60_000, `an answer for each of ${records.length + 1} messages (have ${answers.length})`);
  assert.deepEqual(answers.filter((a) => a.type === 'error').map((a) => [a.n, a.code]), [[records.length, 'FORBIDDEN']]);
  ws.close();
  await allCommitted(k, 'the /ingest call committed by the group');
  t.diagnostic(assertSameScores(await storedScores(k.app.app.api.url, callId), reference!, '/ingest with Kafka'));
});
