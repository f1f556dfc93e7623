/**
 * Capacity: what one server process costs per live call, and the largest load it serves within
 * the latency goal (issue 14). The server runs in a separate process (`src/main.ts`, embedded:
 * no Kafka, SQLite `:memory:`, window defaults or a LATENCY_PRESET) and takes N concurrent
 * real-time two-channel calls over the WebSocket chunk contract (`/ingest`, one socket per call,
 * docs/ingest.md); one graphql-ws subscriber receives every `segmentScored` event.
 *
 *   nice node --import tsx bench/capacity.ts [--loads 100,300,1000] [--seconds 60] [--warmup 20]
 *     [--no-transcripts] [--presets balanced,end-of-speech] [--chunk-ms 200] [--server-env K=V ...]
 *     [--variant NAME:K=V[,K=V] ...] [--rounds 1] [--cpu-prof DIR] [--server-log FILE] [--node-arg=FLAG ...]
 *
 * Side by side: each load runs every preset x every `--variant` (server variables on top of
 * --server-env, e.g. `--variant h400:VAD_HANGOVER_MS=400 --variant h800:VAD_HANGOVER_MS=800` or
 * `--variant w1:SCORER_WORKERS=1 --variant w2:SCORER_WORKERS=2`) one after the other, and
 * `--rounds` repeats that whole sequence, so the settings compared alternate on the same box.
 * The variant key BENCH_SERVER_ROOT=DIR runs that variant's server from another checkout (e.g.
 * `git archive main | tar -x -C DIR`, with node_modules, models and fixtures linked), so that
 * old and new code alternate too; BENCH_NODE_ARGS='--flag ...' gives that variant's node flags;
 * BENCH_CHUNK_MS=20 its audio record size (default --chunk-ms); BENCH_PROTOCOL=twilio streams
 * that variant's calls over `/ingest/twilio` as Twilio Media Streams do (JSON text frames,
 * base64 mu-law, 20 ms per track, no transcript: Twilio carries none; see "Twilio" below). `--cpu-prof DIR` profiles the server; bench/capacity-profile.ts
 * prints where its CPU went, by stage.
 *
 * Calls: the fixtures/calls dialogues (8 kHz telephone audio, no face features), each lane
 * playing them back to back in real time, lanes started evenly over `--warmup` s. With
 * transcripts, every utterance's platform transcript comes 700 ms after it ends (none dropped or
 * late, so the text path is measured, not the speech path); `--no-transcripts` sends none, so
 * every segment takes the speech path (Whisper tiny.en, SCORER_SPEECH defaults).
 *
 * Cost: utime + stime of the server process (all threads) from /proc/<pid>/stat over the steady
 * window (after the warm-up, while all N calls stream), divided by the call-seconds streamed in it
 * and by the first scores received in it. The load generator's own CPU (process.cpuUsage) is
 * printed apart. It is cheap by construction: every fixture's records are encoded once, a call's
 * frames are copies with the call id and event times patched in, and one 20 ms timer sends what
 * is due for all calls.
 *
 * Latency, one clock (this process's performance.now), per segment (revision 0) to its event:
 * - seal: from the send of the audio record that makes the window seal it: the first record on
 *   the segment's channel whose event end >= segment end + max(allowedLatenessMs +
 *   transcriptWaitMs, vad.hangoverMs - vad.padMs) (the channel's watermark then passes the seal
 *   point, src/window/windower.ts sealCall, and the VAD has closed the speech), or
 *   the call's call_end if that came first. Segments scored before that record was sent (cut
 *   at the longest segment, or sealed early by the open budget) are counted as `early` and left
 *   out of it;
 * - end (end of utterance): from the send of the audio record holding the segment's end.
 * Dropped/late: records the server refused (error frames, by code: CHUNK_TOO_LATE = late),
 * records never answered, and the server's dead letters and speech-path outcomes (/metrics).
 *
 * Twilio (variant key BENCH_PROTOCOL=twilio): `start` (the call id as a custom parameter),
 * `media` every 20 ms per track, `stop`. The server's time 0 is when `start` arrives, taken here
 * as the send time of `start` (same host; the latency figures may be off by a frame). There is
 * no ack, so records are not counted as answered: the drain waits until no score came for 3 s
 * (at most --drain s). Calls carry no transcript: with SCORER_SPEECH on, every segment takes
 * the speech path; `--server-env SCORER_SPEECH=off` measures ingest and the text-missing scorer.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { loadFixtureCalls } from '../src/app/demo/fixtures.js';
import { scriptCall } from '../src/app/demo/script.js';
import { repoRoot } from '../src/app/paths.js';
import { encodeChunk } from '../src/ingest/encode.js';
import { encodeFrame } from '../src/ingest/ws/frame.js';
import { encodeMulaw } from '../test/ingest/ws/clients/g711.js';
import { LATENCY_PRESETS, resolveWindowOptions, withPreset, type LatencyPreset } from '../src/window/options.js';

const { values } = parseArgs({
  options: {
    loads: { type: 'string', default: '100,300,1000' },
    seconds: { type: 'string', default: '60' },
    warmup: { type: 'string', default: '20' },
    'no-transcripts': { type: 'boolean', default: false },
    presets: { type: 'string', default: 'balanced' },
    'chunk-ms': { type: 'string', default: '200' },
    drain: { type: 'string', default: '15' },
    /** Extra server variables, e.g. --server-env SCORER_SPEECH=off (repeatable). */
    'server-env': { type: 'string', multiple: true, default: [] },
    /** A named set of extra server variables compared side by side (repeatable). */
    variant: { type: 'string', multiple: true, default: [] },
    rounds: { type: 'string', default: '1' },
    /** Write V8 CPU profiles of the server (main thread and workers) under DIR/<run>/ (bench/capacity-profile.ts reads them). */
    'cpu-prof': { type: 'string' },
    /** Append the server's stdout to FILE (e.g. with --server-env NODE_OPTIONS=--trace-gc). */
    'server-log': { type: 'string' },
    /** A flag for the server's node (V8 flags are refused in NODE_OPTIONS), e.g. --node-arg=--trace-gc (repeatable). */
    'node-arg': { type: 'string', multiple: true, default: [] },
  },
});
const ROOT = repoRoot();
const TICK_MS = 20;
const GOAL_P99_MS = 250;
const withText = !values['no-transcripts'];
const chunkMs = Number(values['chunk-ms']);
const fixtures = loadFixtureCalls(join(ROOT, 'fixtures', 'calls'));

