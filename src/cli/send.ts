/**
 * Streams a WAV file as a live call over the WebSocket chunk contract (`/ingest`) and collects
 * the scores the server publishes for it (graphql-ws `segmentScored(callId)` on `/graphql`).
 * What `sentiment-stream send` runs; usable as a library by tests and scripts.
 *
 * Records, in order: call_start; per `chunkMs` of audio, one audio record per channel (mono =
 * customer; stereo = customer, agent); each transcript piece once the audio up to its end was
 * sent; call_end. Paced at `speed` x real time (0: as fast as the server reads). Finished when
 * every record was answered (ack or error): by then every score the call produced was stored and
 * published; any the subscription did not deliver within 2 s more is read from the store.
 */
import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { CONTRACT_VERSION, CONTROL_CHANNEL, H } from '../../schema/chunk.js';
import { encodeFrame } from '../ingest/ws/frame.js';
import type { Wav } from './wav.js';

/** A transcript piece, times in ms from the start of the file. */
export interface TranscriptPiece {
  channel: string;
  startMs: number;
  endMs: number;
  text: string;
}

export interface SendOptions {
  wav: Wav;
  /** ws://host:port/ingest */
  url: string;
  callId: string;
  /** Real-time factor: 1 = live, 4 = four times faster, 0 = as fast as the server reads. */
  speed: number;
  transcript?: TranscriptPiece[];
  /** Sent as x-tenant (the server refuses any tenant but the caller's own). */
  tenant?: string;
  /** A JWT (Authorization: Bearer) or an API key (x-api-key). */
  token?: string;
  apiKey?: string;
  /** Audio per record, ms. Default 100. */
  chunkMs?: number;
  displayName?: string;
  /** Each score as it arrives; `callStartMs` is the call's time 0 (unix ms) for relative times. */
  onScore?: (score: SentScore, callStartMs: number) => void;
  /** A record the server refused. */
  onRefused?: (refusal: Refusal) => void;
}

export interface SentScore {
  channel: string;
  segmentIndex: number;
  revision: number;
  startMs: number;
  endMs: number;
  valence: number;
  label: string;
  confidence: number;
  text: string | null;
  textMissing: boolean;
  /** PLATFORM (the transcript sent), RECOGNISED (words heard by the speech path) or SIMULATED. */
  textSource: string;
  /** The words the speech path heard, when textSource is RECOGNISED. */
  recognisedText: string | null;
  modalities: { text: string; audio: string; video: string };
}

export interface Refusal {
  n: number;
  what: string;
  code: string;
  message: string;
}

export interface SendSummary {
  records: number;
  acked: number;
  refused: Refusal[];
  scores: SentScore[];
}

const SCORE_FIELDS = 'channel segmentIndex revision startMs endMs valence label confidence text textMissing textSource recognisedText modalities { text audio video }';

const SUBSCRIPTION = `subscription($id: ID!) { segmentScored(callId: $id) { ${SCORE_FIELDS} } }`;

/** Every stored score of the call (all revisions), over HTTP with the same credentials. */
async function storedScores(o: SendOptions, headers: Record<string, string>): Promise<SentScore[]> {
  const url = graphqlUrlFor(o.url).replace(/^ws/, 'http');
  const out: SentScore[] = [];
  for (let after: string | null = null; ;) {
    const res = await fetch(url, {
      method: 'POST', headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({
        query: `query($id: ID!, $after: String) { segments(callId: $id, first: 100, after: $after, allRevisions: true) {
          edges { node { ${SCORE_FIELDS} } } pageInfo { hasNextPage endCursor } } }`,
        variables: { id: o.callId, after },
      }),
    });
    const body = (await res.json()) as { data?: { segments: { edges: { node: SentScore }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } }; errors?: unknown[] };
    if (!body.data) throw new Error(`reading the call's scores failed: ${JSON.stringify(body.errors ?? res.status)}`);
    out.push(...body.data.segments.edges.map((e) => e.node));
    if (!body.data.segments.pageInfo.hasNextPage) return out;
    after = body.data.segments.pageInfo.endCursor;
  }
}

/** ws://host:port/ingest -> ws://host:port/graphql */
export function graphqlUrlFor(ingestUrl: string): string {
  const u = new URL(ingestUrl);
  u.pathname = '/graphql';
  u.search = '';
  return u.toString();
}

