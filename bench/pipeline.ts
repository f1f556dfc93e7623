/**
 * Pipeline benchmark: N concurrent real-time two-channel calls (fixtures/calls: MELD dialogues,
 * TTS audio, face features, transcripts with ASR delay, some dropped) produced into Kafka, through
 * the server (a separate process: `src/main.ts` with KAFKA_BROKERS, SQLite in memory) and out to
 * one graphql-ws subscriber per call (subscribed before its call starts).
 *
 *   nice -n 10 node --import tsx bench/pipeline.ts --calls 8 --duration 60 [--steps 4,8,16] [--soak 600]
 *
 * Latencies, per segment, to its segmentScored event received:
 * - seal: from the send of the first audio/video record of its call whose event end reaches the
 *   segment's end + allowedLateness + transcriptWait (2 s by default: the earliest record that can
 *   seal it) — the server's own latency (decode, window, score, store, publish, ws);
 * - end: from the send of the record holding the segment's end (adds the window's 2 s wait).
 * Server CPU (utime + stime of the process, all threads) and RSS from /proc. Kafka must run
 * (scripts/kafka.sh start). With --steps, runs each N in turn (fresh topic and server each) and
 * reports the largest N with seal p99 < 250 ms. With --soak S, one run of S seconds at --calls,
 * sampling RSS every 10 s.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Client, createClient } from 'graphql-ws';
import { createKafka } from '../src/kafka/client.js';
import { connectProducer } from '../src/kafka/producer.js';
import WebSocket from 'ws';
import { loadFixtureCalls } from '../src/app/demo/fixtures.js';
import { scriptCall } from '../src/app/demo/script.js';
import { repoRoot } from '../src/app/paths.js';
import { encodeChunk } from '../src/ingest/encode.js';
import { createTopicsAndWait } from '../src/kafka/admin.js';

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '8' },
    duration: { type: 'string', default: '60' },
    steps: { type: 'string' },
    soak: { type: 'string' },
    brokers: { type: 'string', default: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092' },
    partitions: { type: 'string', default: '6' },
  },
});
const BROKERS = values.brokers!.split(',');
const SEAL_WAIT_MS = 2_000; // allowedLatenessMs 1000 + transcriptWaitMs 1000 (window defaults)
const ROOT = repoRoot();
const fixtures = loadFixtureCalls(join(ROOT, 'fixtures', 'calls'));
const kafka = createKafka({ clientId: 'bench-pipeline', brokers: BROKERS });

interface Server {
  proc: ChildProcess;
  wsUrl: string;
  metricsUrl: string;
}

/** Starts src/main.ts on a fresh topic; resolves when it printed its URLs. */
async function startServer(topic: string): Promise<Server> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, KAFKA_BROKERS: BROKERS.join(','), KAFKA_TOPIC: topic, KAFKA_GROUP: `${topic}-g`, DB_PATH: ':memory:', PORT: '0', DEMO: '0', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.on('exit', (code) => reject(new Error(`server exited with ${code}: ${out.slice(-2000)}`)));
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /subscriptions: (ws:\/\/[^\s)]+)/.exec(out);
      if (m) resolve({ proc, wsUrl: m[1], metricsUrl: m[1].replace(/^ws/, 'http').replace(/\/graphql$/, '/metrics') });
    });
  });
}

/** utime + stime (s) and RSS (MiB) of a process. */
function procStats(pid: number): { cpuS: number; rssMiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuS = (Number(f[11]) + Number(f[12])) / 100; // fields 14, 15: clock ticks (100 Hz)
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpuS, rssMiB: rss ? Number(rss[1]) / 1024 : NaN };
}

const pct = (xs: number[], p: number) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

interface RunResult {
  calls: number;
  seconds: number;
  segments: number;
  segPerS: number;
  seal: { p50: number; p95: number; p99: number };
  end: { p50: number; p95: number; p99: number };
  cpuPct: number;
  rssStartMiB: number;
  rssEndMiB: number;
  rssMaxMiB: number;
  load: string;
  unmatched: number;
}