// ---- pre-encoded calls ---------------------------------------------------------------------

/** Placeholders of fixed width, patched per call: the call id and the event-time epoch. */
const ID_WIDTH = 10;
const ID_PLACEHOLDER = 'cap-' + '#'.repeat(ID_WIDTH);
const EPOCH0 = 1_000_000_000_000; // 13 digits, as every epoch ms until 2286

interface Template {
  atMs: number;
  frame: Buffer;
  /** Byte offsets in `frame` of the call id and of the 13 event-time digits (-1: none). */
  idAt: number;
  timeAt: number;
  /** A JSON text frame (Twilio) rather than a binary contract frame. */
  text: boolean;
  relMs: number;
  kind: 'audio' | 'text' | 'start' | 'end';
  channel: string;
  /** Event end, ms from the call's start (audio only). */
  endRelMs: number;
}

function templates(fixtureIndex: number, audioChunkMs: number): { frames: Template[]; durationMs: number } {
  const f = fixtures[fixtureIndex];
  const chunks = scriptCall(f, { callId: ID_PLACEHOLDER, epochMs: EPOCH0, seed: fixtureIndex + 1, audioChunkMs, video: false, dropTranscriptShare: 0, lateTranscriptShare: 0 });
  const frames: Template[] = [];
  for (const { atMs, chunk } of chunks) {
    if (chunk.modality === 'text' && !withText) continue;
    const r = encodeChunk(chunk);
    const frame = encodeFrame({ key: r.key, headers: r.headers as Record<string, string>, value: r.value });
    const time = String(Math.round(chunk.eventTimeMs));
    const idAt = frame.indexOf(ID_PLACEHOLDER);
    const timeAt = frame.indexOf(`"${time}"`) + 1;
    if (idAt < 0 || timeAt < 1) throw new Error('placeholder not found in an encoded frame');
    const kind = chunk.modality === 'control' ? (chunk.kind === 'call_start' ? 'start' : 'end') : chunk.modality === 'text' ? 'text' : 'audio';
    frames.push({ atMs, frame, idAt, timeAt, text: false, relMs: Math.round(chunk.eventTimeMs) - EPOCH0, kind, channel: chunk.channel, endRelMs: chunk.eventTimeMs - EPOCH0 + chunk.durationMs });
  }
  return { frames, durationMs: frames[frames.length - 1].atMs };
}

