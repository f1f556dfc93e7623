/**
 * What a WebSocket upgrade must pass before a socket opens (and before any graphql-ws message):
 * its `Origin` (origin.ts) and its source address's socket count (connection-limits.ts). A
 * refusal is a plain HTTP answer to the upgrade request (403 FORBIDDEN, 429
 * TOO_MANY_CONNECTIONS) with the error as JSON, so a browser page gets no socket at all.
 *
 * `ws` calls verifyClient synchronously here and emits 'connection' in the same tick, so the
 * count checked at the upgrade and the count taken at 'connection' cannot drift apart.
 */
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { WebSocket, WebSocketServer } from 'ws';
import { AppError } from '../core/errors.js';
import { Counter } from './connection-limits.js';
import { type OriginPolicy, originRefusal } from './origin.js';

export interface UpgradeGateOptions {
  origins: OriginPolicy;
  /** Open sockets one source address may hold. */
  maxSocketsPerSource: number;
  logger: Logger;
  /** Told of each refused upgrade, by reason (the `api_sockets_refused_total` counter). */
  onRefused?: (reason: SocketRefusal) => void;
}

/** Why a socket was refused: its page's origin, its source address's or its tenant's socket limit. */
export type SocketRefusal = 'origin' | 'source_limit' | 'tenant_limit';

export interface UpgradeGate {
  /** For `new WebSocketServer({ verifyClient })`. */
  verifyClient(info: { req: IncomingMessage }, done: (ok: boolean, status?: number, message?: string, headers?: Record<string, string>) => void): void;
  /** Counts every socket the server opens by its source, until it closes. */
  attach(wss: WebSocketServer): void;
  /** Source addresses holding sockets now. */
  readonly sources: number;
}

/** The peer's address; IPv4-mapped IPv6 (::ffff:a.b.c.d) counts as the IPv4 address. */
export function sourceOf(req: IncomingMessage): string {
  return (req.socket.remoteAddress ?? 'unknown').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
}

export function createUpgradeGate(o: UpgradeGateOptions): UpgradeGate {
  const bySource = new Counter();
  return {
    verifyClient({ req }, done) {
      const source = sourceOf(req);
      const byOrigin = originRefusal(o.origins, req.headers);
      const refusal = byOrigin
        ?? (bySource.get(source) >= o.maxSocketsPerSource ? new AppError('TOO_MANY_CONNECTIONS', { scope: `source ${source}`, max: o.maxSocketsPerSource }) : null);
      if (!refusal) return done(true);
      o.onRefused?.(byOrigin ? 'origin' : 'source_limit');
      // debug, not warn: a flood of refused upgrades must not become a flood of log lines.
      o.logger.debug({ code: refusal.code, source, origin: req.headers.origin }, 'WebSocket upgrade refused');
      const body = JSON.stringify({ errors: [{ message: refusal.message, extensions: { code: refusal.code } }] });
      done(false, refusal.status, body, { 'content-type': 'application/json; charset=utf-8' });
    },
    attach(wss) {
      wss.on('connection', (socket: WebSocket, req: IncomingMessage) => {
        const source = sourceOf(req);
        bySource.tryAdd(source, Number.POSITIVE_INFINITY);
        socket.once('close', () => bySource.release(source));
      });
    },
    get sources() {
      return bySource.size;
    },
  };
}
