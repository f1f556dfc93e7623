/**
 * `/ingest/twilio`: Twilio Media Streams (Twilio's "Media Streams - WebSocket Messages").
 * Twilio sends JSON text frames: `connected`, then one `start` (stream metadata, media format,
 * custom parameters), `media` frames (base64 mu-law 8 kHz mono, 20 ms each, per track), `dtmf`
 * and `mark` (tolerated, ignored), and `stop`. Each maps onto contract records:
 *
 *   start  -> call_start (seq 0) at the wall time it arrived = the stream's time 0
 *   media  -> audio of the track's channel (inbound = customer, outbound = agent), joined into
 *             records of INGEST_AUDIO_RECORD_MS (audio-coalescer.ts: a 20 ms frame each would
 *             cost the pipeline 1.7x the CPU); seq counts the channel's records from 0, event
 *             time = stream time 0 + media.timestamp (ms since the stream started) of the
 *             record's first frame. A track's media.chunk (from 1) must go up: a repeated or
 *             earlier chunk is refused; a skipped one (a lost frame) ends the record before it.
 *   stop   -> call_end (seq 1); a socket that closes without `stop` ends the call the same way
 *
 * Call id: customParameters.callId, else start.callSid, else the streamSid; `displayName` and
 * the SIDs go into the call's meta. Twilio cannot set headers on its socket, so credentials come
 * as custom parameters (`apiKey`, or `authorization` = "Bearer <jwt>"), read by the API's auth
 * hook as graphql-ws connectionParams are; a `tenant` parameter must be the caller's own.
 * Twilio has no error channel: refused frames are counted and logged, and the stream goes on.
 */
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { AppError, toAppError } from '../../core/errors.js';
import { AudioCoalescer } from './audio-coalescer.js';
import { Inbox } from './inbox.js';
import { mulawToPcm16 } from './mulaw.js';
import { CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED, controlRecord, type ContractRecord, type SessionDeps, stringMeta } from './session.js';

/** Track -> contract channel. */
export const TWILIO_CHANNELS: Readonly<Record<string, string>> = Object.freeze({ inbound: 'customer', outbound: 'agent' });

const RATE = 8000;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const UINT = /^\d{1,10}$/;