const TWILIO_TRACK: Record<string, string> = { customer: 'inbound', agent: 'outbound' };

/** A fixture call as a Twilio Media Stream: start, 20 ms media frames per track, stop (no transcript). */
function twilioTemplates(fixtureIndex: number): { frames: Template[]; durationMs: number } {
  const f = fixtures[fixtureIndex];
  const chunks = scriptCall(f, { callId: ID_PLACEHOLDER, epochMs: EPOCH0, seed: fixtureIndex + 1, audioChunkMs: 20, video: false, dropTranscriptShare: 0, lateTranscriptShare: 0 });
  const frames: Template[] = [];
  const perTrack: Record<string, number> = {};
  let n = 0;
  const msg = (m: object) => Buffer.from(JSON.stringify({ sequenceNumber: String(++n), streamSid: 'MZbench', ...m }));
  for (const { atMs, chunk } of chunks) {
    const at = { atMs, timeAt: -1, text: true, relMs: Math.round(chunk.eventTimeMs) - EPOCH0, channel: chunk.channel, endRelMs: chunk.eventTimeMs - EPOCH0 + chunk.durationMs };
    if (chunk.modality === 'control') {
      const start = chunk.kind === 'call_start';
      const frame = start
        ? msg({ event: 'start', start: { streamSid: 'MZbench', callSid: 'CAbench', tracks: ['inbound', 'outbound'], customParameters: { callId: ID_PLACEHOLDER }, mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } } })
        : msg({ event: 'stop', stop: { callSid: 'CAbench' } });
      frames.push({ ...at, frame, idAt: start ? frame.indexOf(ID_PLACEHOLDER) : -1, kind: start ? 'start' : 'end' });
    } else if (chunk.modality === 'audio') {
      const pcm = Array.from(chunk.samples, (x) => Math.round(Math.max(-1, Math.min(1, x)) * 32767));
      const track = TWILIO_TRACK[chunk.channel];
      perTrack[track] = (perTrack[track] ?? 0) + 1;
      const media = { track, chunk: String(perTrack[track]), timestamp: String(Math.round(chunk.eventTimeMs - EPOCH0)), payload: encodeMulaw(pcm).toString('base64') };
      frames.push({ ...at, frame: msg({ event: 'media', media }), idAt: -1, kind: 'audio' });
    }
  }
  return { frames, durationMs: frames[frames.length - 1].atMs };
}
/** The fixture calls pre-encoded in records of `audioChunkMs` of audio, made once per size. */
const templatesBySize = new Map<number, ReturnType<typeof templates>[]>();
function templatesOf(audioChunkMs: number): ReturnType<typeof templates>[] {
  let t = templatesBySize.get(audioChunkMs);
  if (!t) templatesBySize.set(audioChunkMs, (t = fixtures.map((_, i) => templates(i, audioChunkMs))));
  return t;
}
let twilioCalls: ReturnType<typeof twilioTemplates>[] | null = null;

/** One template's frame for a call: a copy with its id and event time written in. */
function frameFor(t: Template, id: string, epochMs: number): Buffer {
  const out = Buffer.allocUnsafe(t.frame.length);
  t.frame.copy(out);
  if (t.idAt >= 0) out.write(id, t.idAt, 'latin1');
  if (t.timeAt >= 0) out.write(String(epochMs + t.relMs), t.timeAt, 'latin1');
  return out;
}

// ---- the server ----------------------------------------------------------------------------

interface Server {
  proc: ChildProcess;
  ingestUrl: string;
  graphqlUrl: string;
  metricsUrl: string;
}

/** A named set of server variables, from `--variant NAME:K=V[,K=V]`. */
interface Variant { name: string; env: Record<string, string> }

function parseEnv(kvs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of kvs) {
    const at = kv.indexOf('=');
    if (at < 1) throw new Error(`not K=V: ${kv}`);
    out[kv.slice(0, at)] = kv.slice(at + 1);
  }
  return out;
}