/** One run: N call lanes for `seconds`, each lane playing fixture calls back to back in real time. */
async function run(n: number, seconds: number, soakSampleS = 0): Promise<RunResult> {
  const topic = `bench-pipeline-${Date.now()}`;
  const admin = kafka.admin();
  await admin.connect();
  await createTopicsAndWait(admin, [{ topic, numPartitions: Number(values.partitions) }, { topic: `${topic}.dlq`, numPartitions: 1 }]);
  await admin.disconnect();
  const server = await startServer(topic);
  const producer = await connectProducer(kafka);
  const clients: Client[] = [];
  // Per call: send time of every audio/video record by channel (event end -> wall ms), and of call_end.
  const sends = new Map<string, { media: { endMs: number; at: number }[]; endAt: number; lastEnd: Map<string, { endMs: number; at: number }[]> }>();
  const seal: number[] = [];
  const end: number[] = [];
  let unmatched = 0;
  const stopAt = Date.now() + seconds * 1000;
  const rss: number[] = [];
  const s0 = procStats(server.proc.pid!);
  rss.push(s0.rssMiB);
  const t0 = Date.now();
  const sampler = soakSampleS ? setInterval(() => {
    const s = procStats(server.proc.pid!);
    rss.push(s.rssMiB);
    console.log(`  t=${Math.round((Date.now() - t0) / 1000)}s rss=${s.rssMiB.toFixed(0)} MiB cpu=${(((s.cpuS - s0.cpuS) / ((Date.now() - t0) / 1000)) * 100).toFixed(0)}% segments=${seal.length} load=${loadavg()[0].toFixed(1)}`);
  }, soakSampleS * 1000) : null;

  const onScore = (s: { callId: string; channel: string; endMs: number; revision: number }) => {
    const now = Date.now();
    const c = sends.get(s.callId);
    if (!c || s.revision > 0) return;
    const trigger = c.media.find((m) => m.endMs >= s.endMs + SEAL_WAIT_MS);
    const sealAt = trigger ? trigger.at : c.endAt;
    const holder = c.lastEnd.get(s.channel)?.find((m) => m.endMs >= s.endMs - 0.5);
    if (!sealAt || !holder) return void unmatched++;
    seal.push(now - sealAt);
    end.push(now - holder.at);
  };

  let callNo = 0;
  const lane = async (laneNo: number) => {
    await new Promise((r) => setTimeout(r, (laneNo * 3000) / Math.max(1, n) * 3)); // stagger starts over ~9 s
    while (Date.now() < stopAt) {
      const k = callNo++;
      const fixture = fixtures[k % fixtures.length];
      const callId = `bench-${k}-${fixture.id}`;
      const client = createClient({ url: server.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false });
      clients.push(client);
      await new Promise<void>((resolve, reject) => {
        client.subscribe({ query: 'subscription($id: ID) { segmentScored(callId: $id) { callId channel endMs revision } }', variables: { id: callId } }, {
          next: (v) => onScore((v.data as { segmentScored: { callId: string; channel: string; endMs: number; revision: number } }).segmentScored),
          error: reject,
          complete: () => {},
        });
        client.on('connected', () => setTimeout(resolve, 50));
      });
      const epochMs = Date.now();
      const chunks = scriptCall(fixture, { callId, epochMs, seed: k + 1 });
      const rec = { media: [] as { endMs: number; at: number }[], endAt: 0, lastEnd: new Map<string, { endMs: number; at: number }[]>() };
      sends.set(callId, rec);
      const start = Date.now();
      for (const { atMs, chunk } of chunks) {
        const wait = atMs - (Date.now() - start);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const r = encodeChunk(chunk);
        await producer.send({ topic, messages: [{ key: r.key, value: r.value, headers: r.headers as Record<string, string> }] });
        const at = Date.now();
        if (chunk.modality === 'audio' || chunk.modality === 'video') {
          const e = { endMs: chunk.eventTimeMs + chunk.durationMs, at };
          rec.media.push(e);
          if (chunk.modality === 'audio') rec.lastEnd.set(chunk.channel, [...(rec.lastEnd.get(chunk.channel) ?? []), e]);
        } else if (chunk.modality === 'control' && chunk.kind === 'call_end') rec.endAt = at;
      }
      // Let the call's last segments arrive before its socket closes.
      setTimeout(() => void client.dispose(), 5000).unref();
    }
  };
  await Promise.all(Array.from({ length: n }, (_, i) => lane(i)));
  await new Promise((r) => setTimeout(r, 5000));
  const s1 = procStats(server.proc.pid!);
  rss.push(s1.rssMiB);
  if (sampler) clearInterval(sampler);
  const wall = (Date.now() - t0) / 1000;
  await Promise.all(clients.map((c) => c.dispose()));
  await producer.disconnect();
  if (process.env.BENCH_METRICS === '1') console.log((await (await fetch(server.metricsUrl)).text()).split('\n').filter((l) => /^segment_|^chunks_|^dead_/.test(l)).join('\n'));
  server.proc.kill('SIGTERM');
  await new Promise((r) => server.proc.once('exit', r));
  const q = (xs: number[]) => ({ p50: pct(xs, 50), p95: pct(xs, 95), p99: pct(xs, 99) });
  return {
    calls: n, seconds: Math.round(wall), segments: seal.length, segPerS: seal.length / wall, seal: q(seal), end: q(end),
    cpuPct: ((s1.cpuS - s0.cpuS) / wall) * 100, rssStartMiB: s0.rssMiB, rssEndMiB: s1.rssMiB, rssMaxMiB: Math.max(...rss),
    load: loadavg().map((x) => x.toFixed(1)).join(' '), unmatched,
  };
}

function print(r: RunResult): void {
  console.log(`N=${r.calls} ${r.seconds}s segments=${r.segments} (${r.segPerS.toFixed(2)}/s) seal p50/p95/p99=${r.seal.p50}/${r.seal.p95}/${r.seal.p99} ms end p50/p95/p99=${r.end.p50}/${r.end.p95}/${r.end.p99} ms cpu=${r.cpuPct.toFixed(0)}% rss start/end/max=${r.rssStartMiB.toFixed(0)}/${r.rssEndMiB.toFixed(0)}/${r.rssMaxMiB.toFixed(0)} MiB load=${r.load} unmatched=${r.unmatched}`);
}

const duration = Number(values.duration);
if (values.soak) {
  console.log(`soak: ${values.calls} calls for ${values.soak} s`);
  print(await run(Number(values.calls), Number(values.soak), 10));
} else if (values.steps) {
  let best = 0;
  for (const n of values.steps.split(',').map(Number)) {
    const r = await run(n, duration);
    print(r);
    if (r.seal.p99 < 250) best = n;
    else break;
  }
  console.log(`largest N with seal p99 < 250 ms: ${best || 'none of the steps'}`);
} else {
  print(await run(Number(values.calls), duration));
}
