/**
 * `/ingest/audiohook`: Genesys Cloud AudioHook, protocol version 2 (message types as the public
 * reference implementation purecloudlabs/audiohook-reference-implementation declares them).
 *
 * Text frames are JSON messages `{version: "2", id, type, seq, parameters}`; the client's also
 * carry `serverseq` and `position` (ISO 8601 `PT<seconds>S`: audio sent so far), the server's
 * `clientseq` (the last client seq it saw). Binary frames are audio in the format `opened`
 * chose: PCMU 8 kHz, stereo interleaved with `external` (customer) then `internal` (agent), or
 * one of the two alone.
 *
 *   open     -> `opened` with the chosen media (the first offer that is audio/PCMU/8000),
 *               call_start (seq 0) at the wall time it arrived = position 0
 *   audio    -> audio per channel, joined into records of INGEST_AUDIO_RECORD_MS
 *               (audio-coalescer.ts): seq counts that channel's records from 0, event time =
 *               position 0 + the stream position at the record's first sample
 *   ping -> pong; update -> updated; paused (the held audio is let go) / resumed /
 *               discarded: the position advances by the `discarded` duration, so later audio
 *               keeps its true time
 *   close    -> closed, call_end (seq 1); a socket lost without `close` ends the call the same way
 *   error    -> logged (the client reports its own trouble)
 *
 * The call id is customConfig.callId when given, else the conversationId; customConfig.
 * displayName and the participant's ani go into the call's meta. Credentials: the upgrade's
 * `X-API-KEY` (or Authorization) header, through the API's auth hook. A refused message or
 * frame is counted and logged and the session goes on; an open without a usable media format
 * is answered `disconnect` (reason error) and the socket closes.
 */
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { AppError, toAppError } from '../../core/errors.js';
import type { ApiContext } from '../../auth/api-context.js';
import { AudioCoalescer } from './audio-coalescer.js';
import { Inbox } from './inbox.js';
import { mulawToPcm16 } from './mulaw.js';
import { CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED, controlRecord, type ContractRecord, type SessionDeps, stringMeta } from './session.js';

/** AudioHook channel -> contract channel. */
export const AUDIOHOOK_CHANNELS: Readonly<Record<string, string>> = Object.freeze({ external: 'customer', internal: 'agent' });
const RATE = 8000;
const DURATION = /^PT(\d{1,9}(?:\.\d{1,9})?)S$/;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

interface Media {
  type: 'audio';
  format: 'PCMU';
  channels: string[];
  rate: 8000;
}

/** `PT1.5S` -> 1500 ms, or null when it is not a duration. */
export function durationMs(v: unknown): number | null {
  const m = typeof v === 'string' ? DURATION.exec(v) : null;
  return m ? Number(m[1]) * 1000 : null;
}

