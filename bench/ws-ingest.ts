/**
 * WebSocket ingest transport cost: how much live audio the `/ingest` (chunk contract) and
 * `/ingest/twilio` (JSON + base64 mu-law) paths carry per second of one process, decoder
 * included, scoring excluded (the window and scorer are the Kafka path's and measured in
 * bench/pipeline.ts). Baseline: the same records pushed straight into the MemorySource.
 *
 *   node --import tsx bench/ws-ingest.ts [sockets=8] [seconds=60] [twilioRecordMs=200]
 *
 * Each socket streams a call of `seconds` of stereo 8 kHz audio in 20 ms records (Twilio's
 * frame size: the most records per audio second a platform sends) as fast as the server takes
 * it; /ingest/twilio joins them into records of `twilioRecordMs` (INGEST_AUDIO_RECORD_MS; 0:
 * each frame its own record). Prints one JSON line per path: frames sent/s and audio seconds per
 * wall second (= live channels one process could carry, before scoring).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import WebSocket from 'ws';
import { CONTRACT_VERSION, H } from '../schema/chunk.js';
import { devContext } from '../src/auth/api-context.js';
import { createDecoder, createIngest, MemoryDeadLetterSink, MemorySource } from '../src/ingest/index.js';
import { createWsIngest, memorySourceDelivery } from '../src/ingest/ws/endpoint.js';
import { RecordOutcomes } from '../src/ingest/ws/outcomes.js';
import { encodeFrame } from '../src/ingest/ws/frame.js';

const sockets = Number(process.argv[2] ?? 8);
const seconds = Number(process.argv[3] ?? 60);
const frames = seconds * 50;
const twilioRecordMs = Number(process.argv[4] ?? 200);
/** Records per track /ingest/twilio makes of `frames` 20 ms frames (src/ingest/ws/audio-coalescer.ts). */
const twilioRecords = Math.ceil(frames / Math.max(1, Math.ceil((twilioRecordMs * 8000) / 1000 / 160)));
const pcm = Buffer.alloc(320);
for (let i = 0; i < 160; i++) pcm.writeInt16LE(Math.round(8000 * Math.sin(i / 5)), 2 * i);
const mulaw = Buffer.alloc(160, 0x55).toString('base64');

async function rig() {
  const source = new MemorySource({ capacity: 4096 });
  const outcomes = new RecordOutcomes();
  let forwarded = 0;
  const ingest = createWsIngest({
    push: memorySourceDelivery(source, outcomes), context: devContext('demo'), origins: { allowed: [], devMode: true }, maxSocketsPerSource: 1024, audioRecordMs: twilioRecordMs,
    onRefused: (p, e) => { throw new Error(`${p} refused ${e.code}: ${e.message}`); }, logger: pino({ level: 'silent' }),
  });
  const release = (refs: Parameters<MemorySource['release']>[0]) => {
    source.release(refs);
    outcomes.released(refs);
  };
  await source.start(createIngest({
    source: { release }, decode: createDecoder(), deadLetters: new MemoryDeadLetterSink(),
    forward: (_c, raw) => { forwarded++; release([raw.source]); },
  }));
  const server = createServer();
  server.on('upgrade', (req, s, h) => ingest.routes[(req.url ?? '').split('?')[0]](req, s, h));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { source, url, forwarded: () => forwarded, close: async () => { await ingest.stop(); await source.stop(); server.close(); } };
}

const record = (call: string, channel: string, k: number) => ({
  key: call, value: pcm,
  headers: { [H.version]: String(CONTRACT_VERSION), [H.modality]: 'audio', [H.channel]: channel, [H.seq]: String(k), [H.eventTimeMs]: String(1_764_000_000_000 + k * 20), [H.sampleRate]: '8000' },
});

async function contract(): Promise<number> {
  const r = await rig();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: sockets }, async (_, s) => {
    const ws = new WebSocket(`${r.url}/ingest`);
    await new Promise((ok) => ws.once('open', ok));
    let acks = 0;
    const done = new Promise<void>((ok) => ws.on('message', () => { if (++acks === 2 * frames) ok(); }));
    for (let k = 0; k < frames; k++) {
      for (const ch of ['customer', 'agent']) ws.send(encodeFrame(record(`c${s}`, ch, k)));
      while (ws.bufferedAmount > 1 << 20) await new Promise((ok) => setTimeout(ok, 1));
    }
    await done;
    ws.close();
  }));
  const ms = performance.now() - t0;
  await r.close();
  return ms;
}

async function twilio(): Promise<number> {
  const r = await rig();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: sockets }, async (_, s) => {
    const ws = new WebSocket(`${r.url}/ingest/twilio`);
    await new Promise((ok) => ws.once('open', ok));
    let n = 0;
    const send = (m: object) => ws.send(JSON.stringify({ sequenceNumber: String(++n), streamSid: `MZ${s}`, ...m }));
    send({ event: 'start', start: { streamSid: `MZ${s}`, callSid: `CA${s}`, tracks: ['inbound', 'outbound'], customParameters: {}, mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } } });
    for (let k = 0; k < frames; k++) {
      for (const track of ['inbound', 'outbound']) send({ event: 'media', media: { track, chunk: String(k + 1), timestamp: String(k * 20), payload: mulaw } });
      while (ws.bufferedAmount > 1 << 20) await new Promise((ok) => setTimeout(ok, 1));
    }
    send({ event: 'stop', stop: {} });
    ws.close();
  }));
  const expected = sockets * (2 * twilioRecords + 2);
  while (r.forwarded() < expected) await new Promise((ok) => setTimeout(ok, 5));
  const ms = performance.now() - t0;
  await r.close();
  return ms;
}

async function direct(): Promise<number> {
  const r = await rig();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: sockets }, async (_, s) => {
    for (let k = 0; k < frames; k++) {
      for (const ch of ['customer', 'agent']) {
        const x = record(`d${s}`, ch, k);
        await r.source.push({ key: Buffer.from(x.key), headers: x.headers, value: x.value });
      }
    }
  }));
  while (r.forwarded() < sockets * 2 * frames) await new Promise((ok) => setTimeout(ok, 5));
  const ms = performance.now() - t0;
  await r.close();
  return ms;
}

for (const [path, run] of [['memory-source push (baseline)', direct], ['/ingest', contract], ['/ingest/twilio', twilio]] as const) {
  const ms = await run();
  const records = sockets * 2 * frames;
  console.log(JSON.stringify({ path, sockets, callSeconds: seconds, records, wallMs: Math.round(ms), recordsPerSecond: Math.round(records / (ms / 1000)), audioSecondsPerSecond: Math.round((records * 0.02) / (ms / 1000)) }));
}
