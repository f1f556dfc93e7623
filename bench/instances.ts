/**
 * Instances benchmark: the same load through one server instance and through two instances in
 * one consumer group (they share the chunk topic's partitions; scores cross over the scores
 * topic), side by side in one run. Server processes are real (`src/main.ts`, started by the fault
 * tests' harness), on Kafka (KAFKA_BROKERS / --brokers) and one shared store (a SQLite file, or a
 * fresh database on --pg URL).
 *
 *   nice -n 10 node --import tsx bench/instances.ts [--configs 1x1,2x1,1x2] [--backlog 24]
 *       [--calls 16 --duration 60] [--partitions 6] [--pg postgres://...]
 *
 * A config `IxW` is I instances with W scorer workers each. Two phases per config, fresh topic,
 * group and store each:
 * - backlog (capacity): --backlog calls are produced whole before the instances start; segments/s
 *   = stored rows / (last stored_at - first stored_at), i.e. how fast the group drains it;
 * - live (latency): --calls lanes play fixture calls back to back in real time for --duration s,
 *   one graphql-ws subscriber per call, on instance (call number mod I): seal latency = from the
 *   send of the first record that can seal a segment (event end >= segment end + 2 s of window
 *   wait) to its segmentScored event; segments/s as received.
 * CPU = all instances' utime + stime per wall second (200% = both cores).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createClient, type Client } from 'graphql-ws';
import { createKafka } from '../src/kafka/client.js';
import { connectProducer } from '../src/kafka/producer.js';
import pg from 'pg';
import WebSocket from 'ws';
import { loadFixtureCalls } from '../src/app/demo/fixtures.js';
import { scriptCall } from '../src/app/demo/script.js';
import { repoRoot } from '../src/app/paths.js';
import { encodeChunk } from '../src/ingest/encode.js';
import { createTopicsAndWait } from '../src/kafka/admin.js';
import { audit, auditPg, httpStatus, type Instance, metricSum, scrape, scriptCalls, sendChunks, serverEnv, startInstance, stopInstances, tempDir, until } from '../test/fault/harness.js';

const { values } = parseArgs({
  options: {
    configs: { type: 'string', default: '1x1,2x1' },
    backlog: { type: 'string', default: '24' },
    calls: { type: 'string', default: '16' },
    duration: { type: 'string', default: '60' },
    partitions: { type: 'string', default: '6' },
    brokers: { type: 'string', default: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092' },
    pg: { type: 'string' },
  },
});
const BROKERS = values.brokers!.split(',');
const SEAL_WAIT_MS = 2_000; // allowedLatenessMs 1000 + transcriptWaitMs 1000 (window defaults)
const kafka = createKafka({ clientId: 'bench-instances', brokers: BROKERS });
const fixtures = loadFixtureCalls(join(repoRoot(), 'fixtures', 'calls'));

const pct = (xs: number[], p: number): number => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** A fresh topic (+ dlq) and, with --pg, a fresh database; the store's env and an auditor. */
async function freshSetup(label: string): Promise<{ topic: string; env: Record<string, string>; audit: (ids: string[]) => Promise<{ rows: number; ended: number; keys: Set<string> }>; storedSpanMs: () => Promise<[number, number, number]>; cleanup: () => Promise<void> }> {
  const topic = `bench-instances-${label}-${Date.now()}-${randomBytes(2).toString('hex')}`;
  const admin = kafka.admin();
  await admin.connect();
  await createTopicsAndWait(admin, [{ topic, numPartitions: Number(values.partitions) }]); // the servers create .dlq and .scores
  await admin.disconnect();
  const tmp = tempDir('bench-instances');
  const env = { ...serverEnv({ brokers: BROKERS, topic, group: `${topic}-g`, dbPath: tmp.dbPath }) }; // info: the harness waits for the start-up lines
  const spanSql = 'SELECT COUNT(*) AS n, MIN(stored_at_ms) AS lo, MAX(stored_at_ms) AS hi FROM segment_scores';
  if (!values.pg) {
    return {
      topic, env, cleanup: async () => tmp.cleanup(),
      audit: async (ids) => audit(tmp.dbPath, ids),
      storedSpanMs: async () => {
        const Database = (await import('better-sqlite3')).default;
        const db = new Database(tmp.dbPath); // not readonly: see audit() in the harness (WAL without -shm)
        const r = db.prepare(spanSql).get() as { n: number; lo: number; hi: number };
        db.close();
        return [r.n, r.lo, r.hi];
      },
    };
  }
  const db = `bench_instances_${Date.now()}_${randomBytes(2).toString('hex')}`;
  const adminSql = async (sql: string) => {
    const c = new pg.Client({ connectionString: values.pg });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await adminSql(`CREATE DATABASE ${db}`);
  const u = new URL(values.pg);
  u.pathname = `/${db}`;
  const url = u.toString();
  return {
    topic, env: { ...env, PG_URL: url },
    cleanup: async () => {
      tmp.cleanup();
      await adminSql(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    },
    audit: (ids) => auditPg(url, ids),
    storedSpanMs: async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      const r = (await c.query(spanSql)).rows[0] as { n: string; lo: string; hi: string };
      await c.end();
      return [Number(r.n), Number(r.lo), Number(r.hi)];
    },
  };
}

/** Starts `n` instances with `workers` scorer workers each (one after the other, or `together`);
 *  resolves when all are ready and own partitions. */
async function startGroup(n: number, workers: number, env: Record<string, string>, together = false): Promise<Instance[]> {
  const start = (i: number) => startInstance(`i${i}`, { ...env, SCORER_WORKERS: String(workers) });
  const out: Instance[] = [];
  if (together) out.push(...await Promise.all(Array.from({ length: n }, (_, i) => start(i))));
  else for (let i = 0; i < n; i++) out.push(await start(i));
  await until(async () => (await Promise.all(out.map((i) => httpStatus(i.url, '/readyz')))).every((s) => s === 200), 60_000, 'all ready');
  // Every instance owns partitions (the group settled after the last join).
  await until(() => out.every((i) => i.logs.some((l) => l.includes('"chunk partitions assigned"') && !l.includes('"partitions":[]'))), 60_000, 'all own partitions');
  return out;
}

interface Backlog { share: number[]; segments: number; spanS: number; segPerS: number; cpuPct: number; produceS: number }

async function backlog(n: number, workers: number): Promise<Backlog> {
  const s = await freshSetup(`b${n}x${workers}`);
  const calls = scriptCalls(Number(values.backlog), 'bench');
  // The whole load first, then the instances, started together: the drain rate is then the
  // group's alone (not the producer's, which shares the CPU), at the price of a first rebalance
  // when the later joiner arrives (its partitions' open windows are handed over, as in production).
  const producer = await connectProducer(kafka, { idempotent: true });
  const p0 = Date.now();
  for (const c of calls) await sendChunks(producer, s.topic, c.chunks);
  const produceS = (Date.now() - p0) / 1000;
  await producer.disconnect();
  const group = await startGroup(n, workers, s.env, true);
  try {
    const cpu0 = group.map((i) => cpuSeconds(i.proc.pid!));
    const t0 = Date.now();
    await until(async () => (await s.audit(calls.map((c) => c.callId))).ended === calls.length, 600_000, 'backlog drained');
    const wall = (Date.now() - t0) / 1000;
    const cpu = group.reduce((a, i, k) => a + cpuSeconds(i.proc.pid!) - cpu0[k], 0);
    const [rows, lo, hi] = await s.storedSpanMs();
    const share = (await Promise.all(group.map((i) => scrape(i.url)))).map((m) => metricSum(m, 'segments_scored_total'));
    return { share, segments: rows, spanS: (hi - lo) / 1000, segPerS: rows / ((hi - lo) / 1000), cpuPct: (cpu / wall) * 100, produceS };
  } finally {
    await stopInstances(group);
    await s.cleanup();
  }
}

interface Live { missed: number; stored: number; segments: number; segPerS: number; p50: number; p95: number; p99: number; cpuPct: number; unmatched: number }

async function live(n: number, workers: number): Promise<Live> {
  const s = await freshSetup(`l${n}x${workers}`);
  const group = await startGroup(n, workers, s.env);
  const producer = await connectProducer(kafka);
  const clients: Client[] = [];
  const sends = new Map<string, { media: { endMs: number; at: number }[]; endAt: number }>();
  const received = new Set<string>();
  const seal: number[] = [];
  let unmatched = 0;
  const onScore = (sc: { callId: string; channel: string; segmentIndex: number; endMs: number; revision: number }) => {
    received.add(`${sc.callId}/${sc.channel}/${sc.segmentIndex}/${sc.revision}`);
    const c = sends.get(sc.callId);
    if (!c || sc.revision > 0) return;
    const trigger = c.media.find((m) => m.endMs >= sc.endMs + SEAL_WAIT_MS);
    const at = trigger ? trigger.at : c.endAt;
    if (!at) return void unmatched++;
    seal.push(Date.now() - at);
  };
  const lanes = Number(values.calls);
  const stopAt = Date.now() + Number(values.duration) * 1000;
  const cpu0 = group.map((i) => cpuSeconds(i.proc.pid!));
  const t0 = Date.now();
  let callNo = 0;
  const lane = async (laneNo: number) => {
    await new Promise((r) => setTimeout(r, (laneNo * 9000) / lanes)); // starts spread over ~9 s
    while (Date.now() < stopAt) {
      const k = callNo++;
      const fixture = fixtures[k % fixtures.length];
      const callId = `bench-${k}-${randomBytes(2).toString('hex')}`;
      const client = createClient({ url: group[k % n].wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false });
      clients.push(client);
      await new Promise<void>((resolve, reject) => {
        client.subscribe({ query: 'subscription($id: ID) { segmentScored(callId: $id) { callId channel segmentIndex endMs revision } }', variables: { id: callId } }, {
          next: (v) => onScore((v.data as { segmentScored: { callId: string; channel: string; segmentIndex: number; endMs: number; revision: number } }).segmentScored),
          error: reject,
          complete: () => {},
        });
        client.on('connected', () => setTimeout(resolve, 50));
      });
      const rec = { media: [] as { endMs: number; at: number }[], endAt: 0 };
      sends.set(callId, rec);
      const start = Date.now();
      for (const { atMs, chunk } of scriptCall(fixture, { callId, epochMs: Date.now(), seed: k + 1 })) {
        const wait = atMs - (Date.now() - start);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const r = encodeChunk(chunk);
        await producer.send({ topic: s.topic, messages: [{ key: r.key, value: r.value, headers: r.headers as Record<string, string> }] });
        const at = Date.now();
        if (chunk.modality === 'audio' || chunk.modality === 'video') rec.media.push({ endMs: chunk.eventTimeMs + chunk.durationMs, at });
        else if (chunk.modality === 'control' && chunk.kind === 'call_end') rec.endAt = at;
      }
      setTimeout(() => void client.dispose(), 5000).unref();
    }
  };
  try {
    await Promise.all(Array.from({ length: lanes }, (_, i) => lane(i)));
    await new Promise((r) => setTimeout(r, 5000)); // the last segments arrive
    const wall = (Date.now() - t0) / 1000;
    const cpu = group.reduce((a, i, k) => a + cpuSeconds(i.proc.pid!) - cpu0[k], 0);
    // Every stored score of every call must have reached that call's subscriber (on either instance).
    const stored = await s.audit([...sends.keys()]);
    const missed = [...stored.keys].filter((k) => !received.has(k)).length;
    return { missed, stored: stored.keys.size, segments: seal.length, segPerS: seal.length / wall, p50: pct(seal, 50), p95: pct(seal, 95), p99: pct(seal, 99), cpuPct: (cpu / wall) * 100, unmatched };
  } finally {
    await Promise.all(clients.map((c) => c.dispose()));
    await producer.disconnect();
    await stopInstances(group);
    await s.cleanup();
  }
}

const configs = values.configs!.split(',').map((c) => c.split('x').map(Number) as [number, number]);
console.log(`instances bench: configs ${values.configs}, backlog ${values.backlog} calls, live ${values.calls} calls x ${values.duration} s, ${values.partitions} partitions, store ${values.pg ? 'postgresql' : 'sqlite file'}, load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
const rows: string[] = [];
for (const [n, w] of configs) {
  const b = Number(values.backlog) > 0 ? await backlog(n, w) : null;
  if (b) console.log(`${n}x${w} backlog: ${b.segments} segments in ${b.spanS.toFixed(1)} s = ${b.segPerS.toFixed(2)}/s (produced in ${b.produceS.toFixed(1)} s before), per instance ${b.share.join('/')}, cpu ${b.cpuPct.toFixed(0)}%, load ${loadavg()[0].toFixed(1)}`);
  const l = Number(values.calls) > 0 ? await live(n, w) : null;
  if (l) console.log(`${n}x${w} live: ${l.segments} segments ${l.segPerS.toFixed(2)}/s, seal p50/p95/p99 ${l.p50}/${l.p95}/${l.p99} ms, cpu ${l.cpuPct.toFixed(0)}%, unmatched ${l.unmatched}, stored ${l.stored} missed by subscribers ${l.missed}, load ${loadavg()[0].toFixed(1)}`);
  rows.push(`| ${n} x ${w} | ${b ? `${b.segPerS.toFixed(2)} (${b.segments} in ${b.spanS.toFixed(1)} s), cpu ${b.cpuPct.toFixed(0)}%` : '-'} | ${l ? `${l.segPerS.toFixed(2)} | ${l.p50} / ${l.p95} / ${l.p99} | ${l.cpuPct.toFixed(0)}%` : '- | - | -'} |`);
}
console.log('\n| instances x workers | backlog segments/s | live segments/s | live seal p50/p95/p99 ms | live cpu |\n|---|---|---|---|---|');
for (const r of rows) console.log(r);
process.exit(0);
