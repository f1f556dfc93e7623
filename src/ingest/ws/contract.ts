/**
 * `/ingest`: the project's own chunk contract over a WebSocket (schema/chunk-contract.md, "Over a
 * WebSocket"). Every message the producer sends is numbered from 0 (`n`); binary messages are
 * records (frame.ts), anything else is refused. For every message the server answers exactly
 * once, as a JSON text frame:
 *
 *   {"type":"ack","n":7}                              record 7 is finished (scores stored and
 *                                                      published, or nothing to score)
 *   {"type":"error","n":8,"code":"CHUNK_BAD_SAMPLE_RATE","message":"...","retriable":false,"details":{...}}
 *
 * An error refuses that record alone; the socket and the call go on. Acks come when the
 * pipeline releases the record (an audio chunk: after the segment it fed was scored), so a
 * producer can count what is still in flight.
 */
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { H } from '../../../schema/chunk.js';
import { AppError, toAppError } from '../../core/errors.js';
import type { ApiContext } from '../../auth/api-context.js';
import { coalescingSender } from './coalescing-send.js';
import { decodeFrame } from './frame.js';
import { Inbox } from './inbox.js';
import { CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED, type SessionDeps } from './session.js';

export function serveContract(ws: WebSocket, req: IncomingMessage, deps: SessionDeps): Inbox {
  const sendText = coalescingSender(ws);
  const send = (frame: object) => {
    if (ws.readyState === ws.OPEN) sendText(JSON.stringify(frame));
  };
  const refuse = (i: number, e: AppError) => {
    deps.refused('ingest', e);
    send({ type: 'error', n: i, code: e.code, message: e.message, retriable: e.retriable, details: e.details });
  };
  const caller: Promise<ApiContext | null> = deps.authenticate(ws, req.headers).catch((err: unknown) => {
    const e = toAppError(err, 'UNAUTHENTICATED');
    ws.close(e.code === 'FORBIDDEN' ? CLOSE_FORBIDDEN : CLOSE_UNAUTHENTICATED, `${e.code}: ${e.message}`.slice(0, 120));
    return null;
  });

  return new Inbox(ws, async (m) => {
    const i = m.index;
    const ctx = await caller;
    if (!ctx) return;
    if (!m.isBinary) return refuse(i, new AppError('INGEST_BAD_FRAME', { protocol: 'ingest', reason: 'a record is one binary message; text frames are not read' }));
    let record;
    try {
      record = decodeFrame(m.data);
    } catch (err) {
      return refuse(i, toAppError(err, 'INGEST_BAD_FRAME'));
    }
    // A call is (tenant, call id) and the caller's tenant is the only one it may write, as on the API.
    const tenant = record.headers[H.tenant];
    if (tenant === undefined || tenant === '') record.headers[H.tenant] = ctx.tenant;
    else if (tenant !== ctx.tenant) return refuse(i, new AppError('FORBIDDEN', { reason: `record tenant ${JSON.stringify(tenant.slice(0, 64))} is not the caller's tenant` }));
    try {
      await deps.push(record, { done: () => send({ type: 'ack', n: i }), refused: (e) => refuse(i, e) });
    } catch (err) {
      refuse(i, toAppError(err, 'INGEST_OVERLOADED'));
    }
  }, (m, depth) => refuse(m.index, new AppError('INGEST_OVERLOADED', { depth })));
}
