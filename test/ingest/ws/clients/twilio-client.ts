/**
 * A Twilio Media Streams sender for tests, written from Twilio's "Media Streams - WebSocket
 * Messages" page (not from the server): JSON text frames `connected` {protocol "Call", version
 * "1.0.0"}, `start` {sequenceNumber, start: {streamSid, accountSid, callSid, tracks,
 * customParameters, mediaFormat: {encoding "audio/x-mulaw", sampleRate 8000, channels 1}},
 * streamSid}, `media` {sequenceNumber, media: {track, chunk, timestamp, payload (base64)},
 * streamSid}, `dtmf`, `mark` and `stop`. sequenceNumber, chunk and timestamp are strings;
 * sequenceNumber counts every message from 1, chunk counts each track's media from 1, timestamp
 * is ms since the stream started.
 */
import WebSocket from 'ws';

export type TwilioTrack = 'inbound' | 'outbound';

export class TwilioStreamClient {
  private sequence = 0;
  private readonly chunks: Record<TwilioTrack, number> = { inbound: 0, outbound: 0 };

  private constructor(readonly ws: WebSocket, readonly streamSid: string) {}

  static async connect(url: string, streamSid: string): Promise<TwilioStreamClient> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const c = new TwilioStreamClient(ws, streamSid);
    c.json({ event: 'connected', protocol: 'Call', version: '1.0.0' });
    return c;
  }

  start(o: { callSid: string; accountSid?: string; customParameters?: Record<string, string>; tracks?: TwilioTrack[] }): void {
    this.json({
      event: 'start', sequenceNumber: this.next(), streamSid: this.streamSid,
      start: {
        streamSid: this.streamSid, accountSid: o.accountSid ?? 'AC00000000000000000000000000000000', callSid: o.callSid,
        tracks: o.tracks ?? ['inbound', 'outbound'], customParameters: o.customParameters ?? {},
        mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
      },
    });
  }

  /** One media message of mu-law bytes on `track`, at `timestampMs` since the stream started. */
  media(track: TwilioTrack, timestampMs: number, mulaw: Buffer): void {
    this.json({
      event: 'media', sequenceNumber: this.next(), streamSid: this.streamSid,
      media: { track, chunk: String(++this.chunks[track]), timestamp: String(Math.round(timestampMs)), payload: mulaw.toString('base64') },
    });
  }

  dtmf(digit: string): void {
    this.json({ event: 'dtmf', sequenceNumber: this.next(), streamSid: this.streamSid, dtmf: { track: 'inbound_track', digit } });
  }

  mark(name: string): void {
    this.json({ event: 'mark', sequenceNumber: this.next(), streamSid: this.streamSid, mark: { name } });
  }

  stop(callSid: string): void {
    this.json({ event: 'stop', sequenceNumber: this.next(), streamSid: this.streamSid, stop: { accountSid: 'AC00000000000000000000000000000000', callSid } });
  }

  /** Anything else (a malformed frame), as is. */
  raw(data: string | Buffer): void {
    this.ws.send(data);
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close(1000);
    });
  }

  private next(): string {
    return String(++this.sequence);
  }

  private json(msg: object): void {
    this.ws.send(JSON.stringify(msg));
  }
}