export function serveAudioHook(ws: WebSocket, req: IncomingMessage, deps: SessionDeps, now: () => number = Date.now): Inbox {
  const bad = (reason: string) => new AppError('INGEST_BAD_FRAME', { protocol: 'audiohook', reason });
  const state = (message: string, reason: string) => new AppError('INGEST_SESSION_STATE', { protocol: 'audiohook', message, reason });
  const refuse = (e: AppError) => deps.refused('audiohook', e);
  let sessionId = '';
  let serverSeq = 0;
  let clientSeq = 0;
  let phase: 'new' | 'open' | 'paused' | 'closed' = 'new';
  let call: { callId: string; tenant: string; zeroMs: number; channels: string[]; audio: AudioCoalescer } | null = null;
  /** Audio samples per channel sent so far plus discarded time, in samples at 8 kHz. */
  let positionSamples = 0;

  const caller: Promise<ApiContext | null> = deps.authenticate(ws, req.headers).catch((err: unknown) => {
    const e = toAppError(err, 'UNAUTHENTICATED');
    refuse(e);
    ws.close(e.code === 'FORBIDDEN' ? CLOSE_FORBIDDEN : CLOSE_UNAUTHENTICATED, `${e.code}: ${e.message}`.slice(0, 120));
    return null;
  });
  const reply = (type: string, parameters: Json = {}) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ version: '2', id: sessionId, type, seq: ++serverSeq, clientseq: clientSeq, parameters }));
  };
  const push = async (record: ContractRecord) => {
    try {
      await deps.push(record, { done: () => {}, refused: refuse });
    } catch (err) {
      refuse(toAppError(err, 'INGEST_OVERLOADED'));
    }
  };

  async function onOpen(msg: Json, ctx: ApiContext): Promise<void> {
    if (phase !== 'new') throw state('open', 'the session is already open');
    const p = isObject(msg.parameters) ? msg.parameters : {};
    const offers = Array.isArray(p.media) ? p.media : [];
    const chosen = offers.find((m): m is Media => isObject(m) && m.type === 'audio' && m.format === 'PCMU' && m.rate === RATE
      && Array.isArray(m.channels) && m.channels.length >= 1 && m.channels.length <= 2 && m.channels.every((c) => typeof c === 'string' && c in AUDIOHOOK_CHANNELS)
      && new Set(m.channels).size === m.channels.length);
    if (!chosen) {
      const e = new AppError('INGEST_UNSUPPORTED_MEDIA', { protocol: 'audiohook', reason: `no offer of audio, PCMU, 8000 Hz, external/internal channels in ${JSON.stringify(offers).slice(0, 120)}` });
      refuse(e);
      reply('disconnect', { reason: 'error', info: `${e.code}: ${e.message}` });
      phase = 'closed';
      ws.close(1000);
      return;
    }
    const custom = isObject(p.customConfig) ? p.customConfig : {};
    const conversationId = typeof p.conversationId === 'string' ? p.conversationId : '';
    const callId = (typeof custom.callId === 'string' && custom.callId) || conversationId || sessionId;
    const participant = isObject(p.participant) ? p.participant : {};
    const audio = new AudioCoalescer(callId, ctx.tenant, RATE, deps.audioRecordMs, push);
    call = { callId, tenant: ctx.tenant, zeroMs: now(), channels: chosen.channels.map((c) => AUDIOHOOK_CHANNELS[c]), audio };
    phase = 'open';
    reply('opened', { startPaused: false, media: [chosen] });
    await push(controlRecord(callId, ctx.tenant, 'call_start', call.zeroMs,
      stringMeta({ source: 'audiohook', conversationId, sessionId, ani: participant.ani, displayName: custom.displayName })));
  }

  async function onAudio(frame: Buffer): Promise<void> {
    if (!call || phase !== 'open') throw state('audio', phase === 'paused' ? 'the stream is paused' : phase === 'closed' ? 'the session is closed' : 'no opened session yet');
    const n = call.channels.length;
    if (frame.length === 0 || frame.length % n !== 0) throw bad(`audio frame of ${frame.length} bytes is not whole ${n}-channel PCMU samples`);
    const eventTimeMs = call.zeroMs + (positionSamples * 1000) / RATE;
    positionSamples += frame.length / n;
    for (let i = 0; i < n; i++) {
      await call.audio.add(call.channels[i], eventTimeMs, mulawToPcm16(frame, i, n));
    }
  }

  /** Time the client says it discarded (paused audio, or audio it dropped) moves the position on. */
  function skip(msg: Json): void {
    const p = isObject(msg.parameters) ? msg.parameters : {};
    if (p.discarded === undefined) return;
    const ms = durationMs(p.discarded);
    if (ms === null) throw bad(`parameters.discarded ${JSON.stringify(p.discarded).slice(0, 40)} is not a PT<seconds>S duration`);
    positionSamples += Math.round((ms * RATE) / 1000);
  }

  async function end(): Promise<void> {
    if (!call || phase === 'closed') return;
    phase = 'closed';
    await call.audio.flush();
    await push(controlRecord(call.callId, call.tenant, 'call_end', now()));
  }

  async function onMessage(text: string, ctx: ApiContext): Promise<void> {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      throw bad('message is not JSON');
    }
    if (!isObject(msg) || msg.version !== '2' || typeof msg.type !== 'string' || typeof msg.id !== 'string') throw bad('message lacks version "2", id or type');
    if (!(Number.isSafeInteger(msg.seq) && (msg.seq as number) >= 1)) throw bad(`seq ${JSON.stringify(msg.seq)} is not a sequence number`);
    if (msg.position !== undefined && durationMs(msg.position) === null) throw bad(`position ${JSON.stringify(msg.position).slice(0, 40)} is not a PT<seconds>S duration`);
    const seq = msg.seq as number;
    if (seq <= clientSeq) throw state(msg.type, `seq ${seq} is not after ${clientSeq}`);
    clientSeq = seq;
    if (msg.type === 'open' && phase === 'new') sessionId = msg.id;
    else if (msg.id !== sessionId) throw state(msg.type, `id ${JSON.stringify(msg.id.slice(0, 40))} is not the session's`);
    switch (msg.type) {
      case 'open': return onOpen(msg, ctx);
      case 'ping': return reply('pong');
      case 'update': return reply('updated');
      case 'paused':
        if (phase !== 'open') throw state('paused', `the session is ${phase}`);
        phase = 'paused';
        return call!.audio.flush();
      case 'resumed':
        if (phase !== 'paused') throw state('resumed', `the session is ${phase}`);
        skip(msg);
        phase = 'open';
        return;
      case 'discarded': return skip(msg);
      case 'error': return; // the client reporting its own trouble: nothing to refuse or score
      case 'close':
        if (phase === 'new' || phase === 'closed') throw state('close', `the session is ${phase}`);
        await end();
        return reply('closed');
      default:
        throw bad(`unknown message type ${JSON.stringify(msg.type.slice(0, 32))}`);
    }
  }

  const inbox = new Inbox(ws, async (m) => {
    const ctx = await caller;
    if (!ctx) return;
    try {
      if (m.isBinary) await onAudio(m.data);
      else await onMessage(m.data.toString('utf8'), ctx);
    } catch (err) {
      refuse(toAppError(err, 'INGEST_BAD_FRAME'));
    }
  }, (_m, depth) => refuse(new AppError('INGEST_OVERLOADED', { depth })));
  ws.on('close', () => void inbox.idle().then(end));
  return inbox;
}