const baseEnv = parseEnv(values['server-env']!);
const variants: Variant[] = values.variant!.length
  ? values.variant!.map((v) => ({ name: v.slice(0, v.indexOf(':')), env: { ...baseEnv, ...parseEnv(v.slice(v.indexOf(':') + 1).split(',')) } }))
  : [{ name: 'default', env: baseEnv }];

async function startServer(preset: LatencyPreset, variant: Variant, profDir: string | undefined): Promise<Server> {
  const env: NodeJS.ProcessEnv = {
    ...process.env, DB_PATH: ':memory:', PORT: '0', DEMO: 'off', LOG_LEVEL: 'warn', LATENCY_PRESET: preset,
    API_MAX_SOCKETS_PER_SOURCE: '100000', API_MAX_SOCKETS_PER_TENANT: '100000', API_MAX_SUBSCRIPTIONS_PER_TENANT: '100000',
  };
  delete env.KAFKA_BROKERS;
  delete env.PG_URL;
  Object.assign(env, variant.env);
  // --cpu-prof writes one .cpuprofile per thread (the scorer workers too) when the server exits.
  const prof = profDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profDir];
  // BENCH_SERVER_ROOT (a variant's key, not passed on): run the server of another checkout, e.g.
  // an export of main, so that old and new code alternate in one run.
  const cwd = env.BENCH_SERVER_ROOT ?? ROOT;
  // BENCH_NODE_ARGS (a variant's key, space-separated): flags for that variant's node, e.g. V8's.
  const nodeArgs = [...values['node-arg']!, ...(env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean)];
  delete env.BENCH_SERVER_ROOT;
  delete env.BENCH_NODE_ARGS;
  delete env.BENCH_CHUNK_MS;
  delete env.BENCH_PROTOCOL;
  const proc = spawn(process.execPath, [...nodeArgs, ...prof, '--import', 'tsx', 'src/main.ts'], { cwd, env, stdio: ['ignore', 'pipe', 'inherit'] });
  const kill = () => proc.kill('SIGKILL');
  process.once('exit', kill); // a bench stopped by a signal or an error leaves no server behind
  proc.once('exit', () => process.off('exit', kill));
  return new Promise((resolve, reject) => {
    let out = '';
    proc.once('exit', (code) => reject(new Error(`server exited with ${code}: ${out.slice(-2000)}`)));
    proc.stdout!.on('data', (d: Buffer) => {
      if (values['server-log'] !== undefined) appendFileSync(values['server-log'], d);
      if (out.length > 1 << 16) return; // started: the rest is not read here
      out += d.toString();
      const m = /subscriptions: (ws:\/\/[^\s)]+)/.exec(out);
      if (m && /Ingest:/.test(out)) resolve({ proc, graphqlUrl: m[1], ingestUrl: m[1].replace(/\/graphql$/, '/ingest'), metricsUrl: m[1].replace(/^ws/, 'http').replace(/\/graphql$/, '/metrics') });
    });
  });
}

/** utime + stime (ms) and RSS (MiB) of a process, from /proc. */
function procStats(pid: number): { cpuMs: number; rssMiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuMs = (Number(f[11]) + Number(f[12])) * 10; // fields 14, 15: clock ticks of 10 ms
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpuMs, rssMiB: rss ? Number(rss[1]) / 1024 : NaN };
}

/** utime + stime (ms) of each thread of a process, by thread id, with its name (/proc/<pid>/task). */
function threadStats(pid: number): Record<string, { name: string; cpuMs: number }> {
  const out: Record<string, { name: string; cpuMs: number }> = {};
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out[tid] = { name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), cpuMs: (Number(f[11]) + Number(f[12])) * 10 };
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

/** utime + stime (ms) of a process's main thread (its tid is the pid). */
function mainThreadCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

/** Microseconds on CLOCK_MONOTONIC: the clock of V8's profile timestamps, in any process. */
const monoUs = () => Number(process.hrtime.bigint() / 1000n);

/** The server's counters that say what it dropped or routed (Prometheus text, summed by label). */
async function serverCounters(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(url, { signal: AbortSignal.timeout(15_000) })).text();
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^(dead_letters_total|speech_route_total|segments_failed_total|segments_scored_total)(\{[^}]*\})? ([0-9.e+]+)$/.exec(line);
    if (m && Number(m[3]) > 0) out[`${m[1]}${m[2] ?? ''}`] = Number(m[3]);
  }
  return out;
}