export async function sendCall(o: SendOptions): Promise<SendSummary> {
  const chunkMs = o.chunkMs ?? 100;
  const channelNames = o.wav.channels.length === 1 ? ['customer'] : ['customer', 'agent'];
  const headers: Record<string, string> = {};
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  if (o.apiKey) headers['x-api-key'] = o.apiKey;
  const scores: SentScore[] = [];
  let t0 = Date.now();
  const client: Client = createClient({
    url: graphqlUrlFor(o.url), webSocketImpl: WebSocket, retryAttempts: 0, lazy: false,
    connectionParams: o.token ? { authorization: `Bearer ${o.token}` } : o.apiKey ? { apiKey: o.apiKey } : undefined,
  });
  let subscribed!: () => void;
  const ready = new Promise<void>((r) => (subscribed = r));
  const subErrors: unknown[] = [];
  const unsubscribe = client.subscribe<{ segmentScored: SentScore }>({ query: SUBSCRIPTION, variables: { id: o.callId } }, {
    next: (v) => {
      if (v.data) {
        scores.push(v.data.segmentScored);
        o.onScore?.(v.data.segmentScored, t0);
      }
    },
    error: (e) => subErrors.push(e),
    complete: () => {},
  });
  // graphql-ws has no "subscribed" event: the socket being acknowledged is as close as it gets,
  // and the server registers the subscription before it reads the next message on that socket.
  const offConnected = client.on('connected', () => subscribed());
  await Promise.race([ready, new Promise((_, rej) => setTimeout(() => rej(new Error(`no graphql-ws connection to ${graphqlUrlFor(o.url)} within 10 s`)), 10_000))]);
  offConnected();

  const ws = new WebSocket(o.url, { headers });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`ingest upgrade refused: HTTP ${res.statusCode}`)));
  });
  const what: string[] = [];
  const refused: Refusal[] = [];
  let acked = 0;
  let answered = 0;
  let allAnswered: (() => void) | null = null;
  let closedEarly: ((e: Error) => void) | null = null;
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const f = JSON.parse(data.toString()) as { type: string; n: number; code?: string; message?: string };
    answered++;
    if (f.type === 'ack') acked++;
    else {
      const r = { n: f.n, what: what[f.n] ?? '?', code: f.code ?? '?', message: f.message ?? '' };
      refused.push(r);
      o.onRefused?.(r);
    }
    if (answered >= what.length && allAnswered) allAnswered();
  });
  ws.on('close', (code, reason) => closedEarly?.(new Error(`ingest socket closed: ${code} ${reason.toString()}`)));

  t0 = Date.now();
  const base = (o.tenant ? { [H.tenant]: o.tenant } : {}) as Record<string, string>;
  const send = async (label: string, headers: Record<string, string>, value: Buffer) => {
    what.push(label);
    ws.send(encodeFrame({ key: o.callId, headers: { [H.version]: String(CONTRACT_VERSION), ...base, ...headers }, value }));
    // The server stops reading when its queues are full: wait rather than buffer without bound.
    while (ws.bufferedAmount > 1 << 20) await new Promise((r) => setTimeout(r, 10));
  };
  const control = (kind: string, seq: number, atMs: number, meta?: Record<string, string>) =>
    send(kind, { [H.modality]: 'control', [H.channel]: CONTROL_CHANNEL, [H.seq]: String(seq), [H.eventTimeMs]: String(Math.round(t0 + atMs)) },
      Buffer.from(JSON.stringify({ kind, ...(meta ? { meta } : {}) })));

  await control('call_start', 0, 0, o.displayName ? { displayName: o.displayName } : undefined);
  const rate = o.wav.sampleRate;
  const perChunk = Math.round((rate * chunkMs) / 1000);
  const total = o.wav.channels[0].length;
  const pieces = [...(o.transcript ?? [])].sort((a, b) => a.endMs - b.endMs);
  const textSeq = new Map<string, number>();
  // A transcript piece goes out once the audio it covers has been sent (as a live ASR's would).
  const sendPiece = (p: (typeof pieces)[number]) => {
    const seq = textSeq.get(p.channel) ?? 0;
    textSeq.set(p.channel, seq + 1);
    return send(`text ${p.channel} #${seq}`, {
      [H.modality]: 'text', [H.channel]: p.channel, [H.seq]: String(seq), [H.eventTimeMs]: String(Math.round(t0 + p.startMs)),
      [H.durationMs]: String(Math.round(p.endMs - p.startMs)), [H.final]: 'true',
    }, Buffer.from(p.text, 'utf8'));
  };
  for (let k = 0, at = 0; at < total; k++, at += perChunk) {
    const startMs = (at * 1000) / rate;
    if (o.speed > 0) {
      const due = t0 + (startMs + chunkMs) / o.speed;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    for (const [c, name] of channelNames.entries()) {
      const pcm = Buffer.from(o.wav.channels[c].buffer, o.wav.channels[c].byteOffset + at * 2, Math.min(perChunk, total - at) * 2);
      await send(`audio ${name} #${k}`, {
        [H.modality]: 'audio', [H.channel]: name, [H.seq]: String(k), [H.eventTimeMs]: String(Math.round(t0 + startMs)), [H.sampleRate]: String(rate),
      }, Buffer.from(pcm));
    }
    const sentToMs = ((at + perChunk) * 1000) / rate;
    while (pieces.length && pieces[0].endMs <= sentToMs) await sendPiece(pieces.shift()!);
  }
  for (const p of pieces) await sendPiece(p);
  await control('call_end', 1, o.wav.durationMs);

  await new Promise<void>((resolve, reject) => {
    allAnswered = resolve;
    closedEarly = reject;
    if (answered >= what.length) resolve();
  });
  closedEarly = null;
  ws.close(1000);
  // Every record is acked only after the scores it fed were stored and published, so the store
  // now holds them all. The subscription may still be delivering the last ones (or, at full
  // speed, may have registered after the first was published): wait for it a little, then
  // report any it missed from the store, so the output is complete.
  const stored = await storedScores(o, headers);
  const key = (x: SentScore) => `${x.channel}/${x.segmentIndex}/${x.revision}`;
  const missing = () => { const seen = new Set(scores.map(key)); return stored.filter((x) => !seen.has(key(x))); };
  for (const deadline = Date.now() + 2_000; missing().length > 0 && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 50));
  for (const m of missing()) {
    scores.push(m);
    o.onScore?.(m, t0);
  }
  unsubscribe();
  await client.dispose();
  if (subErrors.length) throw new Error(`score subscription failed: ${JSON.stringify(subErrors[0])}`);
  return { records: what.length, acked, refused, scores };
}
