/**
 * The WebSocket ingest endpoint on a real HTTP server and real sockets, feeding a real
 * MemorySource and the real ingest stage (decoder, dead letters); no model. Covers what the
 * parity test does not: credentials and tenants (API keys, as on the GraphQL side), the Origin
 * rule, protocol refusals with their codes, and backpressure (a full source stops the socket
 * being read; nothing is refused or lost, and what waits in the server stays bounded).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, test } from 'node:test';
import { pino } from 'pino';
import WebSocket from 'ws';
import { CONTRACT_VERSION, CONTROL_CHANNEL, H } from '../../../schema/chunk.js';
import { createAuthContext, hashApiKey, parseApiKeys } from '../../../src/auth/index.js';
import type { ContextFunction } from '../../../src/auth/api-context.js';
import { createApiKeyVerifier } from '../../../src/auth/api-keys.js';
import type { AppError } from '../../../src/core/errors.js';
import type { MediaChunk } from '../../../src/core/types.js';
import { createDecoder, createIngest, MemoryDeadLetterSink, MemorySource } from '../../../src/ingest/index.js';
import { createWsIngest, memorySourceDelivery, type WsIngest } from '../../../src/ingest/ws/endpoint.js';
import { RecordOutcomes } from '../../../src/ingest/ws/outcomes.js';
import { encodeFrame } from '../../../src/ingest/ws/frame.js';
import { until } from '../../integration/harness.js';
import { AudioHookClient } from './clients/audiohook-client.js';
import { TwilioStreamClient } from './clients/twilio-client.js';

const KEY = 'acme-secret-key';

interface Rig {
  url: string;
  ingest: WsIngest;
  source: MemorySource;
  chunks: MediaChunk[];
  refused: { protocol: string; code: string }[];
  startSink(): Promise<void>;
  close(): Promise<void>;
}

let rig: Rig | null = null;
afterEach(async () => {
  await rig?.close();
  rig = null;
});

/** The endpoint with API-key auth (tenant acme), same-origin-only Origin rule, a source of `capacity`,
 *  platform frames joined into records of `audioRecordMs`. */
