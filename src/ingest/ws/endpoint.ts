/**
 * The WebSocket ingest endpoint: three paths on the API's HTTP server, each a protocol that
 * becomes contract records where the pipeline reads chunks (`push`: the in-process source, or
 * with Kafka the chunk topic), so they meet the same decoder, window, scorer, store and release
 * rules as any Kafka record:
 *
 *   /ingest            the project's own chunk contract (contract.ts)
 *   /ingest/twilio     Twilio Media Streams (twilio.ts)
 *   /ingest/audiohook  Genesys Cloud AudioHook (audiohook.ts)
 *
 * An upgrade passes the API's own gate first (origin.ts, connection-limits.ts via upgrade-gate.ts:
 * Origin rules, sockets per source address); the caller is identified by the API's auth hook.
 * Backpressure: each socket's messages go through an Inbox (bounded, paused when it fills) into
 * the source's bounded queue, which blocks while the pipeline is at its bound.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AppError } from '../../core/errors.js';
import type { ContextFunction } from '../../auth/api-context.js';
import type { OriginPolicy } from '../../http/origin.js';
import { createUpgradeGate } from '../../http/upgrade-gate.js';
import { callAt, TOKEN_EXPIRED_CLOSE_CODE } from '../../auth/expiry.js';
import type { MemorySource } from '../memory-source.js';
import { serveAudioHook } from './audiohook.js';
import { serveContract } from './contract.js';
import { MAX_HEADER_BLOCK_BYTES } from './frame.js';
import type { Inbox } from './inbox.js';
import type { RecordOutcome, RecordOutcomes } from './outcomes.js';
import type { ContractRecord, IngestProtocol, SessionDeps } from './session.js';
import { serveTwilio } from './twilio.js';

export const INGEST_PATHS: Readonly<Record<IngestProtocol, string>> = Object.freeze({
  ingest: '/ingest', twilio: '/ingest/twilio', audiohook: '/ingest/audiohook',
});

/** How long stop() waits for a socket's received messages to reach the source, ms. */
const STOP_WAIT_MS = 5_000;

/** Handles one HTTP upgrade request (the API server routes by path). */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface WsIngestOptions {
  /**
   * Queues one record where the pipeline reads it, resolving once queued (waiting while that
   * queue is full: the backpressure), and later tells `outcome` what became of it:
   * `memorySourceDelivery` for the in-process source, a TopicWriter with Kafka.
   */
  push(record: ContractRecord, outcome: RecordOutcome): Promise<void>;
  /** The API's auth hook (dev mode: every caller is the dev tenant). */
  context: ContextFunction;
  origins: OriginPolicy;
  /** Open ingest sockets one source address may hold (the API's maxSocketsPerSource). */
  maxSocketsPerSource: number;
  /** Largest message, bytes. Default 1 MiB + the header block (a 640 KB audio payload fits). */
  maxMessageBytes?: number;
  /** A frame, message or record was refused (the app counts and logs it). */
  onRefused(protocol: IngestProtocol, error: AppError): void;
  /** Audio per record, ms, that Twilio's and AudioHook's frames are joined into (INGEST_AUDIO_RECORD_MS). */
  audioRecordMs: number;
  logger: Logger;
}

export interface WsIngest {
  /** Upgrade handlers by path, for the API server. */
  readonly routes: Readonly<Record<string, UpgradeHandler>>;
  /** Open ingest sockets, by protocol. */
  sockets(): Record<IngestProtocol, number>;
  /** Bytes received and waiting in the sockets' inboxes (bounded: pause at 256 KiB each). */
  waitingBytes(): number;
  /** Closes every ingest socket (1001 going away); what each already sent is still queued (up to 5 s). */
  stop(): Promise<void>;
}

const SERVE: Record<IngestProtocol, (ws: WebSocket, req: IncomingMessage, deps: SessionDeps) => Inbox> = {
  ingest: serveContract, twilio: serveTwilio, audiohook: serveAudioHook,
};

export function createWsIngest(o: WsIngestOptions): WsIngest {
  const gate = createUpgradeGate({ origins: o.origins, maxSocketsPerSource: o.maxSocketsPerSource, logger: o.logger });
  const open = new Map<WebSocket, { protocol: IngestProtocol; inbox: Inbox }>();
  const deps: SessionDeps = {
    push: (record, outcome) => o.push(record, outcome),
    authenticate: async (ws, headers, connectionParams) => {
      const ctx = await o.context({ transport: 'ws', headers, connectionParams });
      // As on /graphql: a socket lives no longer than its credential (a JWT's exp).
      if (ctx.expiresAtMs !== undefined) {
        const cancel = callAt(ctx.expiresAtMs, () => ws.close(TOKEN_EXPIRED_CLOSE_CODE, 'FORBIDDEN: credential expired'));
        ws.once('close', cancel);
      }
      return ctx;
    },
    refused: (protocol, error) => o.onRefused(protocol, error),
    audioRecordMs: o.audioRecordMs,
  };
  const routes: Record<string, UpgradeHandler> = {};
  const servers: WebSocketServer[] = [];
  for (const [protocol, path] of Object.entries(INGEST_PATHS) as [IngestProtocol, string][]) {
    const wss = new WebSocketServer({ noServer: true, maxPayload: o.maxMessageBytes ?? 1024 * 1024 + MAX_HEADER_BLOCK_BYTES, verifyClient: gate.verifyClient });
    gate.attach(wss);
    wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
      const inbox = SERVE[protocol](ws, req, deps);
      open.set(ws, { protocol, inbox });
      ws.once('close', () => open.delete(ws));
      ws.on('error', (err) => o.logger.debug({ err, protocol }, 'ingest socket error'));
    });
    servers.push(wss);
    routes[path] = (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  }
  return {
    routes,
    sockets() {
      const n: Record<IngestProtocol, number> = { ingest: 0, twilio: 0, audiohook: 0 };
      for (const { protocol } of open.values()) n[protocol]++;
      return n;
    },
    waitingBytes() {
      let n = 0;
      for (const { inbox } of open.values()) n += inbox.waitingBytes;
      return n;
    },
    async stop() {
      // Close first (a paused socket could not read the peer's close frame and would wait out
      // ws' 30 s close timeout); what each socket already received still goes to the source,
      // which the pipeline keeps draining until the app stops it next.
      const closing = [...open.entries()].map(async ([ws, { inbox }]) => {
        ws.close(1001, 'server shutting down');
        await Promise.race([inbox.idle(), new Promise((r) => setTimeout(r, STOP_WAIT_MS).unref())]);
      });
      await Promise.all(closing);
      for (const wss of servers) wss.close();
    },
  };
}

/**
 * Delivery into the in-process source: queued in the MemorySource (blocking while it is full);
 * the outcome comes when the pipeline releases or rejects the record (`outcomes`, which the app
 * feeds from the pipeline's release and the ingest stage's rejections).
 */
export function memorySourceDelivery(source: Pick<MemorySource, 'push'>, outcomes: RecordOutcomes): WsIngestOptions['push'] {
  return (record, outcome) => source.push(record, (ref) => outcomes.watch(ref, outcome));
}