// ---- one run -------------------------------------------------------------------------------

/** A call being streamed: its frames, where it is, and when each audio record was sent. */
interface LiveCall {
  id: string;
  epochMs: number;
  startAt: number;
  frames: Template[];
  next: number;
  ws: WebSocket;
  /** Per channel, audio records sent: event end (ms from the call's start) and send time. */
  sent: Map<string, { endRelMs: number; at: number }[]>;
  endAt: number | null;
  /** Records sent and not answered yet (ack or error frame). */
  outstanding: number;
}

/** A lane: its call, or opening its socket, or free (next call due), or done (window over). */
type Lane = LiveCall | 'opening' | 'free' | 'done';

const pct = (xs: number[], p: number) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const q = (xs: number[]) => ({ p50: pct(xs, 50), p95: pct(xs, 95), p99: pct(xs, 99) });

interface RunResult {
  load: number;
  preset: LatencyPreset;
  variant: string;
  /** The calls' ingest path: `/ingest` (the chunk contract) or `/ingest/twilio`. */
  protocol: 'ingest' | 'twilio';
  hangoverMs: number;
  /** First scores in the steady window by where their text came from (PLATFORM = the transcript). */
  textSources: Record<string, number>;
  windowS: number;
  callSeconds: number;
  segments: number;
  segmentsInWindow: number;
  revisions: number;
  serverCpuMs: number;
  /** Of it, the main thread's (ingest, window, store, publish, GraphQL; not the scorer worker). */
  mainThreadCpuMs: number;
  genCpuMs: number;
  seal: ReturnType<typeof q>;
  end: ReturnType<typeof q>;
  early: number;
  unmatched: number;
  rssMiB: { start: number; end: number; max: number };
  refused: Record<string, number>;
  unanswered: number;
  counters: Record<string, number>;
  loadavg: string;
}

/** First element of `xs` (sorted by endRelMs) with endRelMs >= `min`, by bisection. */
function firstReaching(xs: { endRelMs: number; at: number }[], min: number) {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid].endRelMs >= min - 0.5) hi = mid;
    else lo = mid + 1;
  }
  return xs[lo];
}

