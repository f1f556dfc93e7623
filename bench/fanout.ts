/**
 * Subscriber fan-out benchmark: S graphql-ws subscribers (one socket each, `segmentScored` with
 * no filter, so every subscriber gets every score) on one server node; the server publishes
 * scores at a fixed rate; delivery latency = receipt at a subscriber - publish time (stamped into
 * the score's `text`; one machine, one clock).
 *
 *   nice -n 10 node --import tsx bench/fanout.ts --subscribers 1000 [--rate 5] [--scores 50] [--modes shared,per-subscriber]
 *
 * Each mode runs in turn, in one run, against a fresh server: 'shared' executes and serialises
 * each score once per group of identical operations (src/graphql/multiplex.ts, the default),
 * 'per-subscriber' once per operation (the path before issue 14; ApiServerOptions.fanOut).
 *
 * The server (the real API server: Apollo + graphql-ws on ws, ScoreHub, SQLite in memory) runs in
 * a child process (`--serve`), so its CPU is not shared with the subscribers' event loop; the
 * subscribers run in this process. Reports p50/p95/p99/max delivery over every (score, subscriber)
 * and the CPU time of each process from the first publish to the last receipt: the server's is
 * the cost of the fan-out; the subscribers' shows what the client sockets took from the same cores.
 * FANOUT_PROF=<dir> writes the server's V8 CPU profile there (--cpu-prof).
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { type Client, createClient } from 'graphql-ws';
import { pino } from 'pino';
import WebSocket from 'ws';
import type { SegmentScore } from '../src/core/types.js';
import { createApiServer } from '../src/graphql/index.js';
import { ScoreHub } from '../src/publish/hub.js';
import { SqliteScoreStore } from '../src/store/sqlite-store.js';

const { values } = parseArgs({
  options: {
    serve: { type: 'boolean', default: false },
    subscribers: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '5' },
    scores: { type: 'string', default: '50' },
    modes: { type: 'string', default: 'shared,per-subscriber' },
    'fan-out': { type: 'string', default: 'shared' },
  },
});

type FanOut = 'shared' | 'per-subscriber';
const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;

/** Child: the API server; publishes when its stdin says "go <count> <rate>". */
async function serve(): Promise<void> {
  const logger = pino({ level: 'warn' });
  const store = new SqliteScoreStore({ path: ':memory:' });
  await store.start();
  // Subscriber queues deep enough that a burst of scores is not dropped during the run.
  const hub = new ScoreHub();
  await hub.start();
  const api = createApiServer({
    store, hub, port: 0, logger, devTenant: 'demo', fanOut: values['fan-out'] as FanOut,
    // Every subscriber is one tenant on one address: lift the per-source/tenant bounds past S.
    connectionLimits: { maxSocketsPerSource: 1_000_000, maxSocketsPerTenant: 1_000_000, maxSubscriptionsPerTenant: 1_000_000 },
    scorerInfo: () => ({ modelVersion: 'bench', executionProvider: 'cpu', providerAttempts: [], workers: 0 }),
    health: () => ({ ok: true, source: 'bench', store: 'sqlite: :memory:' }),
  });
  await api.start();
  process.stdout.write(`READY ${api.wsUrl}\n`);
  let cpuAtGo = process.cpuUsage();
  process.stdin.on('data', async (d: Buffer) => {
    if (d.toString().startsWith('cpu')) {
      process.stdout.write(`CPU ${cpuMs(process.cpuUsage(cpuAtGo)).toFixed(0)} ${JSON.stringify(api.fanOutStats())}\n`);
      return;
    }
    const m = /go (\d+) (\d+(?:\.\d+)?)/.exec(d.toString());
    if (!m) return;
    cpuAtGo = process.cpuUsage();
    const count = Number(m[1]);
    const every = 1000 / Number(m[2]);
    for (let i = 0; i < count; i++) {
      const score: SegmentScore = {
        callId: `fan-${i % 10}`, tenant: 'demo', channel: 'customer', segmentIndex: i, revision: 0,
        startMs: 1_764_000_000_000 + i * 1000, endMs: 1_764_000_000_000 + i * 1000 + 900, valence: 0.5, label: 'POSITIVE', confidence: 0.5,
        textMissing: false, modalities: { text: 'PRESENT', audio: 'PRESENT', video: 'MISSING' }, modalityWeights: { text: 0.5, audio: 0.5, video: 0 },
        text: String(Date.now()), modelVersion: 'bench', executionProvider: 'cpu', scoredAt: new Date().toISOString(),
      };
      await hub.publishScore(score);
      await new Promise((r) => setTimeout(r, every));
    }
    process.stdout.write(`DONE ${JSON.stringify(hub.stats())}\n`);
  });
}