interface Started {
  callId: string;
  tenant: string;
  zeroMs: number;
  audio: AudioCoalescer;
  /** The last media.chunk of each track. */
  chunks: Map<string, number>;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export function serveTwilio(ws: WebSocket, req: IncomingMessage, deps: SessionDeps, now: () => number = Date.now): Inbox {
  let started: Started | null = null;
  let stopped = false;
  const bad = (reason: string) => new AppError('INGEST_BAD_FRAME', { protocol: 'twilio', reason });
  const state = (message: string, reason: string) => new AppError('INGEST_SESSION_STATE', { protocol: 'twilio', message, reason });
  const refuse = (e: AppError) => deps.refused('twilio', e);
  const push = async (record: ContractRecord) => {
    try {
      await deps.push(record, { done: () => {}, refused: refuse });
    } catch (err) {
      refuse(toAppError(err, 'INGEST_OVERLOADED'));
    }
  };

  async function onStart(msg: Json): Promise<void> {
    if (started || stopped) throw state('start', 'the stream already started');
    const s = msg.start;
    if (!isObject(s)) throw bad('start message has no "start" object');
    const streamSid = typeof s.streamSid === 'string' ? s.streamSid : typeof msg.streamSid === 'string' ? msg.streamSid : '';
    if (!streamSid) throw bad('start message has no streamSid');
    const f = isObject(s.mediaFormat) ? s.mediaFormat : {};
    if (f.encoding !== 'audio/x-mulaw' || Number(f.sampleRate) !== RATE || Number(f.channels ?? 1) !== 1) {
      throw new AppError('INGEST_UNSUPPORTED_MEDIA', { protocol: 'twilio', reason: `mediaFormat ${JSON.stringify(f).slice(0, 120)}; only audio/x-mulaw, 8000 Hz, 1 channel` });
    }
    const params = isObject(s.customParameters) ? s.customParameters : {};
    let tenant: string;
    try {
      tenant = (await deps.authenticate(ws, req.headers, params)).tenant;
    } catch (err) {
      const e = toAppError(err, 'UNAUTHENTICATED');
      refuse(e);
      ws.close(e.code === 'FORBIDDEN' ? CLOSE_FORBIDDEN : CLOSE_UNAUTHENTICATED, `${e.code}: ${e.message}`.slice(0, 120));
      return;
    }
    if (typeof params.tenant === 'string' && params.tenant !== tenant) {
      const e = new AppError('FORBIDDEN', { reason: `stream tenant ${JSON.stringify(params.tenant.slice(0, 64))} is not the caller's tenant` });
      refuse(e);
      ws.close(CLOSE_FORBIDDEN, `${e.code}: ${e.message}`.slice(0, 120));
      return;
    }
    const callSid = typeof s.callSid === 'string' ? s.callSid : undefined;
    const callId = (typeof params.callId === 'string' && params.callId) || callSid || streamSid;
    const audio = new AudioCoalescer(callId, tenant, RATE, deps.audioRecordMs, push);
    started = { callId, tenant, zeroMs: now(), audio, chunks: new Map() };
    const meta = stringMeta({ source: 'twilio', streamSid, callSid, accountSid: s.accountSid, displayName: params.displayName });
    await push(controlRecord(callId, tenant, 'call_start', started.zeroMs, meta));
  }

  async function onMedia(msg: Json): Promise<void> {
    if (!started || stopped) throw state('media', started ? 'the stream has stopped' : 'no start message yet');
    const m = msg.media;
    if (!isObject(m)) throw bad('media message has no "media" object');
    const channel = typeof m.track === 'string' ? TWILIO_CHANNELS[m.track] : undefined;
    if (!channel) throw bad(`media.track ${JSON.stringify(m.track)} is not inbound or outbound`);
    const chunk = String(m.chunk ?? '');
    const timestamp = String(m.timestamp ?? '');
    if (!UINT.test(chunk) || Number(chunk) < 1) throw bad(`media.chunk ${JSON.stringify(m.chunk)} is not a chunk number from 1`);
    if (!UINT.test(timestamp)) throw bad(`media.timestamp ${JSON.stringify(m.timestamp)} is not milliseconds`);
    if (typeof m.payload !== 'string' || m.payload === '' || m.payload.length % 4 !== 0 || !BASE64.test(m.payload)) throw bad('media.payload is not base64 audio');
    const last = started.chunks.get(channel) ?? 0;
    if (Number(chunk) <= last) throw bad(`media.chunk ${chunk} of track ${m.track} is not after ${last}`);
    started.chunks.set(channel, Number(chunk));
    await started.audio.add(channel, started.zeroMs + Number(timestamp), mulawToPcm16(Buffer.from(m.payload, 'base64')));
  }

  async function end(): Promise<void> {
    if (!started || stopped) return;
    stopped = true;
    await started.audio.flush();
    await push(controlRecord(started.callId, started.tenant, 'call_end', now()));
  }

  async function handle(text: string): Promise<void> {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      throw bad('message is not JSON');
    }
    if (!isObject(msg) || typeof msg.event !== 'string') throw bad('message has no "event"');
    switch (msg.event) {
      case 'connected': return;
      case 'start': return onStart(msg);
      case 'media': return onMedia(msg);
      case 'stop':
        if (!started || stopped) throw state('stop', started ? 'the stream has stopped' : 'no start message yet');
        return end();
      case 'mark':
      case 'dtmf':
        return; // bidirectional-stream events: nothing to score
      default:
        throw bad(`unknown event ${JSON.stringify(msg.event.slice(0, 32))}`);
    }
  }

  const inbox = new Inbox(ws, async (m) => {
    try {
      if (m.isBinary) throw bad('Twilio sends JSON text frames; a binary frame is not read');
      await handle(m.data.toString('utf8'));
    } catch (err) {
      refuse(toAppError(err, 'INGEST_BAD_FRAME'));
    }
  }, (_m, depth) => refuse(new AppError('INGEST_OVERLOADED', { depth })));
  ws.on('close', () => void inbox.idle().then(end));
  return inbox;
}
