/**
 * Wires the WebSocket ingest (src/ingest/ws) into the app: records go where the pipeline reads
 * chunks (the in-process source, or with Kafka the chunk topic: `deliver`), callers are
 * identified with the API's auth hook and Origin rules, refusals are counted
 * (`ingest_ws_refused_total{protocol,code}`) and logged without flooding, open sockets and
 * waiting bytes are gauges (`ingest_ws_sockets{protocol}`, `ingest_ws_waiting_bytes`).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { ContextFunction } from '../auth/api-context.js';
import type { OriginPolicy } from '../http/origin.js';
import { createWsIngest, type WsIngest, type WsIngestOptions } from '../ingest/ws/endpoint.js';
import { RateLimitedWarn } from './rate-limited-warn.js';

export interface AppWsIngestOptions {
  /** Where records go (memorySourceDelivery, or TopicWriter.push with Kafka). */
  deliver: WsIngestOptions['push'];
  context: ContextFunction;
  origins: OriginPolicy;
  maxSocketsPerSource: number;
  /** INGEST_AUDIO_RECORD_MS. */
  audioRecordMs: number;
  registry: Registry;
  logger: Logger;
}

export function createAppWsIngest(o: AppWsIngestOptions): WsIngest {
  const log = o.logger.child({ component: 'ws-ingest' });
  const warn = new RateLimitedWarn(log);
  const refused = new Counter({
    name: 'ingest_ws_refused_total', help: 'Frames, messages and records refused on the WebSocket ingest paths, by protocol and code',
    labelNames: ['protocol', 'code'], registers: [o.registry],
  });
  const ingest = createWsIngest({
    push: o.deliver,
    context: o.context,
    origins: o.origins,
    maxSocketsPerSource: o.maxSocketsPerSource,
    audioRecordMs: o.audioRecordMs,
    logger: log,
    onRefused: (protocol, error) => {
      refused.inc({ protocol, code: error.code });
      warn.warn(`${protocol}:${error.code}`, { protocol, code: error.code }, error.message);
    },
  });
  new Gauge({
    name: 'ingest_ws_sockets', help: 'Open WebSocket ingest sockets, by protocol', labelNames: ['protocol'], registers: [o.registry],
    collect() {
      for (const [protocol, n] of Object.entries(ingest.sockets())) this.set({ protocol }, n);
    },
  });
  new Gauge({
    name: 'ingest_ws_waiting_bytes', help: 'Bytes read from ingest sockets and waiting for room in the source queue', registers: [o.registry],
    collect() {
      this.set(ingest.waitingBytes());
    },
  });
  return ingest;
}