interface RunResult {
  mode: FanOut;
  line: string;
}

async function main(): Promise<void> {
  const results: RunResult[] = [];
  for (const mode of values.modes.split(',') as FanOut[]) results.push(await runOnce(mode));
  console.log(`\nsubscribers=${values.subscribers} scores=${values.scores} at ${values.rate}/s`);
  for (const r of results) console.log(`${r.mode.padEnd(15)} ${r.line}`);
}

async function runOnce(mode: FanOut): Promise<RunResult> {
  const n = Number(values.subscribers);
  const count = Number(values.scores);
  const child = spawn(process.execPath, [...(process.env.FANOUT_PROF ? ['--cpu-prof', '--cpu-prof-dir=' + process.env.FANOUT_PROF] : []), '--import', 'tsx', new URL(import.meta.url).pathname, '--serve', '--fan-out', mode], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  const wsUrl = await new Promise<string>((resolve, reject) => {
    child.on('exit', (c) => reject(new Error(`server exited ${c}`)));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /READY (\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
  });
  const lat: number[] = [];
  const clients: Client[] = [];
  let subscribed = 0;
  let errors = 0;
  const t0 = Date.now();
  // Connect in waves of 250 so the accept queue is not flooded.
  for (let i = 0; i < n; i += 250) {
    const wave: Promise<void>[] = [];
    for (let j = i; j < Math.min(n, i + 250); j++) {
      const c = createClient({ url: wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false });
      clients.push(c);
      wave.push(new Promise<void>((resolve) => {
        c.on('connected', () => {
          subscribed++;
          resolve();
        });
        c.subscribe({ query: 'subscription { segmentScored { segmentIndex text } }' }, {
          next: (v) => lat.push(Date.now() - Number((v.data as { segmentScored: { text: string } }).segmentScored.text)),
          error: () => {
            errors++;
            resolve();
          },
          complete: () => {},
        });
      }));
    }
    await Promise.all(wave);
  }
  const connectS = (Date.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 1000)); // subscriptions registered after `connected`
  const clientCpuAtGo = process.cpuUsage();
  child.stdin.write(`go ${count} ${values.rate}\n`);
  const expected = n * count;
  const deadline = Date.now() + (count / Number(values.rate)) * 1000 + 30_000;
  while (lat.length < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const clientCpu = cpuMs(process.cpuUsage(clientCpuAtGo));
  const cpuLine = new Promise<string>((resolve) => {
    const at = out.length;
    const poll = setInterval(() => {
      const m = /CPU (\d+) (\{.*\})/.exec(out.slice(at));
      if (m) {
        clearInterval(poll);
        resolve(`server_cpu=${m[1]}ms (${(Number(m[1]) / count).toFixed(1)} ms/score) fanout=${m[2]}`);
      }
    }, 20);
  });
  child.stdin.write('cpu\n');
  const serverCpu = await cpuLine;
  const s = [...lat].sort((a, b) => a - b);
  const p = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  const line = `connected=${subscribed} errors=${errors} connect=${connectS.toFixed(1)}s delivered=${lat.length}/${expected} p50=${p(0.5)} p95=${p(0.95)} p99=${p(0.99)} max=${s[s.length - 1]} ms ${serverCpu} client_cpu=${clientCpu.toFixed(0)}ms load=${loadavg().map((x) => x.toFixed(1)).join(' ')}`;
  console.log(`${mode}: subscribers=${n} ${line}`);
  await Promise.all(clients.map((c) => c.dispose()));
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return { mode, line };
}

if (values.serve) await serve();
else await main();