async function startRig(capacity = 64, contextFn?: ContextFunction, audioRecordMs = 200): Promise<Rig> {
  const source = new MemorySource({ capacity });
  const outcomes = new RecordOutcomes();
  const chunks: MediaChunk[] = [];
  const refused: { protocol: string; code: string }[] = [];
  const context = contextFn ?? createAuthContext({ mode: 'apikey', jwt: null, apiKey: createApiKeyVerifier(parseApiKeys(`acme:${hashApiKey(KEY)}`)) });
  const ingest = createWsIngest({
    push: memorySourceDelivery(source, outcomes), context, origins: { allowed: [], devMode: false }, maxSocketsPerSource: 16, audioRecordMs,
    onRefused: (protocol, e: AppError) => refused.push({ protocol, code: e.code }), logger: pino({ level: 'silent' }),
  });
  const release = (refs: Parameters<MemorySource['release']>[0]) => {
    source.release(refs);
    outcomes.released(refs);
  };
  const stage = createIngest({
    source: { release }, decode: createDecoder({ defaultTenant: null }), deadLetters: new MemoryDeadLetterSink(),
    forward: (chunk, raw) => {
      chunks.push(chunk);
      release([raw.source]);
    },
    onRejected: (raw, e) => outcomes.rejected(raw.source, e),
  });
  const server: Server = createServer();
  server.on('upgrade', (req, socket, head) => {
    const route = ingest.routes[(req.url ?? '').split('?')[0]];
    if (route) route(req, socket, head);
    else socket.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`, ingest, source, chunks, refused,
    startSink: () => source.start(stage),
    async close() {
      await source.stop();
      await ingest.stop();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function audio(callId: string, seq: number, bytes = 320, extra: Record<string, string> = {}): Buffer {
  return encodeFrame({
    key: callId, value: Buffer.alloc(bytes, 1),
    headers: { [H.version]: String(CONTRACT_VERSION), [H.modality]: 'audio', [H.channel]: 'customer', [H.seq]: String(seq), [H.eventTimeMs]: String(1_764_000_000_000 + seq * 20), [H.sampleRate]: '8000', ...extra },
  });
}

async function open(url: string, headers: Record<string, string> = {}): Promise<{ ws: WebSocket; answers: { type: string; n: number; code?: string }[] }> {
  const ws = new WebSocket(url, { headers });
  const answers: { type: string; n: number; code?: string }[] = [];
  ws.on('message', (d) => answers.push(JSON.parse(d.toString())));
  await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
  return { ws, answers };
}

const closeCode = (ws: WebSocket) => new Promise<number>((r) => ws.once('close', (code) => r(code)));

test('/ingest: no credentials closes 4401; the key names the tenant; another tenant is FORBIDDEN for that record alone', async () => {
  rig = await startRig();
  await rig.startSink();
  const anon = await open(`${rig.url}/ingest`);
  assert.equal(await closeCode(anon.ws), 4401);

  const c = await open(`${rig.url}/ingest`, { 'x-api-key': KEY });
  c.ws.send(audio('call-1', 0));
  c.ws.send(audio('call-1', 1, 320, { [H.tenant]: 'globex' }));
  c.ws.send(audio('call-1', 2, 320, { [H.tenant]: 'acme' }));
  c.ws.send(audio('call-1', 3, 320, { [H.sampleRate]: '11025' }));
  c.ws.send(Buffer.from([0, 0, 0, 200, 1]));
  await until(() => c.answers.length === 5, 5_000, 'five answers');
  const byN = [...c.answers].sort((a, b) => a.n - b.n).map((a) => [a.n, a.type, a.code ?? null]);
  assert.deepEqual(byN, [[0, 'ack', null], [1, 'error', 'FORBIDDEN'], [2, 'ack', null], [3, 'error', 'CHUNK_BAD_SAMPLE_RATE'], [4, 'error', 'INGEST_BAD_FRAME']]);
  assert.deepEqual(rig.chunks.map((ch) => [ch.tenant, ch.seq]), [['acme', 0], ['acme', 2]]);
  c.ws.close();
});

test('a socket lives no longer than its credential: closed 4403 when it expires, as on /graphql', async () => {
  const expiresAtMs = Date.now() + 300;
  rig = await startRig(64, () => ({ tenant: 'acme', principal: 'jwt:test', expiresAtMs }));
  await rig.startSink();
  const c = await open(`${rig.url}/ingest`);
  c.ws.send(audio('call-exp', 0));
  const code = await closeCode(c.ws);
  assert.equal(code, 4403);
  assert.ok(Date.now() >= expiresAtMs, 'not before the expiry');
  assert.deepEqual(c.answers.map((a) => a.type), ['ack'], 'what it sent before was taken');
});

test('an upgrade from a foreign Origin is refused 403 before any socket opens', async () => {
  rig = await startRig();
  const ws = new WebSocket(`${rig.url}/ingest`, { headers: { 'x-api-key': KEY, origin: 'http://evil.example' } });
  const status = await new Promise<number>((r) => ws.once('unexpected-response', (_q, res) => r(res.statusCode ?? 0)));
  assert.equal(status, 403);
});

test('Twilio: credentials come as custom parameters; without them the stream is closed 4401', async () => {
  rig = await startRig();
  await rig.startSink();
  const anon = await TwilioStreamClient.connect(`${rig.url}/ingest/twilio`, 'MZanon');
  const code = closeCode(anon.ws);
  anon.start({ callSid: 'CAanon' });
  assert.equal(await code, 4401);

  const c = await TwilioStreamClient.connect(`${rig.url}/ingest/twilio`, 'MZ1');
  c.media('inbound', 0, Buffer.alloc(160, 0xff)); // before start
  c.start({ callSid: 'CA1', customParameters: { apiKey: KEY, displayName: 'Ann' } });
  c.media('inbound', 0, Buffer.alloc(160, 0xff));
  c.media('outbound', 0, Buffer.alloc(160, 0xff));
  c.raw(Buffer.from([1, 2]));
  c.stop('CA1');
  await until(() => rig!.chunks.length === 4, 5_000, 'call_start, two audio chunks, call_end');
  assert.deepEqual(rig.chunks.map((ch) => [ch.modality, ch.channel, ch.tenant, ch.callId]), [
    ['control', CONTROL_CHANNEL, 'acme', 'CA1'], ['audio', 'customer', 'acme', 'CA1'], ['audio', 'agent', 'acme', 'CA1'], ['control', CONTROL_CHANNEL, 'acme', 'CA1'],
  ]);
  assert.deepEqual((rig.chunks[0] as Extract<MediaChunk, { modality: 'control' }>).meta, { source: 'twilio', streamSid: 'MZ1', callSid: 'CA1', accountSid: 'AC00000000000000000000000000000000', displayName: 'Ann' });
  assert.deepEqual(rig.refused.filter((r) => r.protocol === 'twilio').map((r) => r.code), ['UNAUTHENTICATED', 'INGEST_SESSION_STATE', 'INGEST_BAD_FRAME']);
  await c.close();
});

test("Twilio: 20 ms frames are joined into 200 ms records per track; a lost frame ends a record, a repeated chunk is refused", async () => {
  rig = await startRig();
  await rig.startSink();
  const c = await TwilioStreamClient.connect(`${rig.url}/ingest/twilio`, 'MZjoin');
  c.start({ callSid: 'CAjoin', customParameters: { apiKey: KEY } });
  // Frame k of each track carries bytes k (mu-law), so a record's samples say which frames it holds.
  const frame = (k: number) => Buffer.alloc(160, k);
  for (let k = 0; k < 25; k++) {
    if (k !== 13) c.media('inbound', k * 20, frame(k)); // frame 13 lost on the inbound track: its record ends at frame 12
    c.media('outbound', k * 20, frame(k));
  }
  c.raw(JSON.stringify({ event: 'media', sequenceNumber: '999', streamSid: c.streamSid, media: { track: 'outbound', chunk: '3', timestamp: '40', payload: frame(2).toString('base64') } }));
  c.stop('CAjoin');
  await until(() => rig!.chunks.at(-1)?.modality === 'control' && rig!.chunks.length > 2, 5_000, 'call_end');
  const audio = rig.chunks.filter((ch): ch is Extract<MediaChunk, { modality: 'audio' }> => ch.modality === 'audio');
  const shape = (channel: string) => audio.filter((a) => a.channel === channel).map((a) => [a.seq, a.eventTimeMs - audio[0].eventTimeMs, a.durationMs]);
  assert.deepEqual(shape('agent'), [[0, 0, 200], [1, 200, 200], [2, 400, 100]], 'outbound: 10 + 10 + 5 frames');
  assert.deepEqual(shape('customer'), [[0, 0, 200], [1, 200, 60], [2, 280, 200], [3, 480, 20]], 'inbound: the gap at frame 13 ends a record');
  assert.deepEqual(rig.refused.map((r) => r.code), ['INGEST_BAD_FRAME'], 'the repeated chunk 3 alone is refused');
  assert.equal(audio.length + 2, rig.chunks.length);
  await c.close();
});

test('AudioHook: X-API-KEY names the tenant; an open with no PCMU offer gets disconnect INGEST_UNSUPPORTED_MEDIA; audio before open is refused', async () => {
  rig = await startRig();
  await rig.startSink();
  const l16 = await AudioHookClient.connect(`${rig.url}/ingest/audiohook`, { apiKey: KEY });
  const reply = await l16.open({ conversationId: 'conv-l16', media: [{ type: 'audio', format: 'L16', channels: ['external'], rate: 8000 }] });
  assert.equal(reply.type, 'disconnect');
  assert.equal(reply.parameters.reason, 'error');
  assert.match(String(reply.parameters.info), /^INGEST_UNSUPPORTED_MEDIA/);

  const c = await AudioHookClient.connect(`${rig.url}/ingest/audiohook`, { apiKey: KEY });
  c.audio(Buffer.alloc(320, 0xff), 160); // before open
  const opened = await c.open({ conversationId: 'conv-1', channels: ['internal'], customConfig: { callId: 'call-ah' } });
  assert.deepEqual(opened.parameters.media, [{ type: 'audio', format: 'PCMU', channels: ['internal'], rate: 8000 }]);
  c.audio(Buffer.alloc(160, 0xff), 160);
  c.raw(JSON.stringify({ version: '2', id: c.sessionId, type: 'ping', seq: 1, serverseq: 1, position: 'PT0.02S', parameters: {} })); // seq not after 1
  c.raw('{"version":"2"'); // not JSON
  c.paused();
  c.resumed(2);
  c.audio(Buffer.alloc(160, 0xff), 160);
  await c.close();
  await until(() => rig!.chunks.length === 4, 5_000, 'call_start, two audio chunks, call_end');
  const [start, a0, a1] = rig.chunks;
  assert.deepEqual([start.tenant, start.callId, a0.channel, a0.seq, a1.seq], ['acme', 'call-ah', 'agent', 0, 1]);
  assert.equal(a1.eventTimeMs - a0.eventTimeMs, 20 + 2000, 'the discarded 2 s move the position on');
  assert.deepEqual(rig.refused.filter((r) => r.protocol === 'audiohook').map((r) => r.code), ['INGEST_UNSUPPORTED_MEDIA', 'INGEST_SESSION_STATE', 'INGEST_SESSION_STATE', 'INGEST_BAD_FRAME']);
});

test('backpressure: a full source stops the socket being read; nothing is refused or lost, and the server holds a bounded amount', async () => {
  rig = await startRig(8);
  const c = await open(`${rig.url}/ingest`, { 'x-api-key': KEY });
  const records = 3000;
  for (let i = 0; i < records; i++) c.ws.send(audio('call-bp', i, 3200)); // 200 ms each, 9.6 MB in all
  // Nothing drains: the source fills, the inbox pauses the socket, TCP buffers fill, the client holds the rest.
  await until(() => rig!.source.depth === 8 && c.ws.bufferedAmount > 0, 10_000, 'the source full and the client holding data');
  await new Promise((r) => setTimeout(r, 200));
  const held = rig.ingest.waitingBytes();
  assert.ok(held <= 256 * 1024 + 128 * 1024, `server-side waiting bytes ${held} stay near the 256 KiB pause mark`);
  assert.ok(c.ws.bufferedAmount > 1_000_000, `the producer holds the backlog (${c.ws.bufferedAmount} bytes)`);
  await rig.startSink();
  await until(() => c.answers.length === records, 60_000, `all ${records} answered (have ${c.answers.length})`);
  assert.equal(c.answers.filter((a) => a.type !== 'ack').length, 0, 'nothing refused');
  assert.deepEqual(rig.chunks.map((ch) => ch.seq), Array.from({ length: records }, (_, i) => i), 'every record, in order');
  c.ws.close();
});