const log = (m: string) => process.stderr.write(`[capacity ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

let runNo = 0;

async function run(n: number, preset: LatencyPreset, variant: Variant): Promise<RunResult> {
  // BENCH_CHUNK_MS (a variant's key, not passed on): this variant's audio record size, e.g.
  // `--variant r20:BENCH_CHUNK_MS=20 --variant r200:BENCH_CHUNK_MS=200` (Twilio's 20 ms frames
  // against 200 ms records, side by side).
  const twilio = variant.env.BENCH_PROTOCOL === 'twilio';
  const TEMPLATES = twilio
    ? (twilioCalls ??= fixtures.map((_, i) => twilioTemplates(i)))
    : templatesOf(variant.env.BENCH_CHUNK_MS === undefined ? chunkMs : Number(variant.env.BENCH_CHUNK_MS));
  const hangover = variant.env.VAD_HANGOVER_MS === undefined ? {} : { hangoverMs: Number(variant.env.VAD_HANGOVER_MS) };
  const opts = resolveWindowOptions(withPreset(preset, { vad: hangover }));
  // The window seals a segment once its channel's audio reaches its end + lateness + transcript
  // wait, and not before the VAD has seen the speech end (hangover past the speech, less the
  // pad the segment's end already includes): test/window/latency-preset.test.ts pins both.
  const sealWaitMs = Math.max(opts.allowedLatenessMs + opts.transcriptWaitMs, opts.vad.hangoverMs - opts.vad.padMs);
  log(`load ${n}, ${preset}, ${variant.name}: starting the server`);
  const profDir = values['cpu-prof'] === undefined ? undefined : join(values['cpu-prof'], `${n}-${preset}-${variant.name}-${runNo++}`);
  const server = await startServer(preset, variant, profDir);
  log(`server ${server.proc.pid} at ${server.graphqlUrl}`);
  const pid = server.proc.pid!;
  const warmupMs = Number(values.warmup) * 1000;
  const steadyMs = Number(values.seconds) * 1000;
  const calls = new Map<string, LiveCall>();
  const seal: number[] = [];
  const end: number[] = [];
  let segments = 0;
  /** First scores received inside the steady window (segments/s); `segments` adds the drain's. */
  let segmentsInWindow = 0;
  let revisions = 0;
  const textSources: Record<string, number> = {};
  let early = 0;
  let unmatched = 0;
  let inWindow = false;
  let stopped = false;
  const refused: Record<string, number> = {};

  // One subscriber for every call of the tenant.
  const client: Client = createClient({ url: server.graphqlUrl, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false });
  await new Promise<void>((resolve, reject) => {
    client.subscribe<{ segmentScored: { callId: string; channel: string; endMs: number; revision: number; textSource: string } }>(
      { query: 'subscription { segmentScored { callId channel endMs revision textSource } }' },
      {
        next: (v) => {
          const now = performance.now();
          const s = v.data!.segmentScored;
          if (!inWindow) return;
          if (s.revision > 0) return void revisions++;
          const c = calls.get(s.callId);
          if (!c) return void unmatched++;
          segments++;
          if (!stopped) {
            segmentsInWindow++;
            textSources[s.textSource] = (textSources[s.textSource] ?? 0) + 1;
          }
          const endRel = s.endMs - c.epochMs;
          const sent = c.sent.get(s.channel) ?? [];
          const holder = firstReaching(sent, endRel);
          const trigger = firstReaching(sent, endRel + sealWaitMs);
          const sealAt = trigger ? trigger.at : c.endAt;
          if (holder) end.push(now - holder.at);
          if (sealAt === null) early++;
          else seal.push(now - sealAt);
        },
        error: reject,
        complete: () => {},
      },
    );
    client.on('connected', () => setTimeout(resolve, 100));
  });

  log('subscribed; streaming');
  const t0 = performance.now();
  let callNo = 0;
  const lanes: Lane[] = Array.from({ length: n }, () => 'free');
  const laneStart = (lane: number) => t0 + (lane * warmupMs) / n;
  let opening = 0;
  const open = async (lane: number): Promise<void> => {
    const k = callNo++;
    const id = `cap-${String(k).padStart(ID_WIDTH, '0')}`;
    const tpl = TEMPLATES[(lane + k) % TEMPLATES.length];
    const ws = new WebSocket(twilio ? `${server.ingestUrl}/twilio` : server.ingestUrl, { perMessageDeflate: false });
    const c: LiveCall = { id, epochMs: 0, startAt: 0, frames: tpl.frames, next: 0, ws, sent: new Map(), endAt: null, outstanding: 0 };
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const m = JSON.parse(String(data)) as { type: string; code?: string };
      c.outstanding--;
      if (c.next >= c.frames.length && c.outstanding === 0) ws.close(); // ended and fully answered
      if (m.type === 'error') refused[m.code!] = (refused[m.code!] ?? 0) + 1;
    });
    await new Promise<void>((ok, fail) => {
      ws.once('open', () => ok());
      ws.once('error', fail);
    });
    if (stopped) return void ws.close(); // opened after the window's end: its lane is done
    c.startAt = performance.now();
    c.epochMs = Date.now();
    calls.set(id, c);
    lanes[lane] = c;
  };
  /** Calls that sent their call_end (all their records must be answered) and calls cut short by
   *  the window's end (no call_end: their last records stay open in the server, not counted). */
  const ended: LiveCall[] = [];
  const cut: LiveCall[] = [];

  let s0 = procStats(pid);
  let main0 = mainThreadCpuMs(pid);
  let threads0: ReturnType<typeof threadStats> = {};
  let windowUs0 = 0;
  let genW0 = process.cpuUsage();
  let callSeconds = 0;
  let windowStart = 0;
  let windowEnd = 0;
  const rss: number[] = [s0.rssMiB];
  let lastTick = performance.now();
  await new Promise<void>((done) => {
    const timer = setInterval(() => {
      const now = performance.now();
      const dt = now - lastTick;
      lastTick = now;
      if (!inWindow && now - t0 >= warmupMs + 2000) {
        inWindow = true;
        windowStart = now;
        log(`steady window: ${calls.size} calls opened`);
        s0 = procStats(pid);
        main0 = mainThreadCpuMs(pid);
        genW0 = process.cpuUsage();
        if (profDir !== undefined) {
          threads0 = threadStats(pid);
          windowUs0 = monoUs();
        }
      }
      if (inWindow && !stopped && now - windowStart >= steadyMs) {
        stopped = true;
        windowEnd = now;
        log(`window over: ${segments} first scores in it; draining`);
      }
      let active = 0;
      for (let lane = 0; lane < n; lane++) {
        const c = lanes[lane];
        if (c === 'free') {
          if (stopped) lanes[lane] = 'done';
          else if (now >= laneStart(lane) && opening < 64) {
            // Socket opens are limited to 64 at a time so that a lane's start does not stall the tick.
            opening++;
            lanes[lane] = 'opening';
            void open(lane).catch((e: Error) => log(`lane ${lane}: ${e.message}`)).finally(() => opening--);
          }
          continue;
        }
        if (c === 'opening') {
          // An overloaded server may not answer an upgrade for long: the window does not wait for it.
          if (stopped) lanes[lane] = 'done';
          continue;
        }
        if (c === 'done') continue;
        const rel = now - c.startAt;
        while (c.next < c.frames.length && c.frames[c.next].atMs <= rel) {
          const t = c.frames[c.next++];
          if (twilio) {
            // No acks on Twilio: nothing is outstanding. The server's time 0 is start's arrival.
            if (t.kind === 'start') c.epochMs = Date.now();
            c.ws.send(frameFor(t, c.id, c.epochMs), { binary: false });
            if (t.kind === 'end') c.ws.close();
          } else {
            c.outstanding++;
            c.ws.send(frameFor(t, c.id, c.epochMs));
          }
          if (t.kind === 'audio') {
            const list = c.sent.get(t.channel) ?? [];
            list.push({ endRelMs: t.endRelMs, at: now });
            c.sent.set(t.channel, list);
          } else if (t.kind === 'end') c.endAt = now;
        }
        if (c.next >= c.frames.length) {
          ended.push(c);
          lanes[lane] = stopped ? 'done' : 'free';
        } else if (stopped) {
          cut.push(c);
          lanes[lane] = 'done';
        } else active++;
      }
      if (inWindow && !stopped) callSeconds += (active * dt) / 1000;
      if (Math.floor(now / 1000) !== Math.floor((now - dt) / 1000)) rss.push(procStats(pid).rssMiB);
      if (stopped && lanes.every((l) => l === 'done')) {
        clearInterval(timer);
        done();
      }
    }, TICK_MS);
  });
  const s1 = procStats(pid);
  const main1 = mainThreadCpuMs(pid);
  const genW1 = process.cpuUsage(genW0);
  if (profDir !== undefined) {
    // The steady window for bench/capacity-profile.ts: its bounds on the profiles' clock, the
    // call-seconds in it, and each thread's CPU (the native threads no JS profile sees).
    const threads1 = threadStats(pid);
    const threads = Object.entries(threads1).map(([tid, t]) => ({ tid, name: t.name, cpuMs: t.cpuMs - (threads0[tid]?.cpuMs ?? 0) }));
    mkdirSync(profDir, { recursive: true });
    writeFileSync(join(profDir, 'window.json'), JSON.stringify({ load: n, preset, variant: variant.name, startUs: windowUs0, endUs: monoUs(), callSeconds, serverCpuMs: s1.cpuMs - s0.cpuMs, segmentsInWindow, threads, loadavg: loadavg() }, null, 1));
  }
  // Drain: wait (at most --drain s) until every record of the ended calls is answered, i.e. their
  // scores were stored and published; events still count while it lasts.
  const drainDeadline = performance.now() + Number(values.drain) * 1000;
  let lastSegments = -1;
  let quietSince = performance.now();
  while (performance.now() < drainDeadline) {
    if (!twilio && !ended.some((c) => c.outstanding > 0)) break;
    if (twilio) {
      // No acks: done once no score came for 3 s.
      if (segments !== lastSegments) [lastSegments, quietSince] = [segments, performance.now()];
      else if (performance.now() - quietSince >= 3000) break;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const unanswered = ended.reduce((sum, c) => sum + Math.max(0, c.outstanding), 0);
  inWindow = false;
  for (const c of [...ended, ...cut]) c.ws.close();
  log(`drained (${unanswered} unanswered, refused ${JSON.stringify(refused)}, ${unmatched} unmatched events); stopping the server`);
  const counters = await serverCounters(server.metricsUrl).catch(() => ({}));
  rss.push(procStats(pid).rssMiB);
  void client.dispose();
  server.proc.kill('SIGTERM');
  const killer = setTimeout(() => server.proc.kill('SIGKILL'), 10_000);
  await new Promise((r) => server.proc.once('exit', r));
  clearTimeout(killer);
  return {
    load: n, preset, variant: variant.name, protocol: twilio ? 'twilio' : 'ingest', hangoverMs: opts.vad.hangoverMs, textSources, windowS: (windowEnd - windowStart) / 1000, callSeconds, segments, segmentsInWindow, revisions,
    serverCpuMs: s1.cpuMs - s0.cpuMs, mainThreadCpuMs: main1 - main0, genCpuMs: (genW1.user + genW1.system) / 1000,
    seal: q(seal), end: q(end), early, unmatched,
    rssMiB: { start: rss[0], end: rss[rss.length - 1], max: Math.max(...rss) },
    refused, unanswered, counters, loadavg: loadavg().map((x) => x.toFixed(1)).join(' '),
  };
}

function print(r: RunResult): void {
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '-');
  console.log(JSON.stringify({
    load: r.load, preset: r.preset, variant: r.variant, protocol: r.protocol, hangoverMs: r.hangoverMs, transcripts: withText && r.protocol === 'ingest', serverEnv: values['server-env'], windowS: +r.windowS.toFixed(1), callSeconds: Math.round(r.callSeconds),
    serverCoreMsPerCallSecond: +(r.serverCpuMs / r.callSeconds).toFixed(2), serverCoreMsPerSegment: +(r.serverCpuMs / Math.max(1, r.segmentsInWindow)).toFixed(1),
    mainThreadCoreMsPerCallSecond: +(r.mainThreadCpuMs / r.callSeconds).toFixed(2),
    serverCores: +(r.serverCpuMs / 1000 / r.windowS).toFixed(2), generatorCoreMsPerCallSecond: +(r.genCpuMs / r.callSeconds).toFixed(2),
    segmentsPerS: +(r.segmentsInWindow / r.windowS).toFixed(1), segments: r.segments, revisions: r.revisions,
    withoutTranscriptShare: +(1 - (r.textSources.PLATFORM ?? 0) / Math.max(1, r.segmentsInWindow)).toFixed(3), textSources: r.textSources,
    sealToEventMs: `${f(r.seal.p50)}/${f(r.seal.p95)}/${f(r.seal.p99)}`, endOfUtteranceToEventMs: `${f(r.end.p50)}/${f(r.end.p95)}/${f(r.end.p99)}`,
    early: r.early, unmatched: r.unmatched, refused: r.refused, unanswered: r.unanswered, serverCounters: r.counters,
    rssMiB: `${f(r.rssMiB.start)}/${f(r.rssMiB.end)}/${f(r.rssMiB.max)}`, loadavg: r.loadavg,
  }));
}

process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));
const presets = values.presets!.split(',') as LatencyPreset[];
for (const p of presets) if (!(p in LATENCY_PRESETS)) throw new Error(`unknown preset ${p}: ${Object.keys(LATENCY_PRESETS).join(', ')}`);
const best = new Map<string, number>();
for (let round = 0; round < Number(values.rounds); round++) {
  for (const n of values.loads!.split(',').map(Number)) {
    for (const preset of presets) {
      for (const variant of variants) {
        const r = await run(n, preset, variant);
        print(r);
        const key = `${preset}, ${variant.name}`;
        if (r.seal.p99 < GOAL_P99_MS && r.unanswered === 0) best.set(key, Math.max(best.get(key) ?? 0, n));
      }
    }
  }
}
for (const p of presets) for (const v of variants) console.log(`largest load with seal->event p99 < ${GOAL_P99_MS} ms (${p}, ${v.name}, transcripts ${withText && v.env.BENCH_PROTOCOL !== 'twilio' ? 'on' : 'off'}): ${best.get(`${p}, ${v.name}`) ?? 'none of the loads'}`);
