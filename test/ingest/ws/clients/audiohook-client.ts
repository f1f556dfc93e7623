/**
 * A Genesys Cloud AudioHook client for tests, written from the protocol's TypeScript types in
 * the public reference implementation (purecloudlabs/audiohook-reference-implementation,
 * app/audiohook/src/protocol/message.ts and core.ts), not from the server:
 *
 * - every text message is {version: "2", id (session uuid), type, seq, parameters}; the client's
 *   also carry serverseq (last server seq seen) and position (`PT<seconds>S`, audio sent);
 *   the server's carry clientseq;
 * - `open` {organizationId, conversationId, participant {id, ani, aniName, dnis}, media: [{type
 *   "audio", format "PCMU", channels ["external", "internal"], rate 8000}], customConfig?} is
 *   answered `opened` {media: [chosen], startPaused?}; audio is binary, samples interleaved
 *   in the chosen channel order;
 * - ping/pong, update/updated, paused, resumed {start, discarded}, close {reason} -> closed,
 *   server `disconnect` {reason, info}.
 * Upgrade headers: X-API-KEY, Audiohook-Organization-Id, Audiohook-Correlation-Id, Audiohook-Session-Id.
 */
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';

export interface ServerMessage {
  version: string;
  id: string;
  type: string;
  seq: number;
  clientseq: number;
  parameters: Record<string, unknown>;
}

export class AudioHookClient {
  private seq = 0;
  private serverseq = 0;
  private samplesSent = 0;
  readonly received: ServerMessage[] = [];
  private waiters: { type: string; resolve: (m: ServerMessage) => void }[] = [];

  private constructor(readonly ws: WebSocket, readonly sessionId: string) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const m = JSON.parse(data.toString()) as ServerMessage;
      this.serverseq = m.seq;
      this.received.push(m);
      const i = this.waiters.findIndex((w) => w.type === m.type);
      if (i >= 0) this.waiters.splice(i, 1)[0].resolve(m);
    });
  }

  static async connect(url: string, o: { apiKey?: string; organizationId?: string } = {}): Promise<AudioHookClient> {
    const sessionId = randomUUID();
    const headers: Record<string, string> = {
      'Audiohook-Organization-Id': o.organizationId ?? randomUUID(), 'Audiohook-Correlation-Id': randomUUID(), 'Audiohook-Session-Id': sessionId,
    };
    if (o.apiKey) headers['X-API-KEY'] = o.apiKey;
    const ws = new WebSocket(url, { headers });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new AudioHookClient(ws, sessionId);
  }

  /** Sends `open` and resolves with the server's `opened` (or `disconnect`). */
  async open(o: { conversationId: string; channels?: string[]; customConfig?: Record<string, string>; media?: unknown[] }): Promise<ServerMessage> {
    const reply = this.nextOf(['opened', 'disconnect']);
    this.send('open', {
      organizationId: randomUUID(), conversationId: o.conversationId,
      participant: { id: randomUUID(), ani: '+15550100', aniName: 'Test Caller', dnis: '+15550199' },
      media: o.media ?? [{ type: 'audio', format: 'PCMU', channels: o.channels ?? ['external', 'internal'], rate: 8000 }],
      ...(o.customConfig ? { customConfig: o.customConfig } : {}),
    });
    return reply;
  }

  /** One binary audio frame of interleaved PCMU; `frames` = samples per channel (for position). */
  audio(pcmu: Buffer, frames: number): void {
    this.ws.send(pcmu, { binary: true });
    this.samplesSent += frames;
  }

  async ping(): Promise<ServerMessage> {
    const reply = this.nextOf(['pong']);
    this.send('ping', {});
    return reply;
  }

  async update(language: string): Promise<ServerMessage> {
    const reply = this.nextOf(['updated']);
    this.send('update', { language });
    return reply;
  }

  paused(): void {
    this.send('paused', {});
  }

  resumed(discardedSeconds: number): void {
    this.send('resumed', { start: this.position(), discarded: `PT${discardedSeconds}S` });
  }

  async close(): Promise<ServerMessage> {
    const reply = this.nextOf(['closed']);
    this.send('close', { reason: 'end' });
    const m = await reply;
    await new Promise<void>((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) return resolve();
      this.ws.once('close', () => resolve());
      this.ws.close(1000);
    });
    return m;
  }

  /** Anything else (a malformed frame), as is. */
  raw(data: string | Buffer, binary = typeof data !== 'string'): void {
    this.ws.send(data, { binary });
  }

  private position(): string {
    return `PT${(this.samplesSent / 8000).toFixed(3)}S`;
  }

  private send(type: string, parameters: Record<string, unknown>): void {
    this.ws.send(JSON.stringify({ version: '2', id: this.sessionId, type, seq: ++this.seq, serverseq: this.serverseq, position: this.position(), parameters }));
  }

  private nextOf(types: string[]): Promise<ServerMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${types.join('/')} from the server within 10 s`)), 10_000);
      for (const type of types) {
        this.waiters.push({ type, resolve: (m) => {
          clearTimeout(timer);
          this.waiters = this.waiters.filter((w) => !types.includes(w.type));
          resolve(m);
        } });
      }
    });
  }
}
