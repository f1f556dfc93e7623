/**
 * What every ingest protocol handler (contract.ts, twilio.ts, audiohook.ts) is given: a way to
 * push one contract record into the pipeline's source and hear its outcome, the caller's
 * identity, and where refusals are reported. Handlers translate their protocol into contract
 * records and nothing else: decode, window, scoring and delivery are the Kafka path's own.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { WebSocket } from 'ws';
import { CONTRACT_VERSION, CONTROL_CHANNEL, ENCODING_OF, H } from '../../../schema/chunk.js';
import type { AppError } from '../../core/errors.js';
import type { ApiContext } from '../../auth/api-context.js';
import type { RecordOutcome } from './outcomes.js';

/** A contract record (schema/chunk-contract.md) as a handler pushes it. */
export interface ContractRecord {
  key: Buffer;
  headers: Record<string, string>;
  value: Buffer;
}

export type IngestProtocol = 'ingest' | 'twilio' | 'audiohook';

export interface SessionDeps {
  /** Queues the record in the pipeline's bounded source; waits while it is full (backpressure).
   *  Rejects with INGEST_OVERLOADED when the source is stopping. */
  push(record: ContractRecord, outcome: RecordOutcome): Promise<void>;
  /** The caller's identity, from the upgrade's headers or (Twilio) the stream's parameters,
   *  by the API's own auth hook. Throws UNAUTHENTICATED / FORBIDDEN. A credential that expires
   *  (JWT exp) closes `ws` then with 4403, as /graphql does. */
  authenticate(ws: WebSocket, headers: IncomingHttpHeaders, connectionParams?: Readonly<Record<string, unknown>>): Promise<ApiContext>;
  /** A frame, message or record of this socket was refused (counted and logged by the app). */
  refused(protocol: IngestProtocol, error: AppError): void;
  /** Audio per record, ms, that the platform protocols join their frames into (audio-coalescer.ts). */
  audioRecordMs: number;
}

/** Close codes of a socket whose caller was refused, as graphql-ws uses them. */
export const CLOSE_UNAUTHENTICATED = 4401;
export const CLOSE_FORBIDDEN = 4403;

/** An audio record: s16le PCM at `sampleRate` Hz. */
export function audioRecord(callId: string, tenant: string, channel: string, seq: number, eventTimeMs: number, pcm: Buffer, sampleRate: number): ContractRecord {
  return {
    key: Buffer.from(callId, 'utf8'),
    headers: {
      [H.version]: String(CONTRACT_VERSION), [H.modality]: 'audio', [H.channel]: channel, [H.seq]: String(seq),
      [H.eventTimeMs]: String(Math.round(eventTimeMs)), [H.sampleRate]: String(sampleRate), [H.encoding]: ENCODING_OF.audio, [H.tenant]: tenant,
    },
    value: pcm,
  };
}

/** A call_start (seq 0) or call_end (seq 1) control record. */
export function controlRecord(callId: string, tenant: string, kind: 'call_start' | 'call_end', eventTimeMs: number, meta?: Record<string, string>): ContractRecord {
  return {
    key: Buffer.from(callId, 'utf8'),
    headers: {
      [H.version]: String(CONTRACT_VERSION), [H.modality]: 'control', [H.channel]: CONTROL_CHANNEL, [H.seq]: kind === 'call_start' ? '0' : '1',
      [H.eventTimeMs]: String(Math.round(eventTimeMs)), [H.encoding]: ENCODING_OF.control, [H.tenant]: tenant,
    },
    value: Buffer.from(JSON.stringify({ kind, ...(meta && kind === 'call_start' ? { meta } : {}) }), 'utf8'),
  };
}

/** String entries of a JSON object, each cut to the contract's 256 characters (call_start meta). */
export function stringMeta(entries: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(entries)) {
    if (typeof v === 'string' && v !== '' && Object.keys(out).length < 64) out[k.slice(0, 256)] = v.slice(0, 256);
  }
  return out;
}
