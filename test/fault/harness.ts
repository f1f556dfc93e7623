/**
 * Fault tests' harness: real server processes (`node --import tsx src/main.ts`) with env, on
 * loopback; calls produced to Kafka; a checker that reads the shared store and proves every
 * segment of every call is stored exactly once and was published.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import pg from 'pg';
import { type Client, createClient } from 'graphql-ws';
import type { Kafka, Producer } from '../../src/kafka/client.js';
import WebSocket from 'ws';
import { loadFixtureCalls } from '../../src/app/demo/fixtures.js';
import { scriptCall, type TimedChunk } from '../../src/app/demo/script.js';
import { repoRoot } from '../../src/app/paths.js';
import { encodeChunk } from '../../src/ingest/encode.js';
import { freshName, requireKafka, testProducer } from '../support/kafka.js';

export const EPOCH = 1_764_000_000_000;

/** A model exported (models/CURRENT), else fail (CI) or skip loudly (false). */
export function requireModel(t: TestContext): boolean {
  if (existsSync(join(repoRoot(), 'models', 'CURRENT'))) return true;
  if (process.env.CI === 'true') throw new Error('models/CURRENT is missing (CI=true)');
  console.warn('!! SKIPPING fault test: no exported model (models/CURRENT)');
  t.skip('no exported model');
  return false;
}

/** Kafka reachable and a model exported, else fail (CI) or skip loudly. */
export async function prerequisites(t: TestContext): Promise<string[] | null> {
  if (!requireModel(t)) return null;
  return requireKafka(t);
}

export interface Instance {
  name: string;
  url: string;
  wsUrl: string;
  proc: ChildProcess;
  /** Every log line (pino JSON) the process wrote. */
  logs: string[];
  exited: Promise<number | null>;
  /** Set once the test itself sent a signal (kill), so an exit after it is expected. */
  killedByTest: boolean;
  kill(signal?: NodeJS.Signals): void;
}

/** Starts one server process and resolves once it logged "sentiment server started". */
export async function startInstance(name: string, env: Record<string, string>, timeoutMs = 90_000): Promise<Instance> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: repoRoot(),
    env: { ...process.env, PORT: '0', DEMO: '0', LOG_LEVEL: 'info', INSTANCE_ID: `${name}-${process.pid}-${Date.now()}`, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  let url = '';
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  const started = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start in ${timeoutMs} ms:\n${logs.slice(-20).join('\n')}`)), timeoutMs);
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString('utf8');
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (!line.trim()) continue;
        logs.push(line);
        if (logs.length > 5000) logs.shift();
        if (line.includes('"API listening"')) url = (JSON.parse(line) as { url: string }).url;
        if (line.includes('"sentiment server started"')) {
          clearTimeout(timer);
          resolve();
        }
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before starting:\n${logs.slice(-20).join('\n')}`));
    });
  });
  await started;
  const inst: Instance = {
    name, url, wsUrl: url.replace(/^http/, 'ws'), proc, logs, exited, killedByTest: false,
    kill: (s = 'SIGTERM') => {
      inst.killedByTest = true;
      proc.kill(s);
    },
  };
  return inst;
}

/** Env for a server on `brokers` / `topic` / `group` with its SQLite file at `dbPath`. */
export function serverEnv(o: { brokers: string[]; topic: string; group: string; dbPath: string }): Record<string, string> {
  // PG_URL '' : the SQLite file, even when the test process has PG_URL (as .ci/run exports it).
  return { PG_URL: '', KAFKA_BROKERS: o.brokers.join(','), KAFKA_TOPIC: o.topic, KAFKA_GROUP: o.group, DB_PATH: o.dbPath, DATA_DIR: join(o.dbPath, '..'), KAFKA_SESSION_TIMEOUT_MS: '6000', LAG_SAMPLE_MS: '1000' };
}

export function tempDir(prefix: string): { dir: string; dbPath: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  return { dir, dbPath: join(dir, 'scores.db'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Scripted fixture calls (ids fresh), no late transcripts so every transcript is on time. */
export function scriptCalls(n: number, name: string): { callId: string; chunks: TimedChunk[]; durationMs: number }[] {
  const fx = loadFixtureCalls(join(repoRoot(), 'fixtures', 'calls'));
  return Array.from({ length: n }, (_, i) => {
    const f = fx[i % fx.length];
    const callId = freshName(`${name}-${i}`);
    return { callId, chunks: scriptCall(f, { callId, epochMs: EPOCH, seed: 11 + i, lateTranscriptShare: 0 }), durationMs: f.durationMs };
  });
}

/** Writes chunks of one call in order (key = call id). */
export async function sendChunks(producer: Producer, topic: string, chunks: TimedChunk[]): Promise<void> {
  for (let i = 0; i < chunks.length; i += 200) {
    await producer.send({
      topic,
      messages: chunks.slice(i, i + 200).map((c) => {
        const r = encodeChunk(c.chunk);
        return { key: r.key, value: r.value, headers: r.headers as Record<string, string> };
      }),
    });
  }
}

/**
 * Like sendChunks, but a failed send (broker down or restarting) is retried every 500 ms until
 * `deadlineMs` from now; resolves with the number of failed attempts. A retried batch may land
 * twice (at-least-once, as any producer without transactions): the server dead-letters the
 * repeats as duplicates.
 */
export async function sendChunksRetrying(producer: Producer, topic: string, chunks: TimedChunk[], deadlineMs = 90_000): Promise<number> {
  const deadline = Date.now() + deadlineMs;
  let failures = 0;
  for (let i = 0; i < chunks.length; i += 200) {
    for (;;) {
      try {
        await sendChunks(producer, topic, chunks.slice(i, i + 200));
        break;
      } catch (e) {
        failures++;
        if (Date.now() > deadline) throw new Error(`could not send for ${deadlineMs} ms: ${String(e)}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }
  return failures;
}

export async function connectProducer(kafka: Kafka): Promise<Producer> {
  const p = testProducer(kafka, { idempotent: true });
  await p.connect();
  return p;
}

/** Keys of scores received by one graphql-ws subscriber (all calls of tenant demo). */
export function subscribeAll(wsUrl: string): { keys: string[]; errors: unknown[]; client: Client } {
  const client = createClient({ url: wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false });
  const out = { keys: [] as string[], errors: [] as unknown[], client };
  client.subscribe<{ segmentScored: { callId: string; channel: string; segmentIndex: number; revision: number } }>(
    { query: 'subscription { segmentScored { callId channel segmentIndex revision } }' },
    {
      next: (v) => {
        const s = v.data?.segmentScored;
        if (s) out.keys.push(`${s.callId}/${s.channel}/${s.segmentIndex}/${s.revision}`);
        if (v.errors) out.errors.push(v.errors);
      },
      error: (e) => out.errors.push(e),
      complete: () => {},
    },
  );
  return out;
}

export async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface Audit {
  calls: number;
  ended: number;
  rows: number;
  keysRepeated: number;
  /** Channels whose latest-revision indices are not 0..n-1. */
  indexGaps: string[];
  /** Pairs of segments of one channel whose spans overlap (double-counted media). */
  overlaps: string[];
  /** Calls whose sealed-segment count (calls.segment_count, written by the window that closed
   *  the call) differs from their stored revision-0 rows: a segment sealed and never stored. */
  sealedNotStored: string[];
  keys: Set<string>;
}

/** One stored score as the audit reads it. */
interface StoredRow { channel: string; i: number; r: number; s: number; e: number }
/** One call as the audit reads it: its status and segment count (absent: never stored). */
interface StoredCall { status: string; segmentCount: number }

/** The store-independent part of the audit: rows per key, contiguity, overlaps, counts. */
function summarise(calls: { id: string; call: StoredCall | undefined; rows: StoredRow[]; repeatedKeys: number }[]): Audit {
  const a: Audit = { calls: calls.length, ended: 0, rows: 0, keysRepeated: 0, indexGaps: [], overlaps: [], sealedNotStored: [], keys: new Set() };
  for (const { id, call, rows, repeatedKeys } of calls) {
    if (call?.status === 'ENDED') a.ended++;
    a.rows += rows.length;
    a.keysRepeated += repeatedKeys;
    for (const r of rows) a.keys.add(`${id}/${r.channel}/${r.i}/${r.r}`);
    const byChannel = new Map<string, StoredRow[]>();
    for (const r of rows) if (r.r === 0) byChannel.set(r.channel, [...(byChannel.get(r.channel) ?? []), r]);
    for (const [ch, segs] of byChannel) {
      if (!segs.every((s, k) => s.i === k)) a.indexGaps.push(`${id}/${ch}: ${segs.map((s) => s.i).join(',')}`);
      for (let k = 1; k < segs.length; k++) if (segs[k].s < segs[k - 1].e - 0.5) a.overlaps.push(`${id}/${ch}/${segs[k - 1].i}-${segs[k].i}`);
    }
    const firsts = rows.filter((r) => r.r === 0).length;
    if (call && call.status !== 'ACTIVE' && call.segmentCount !== firsts) a.sealedNotStored.push(`${id}: sealed ${call.segmentCount}, stored ${firsts}`);
  }
  return a;
}

const ROWS_SQL = 'SELECT channel, segment_index AS i, revision AS r, start_ms AS s, end_ms AS e FROM segment_scores WHERE call_id = $1 ORDER BY channel, segment_index, revision';
const REPEATS_SQL = 'SELECT COUNT(*) AS n FROM segment_scores WHERE call_id = $1 GROUP BY channel, segment_index, revision HAVING COUNT(*) > 1';
const CALL_SQL = 'SELECT status, segment_count AS "segmentCount" FROM calls WHERE call_id = $1';

/** Reads the shared SQLite file: rows per key, index contiguity, span overlap, call status. */
export function audit(dbPath: string, callIds: string[]): Audit {
  // Not readonly: a read-only connection to a WAL database fails SQLITE_CANTOPEN when no
  // -shm file exists (after the servers closed it), which would hide the real state.
  const db = new Database(dbPath, { fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  const lite = (sql: string) => db.prepare(sql.replace('$1', '?'));
  try {
    return summarise(callIds.map((id) => ({
      id,
      call: lite(CALL_SQL).get(id) as StoredCall | undefined,
      rows: lite(ROWS_SQL).all(id) as StoredRow[],
      repeatedKeys: lite(REPEATS_SQL).all(id).length,
    })));
  } finally {
    db.close();
  }
}

/** The same audit on a PostgreSQL store (PG_URL); one short connection per call. */
export async function auditPg(url: string, callIds: string[]): Promise<Audit> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  await client.connect();
  try {
    const calls = [];
    for (const id of callIds) {
      const call = (await client.query<StoredCall>(CALL_SQL, [id])).rows[0];
      const rows = (await client.query<StoredRow>(ROWS_SQL, [id])).rows;
      const repeatedKeys = (await client.query(REPEATS_SQL, [id])).rowCount ?? 0;
      calls.push({ id, call, rows, repeatedKeys });
    }
    return summarise(calls);
  } finally {
    await client.end();
  }
}

/** The counts every fault test prints after the fault (see assertDelivered for what they must be). */
export function deliveryCounts(a: Audit, subscriber: { keys: string[] }): Record<string, number> {
  const received = new Set(subscriber.keys);
  const unpublished = [...a.keys].filter((k) => !received.has(k)).length;
  return { calls: a.calls, ended: a.ended, rows: a.rows, keysRepeated: a.keysRepeated, indexGaps: a.indexGaps.length, overlaps: a.overlaps.length, sealedNotStored: a.sealedNotStored.length, published: received.size, unpublished, subscriberEvents: subscriber.keys.length };
}

/**
 * The post-fault checks every fault test makes: every call ENDED, one row per key, indices
 * 0..n-1, no overlapping spans, every sealed segment stored, and every stored key received by
 * `subscriber` without errors.
 */
export function assertDelivered(a: Audit, subscriber: { keys: string[]; errors: unknown[] }): void {
  const received = new Set(subscriber.keys);
  assert.equal(a.ended, a.calls, 'every call ENDED');
  assert.equal(a.keysRepeated, 0, 'one row per key');
  assert.deepEqual(a.indexGaps, [], 'indices 0..n-1 on every channel');
  assert.deepEqual(a.overlaps, [], 'no media counted twice');
  assert.deepEqual(a.sealedNotStored, [], 'every sealed segment stored');
  assert.deepEqual([...a.keys].filter((k) => !received.has(k)), [], 'every stored score reached the subscriber');
  assert.deepEqual(subscriber.errors, [], 'the subscription saw no error');
}

/** Waits (at most `ms`) until `subscriber` received every key of `a`; never throws (the
 *  assertions in deliveryCounts report what is missing). */
export async function settlePublished(a: Audit, subscriber: { keys: string[] }, ms = 15_000): Promise<void> {
  await until(() => {
    const got = new Set(subscriber.keys);
    return [...a.keys].every((k) => got.has(k));
  }, ms, 'every stored key published').catch(() => undefined);
}

/** Halves (or any cut) of scripted calls: the chunks whose time is in [fromShare, toShare) of the call. */
export function slice(call: { chunks: TimedChunk[]; durationMs: number }, fromShare: number, toShare: number): TimedChunk[] {
  const lo = call.durationMs * fromShare;
  const hi = toShare >= 1 ? Infinity : call.durationMs * toShare;
  return call.chunks.filter((c) => c.atMs >= lo && c.atMs < hi);
}

/** Instances whose process has exited, each with its exit code/signal and last log lines. */
export function exitedInstances(instances: Instance[]): string[] {
  return instances.filter((i) => i.proc.exitCode !== null || i.proc.signalCode !== null)
    .map((i) => `${i.name} exited (${i.proc.exitCode ?? i.proc.signalCode}):\n${i.logs.slice(-40).join('\n')}`);
}

/**
 * Why each instance is not ready: its /readyz reasons and its last warn/error log lines (pino
 * level >= 40). For a failing readiness assertion, so the reason is in the test output.
 */
export async function notReadyReport(instances: Instance[]): Promise<string> {
  const parts: string[] = [];
  for (const i of instances) {
    let body = '';
    try {
      body = await (await fetch(i.url.replace(/\/graphql$/, '/readyz'))).text();
    } catch (e) {
      body = `unreachable: ${String(e)}`;
    }
    const bad = i.logs.filter((l) => /"level":(4|5|6)\d/.test(l)).slice(-15);
    parts.push(`${i.name} /readyz ${body}\n${bad.join('\n')}`);
  }
  return parts.join('\n');
}

/** SIGTERM each instance (15 s grace), then SIGKILL: what every fault test's `finally` does. */
export async function stopInstances(instances: Instance[]): Promise<void> {
  // FAULT_LOG_DIR set: every instance's log lines go to <dir>/<name>.log, for a failed run's post-mortem.
  const dir = process.env.FAULT_LOG_DIR;
  if (dir) {
    mkdirSync(dir, { recursive: true });
    for (const i of instances) writeFileSync(join(dir, `${i.name}.log`), `${i.logs.join('\n')}\n`);
  }
  // One that died on its own (not by the test's own kill) is the first thing to look at.
  for (const dead of exitedInstances(instances.filter((i) => !i.killedByTest))) console.log(`!! ${dead}`);
  for (const i of instances) {
    i.kill('SIGTERM');
    await Promise.race([i.exited, new Promise((r) => setTimeout(r, 15_000))]);
    i.kill('SIGKILL');
  }
}

/**
 * Sums of Prometheus samples from an instance's /metrics, keyed `name{labels}` as exposed
 * (e.g. `segments_scored_total{text="present",result="duplicate"}`); {} when it does not answer.
 */
export async function scrape(url: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  try {
    const text = await (await fetch(url.replace(/\/graphql$/, '/metrics'))).text();
    for (const line of text.split('\n')) {
      const m = /^([a-z_]+(?:\{[^}]*\})?) ([0-9.e+-]+|NaN)$/i.exec(line);
      if (m) out[m[1]] = Number(m[2]);
    }
  } catch {
    // not answering: no samples
  }
  return out;
}

/** Sum of every sample of `name` whose labels contain `labels` (e.g. 'result="duplicate"'). */
export function metricSum(samples: Record<string, number>, name: string, labels = ''): number {
  let n = 0;
  for (const [k, v] of Object.entries(samples)) if ((k === name || k.startsWith(`${name}{`)) && k.includes(labels)) n += v;
  return n;
}

/** GET a path on an instance; the status code (0 when it does not answer). */
export async function httpStatus(url: string, path: string): Promise<number> {
  try {
    return (await fetch(url.replace(/\/graphql$/, path))).status;
  } catch {
    return 0;
  }
}

/** The partition the producers here (murmur2 of the key) send a call to. */
import { partitionOfKey } from '../support/kafka.js';
export { partitionOfKey };

/** An instance's latest chunk assignment as its log says ("chunk partitions assigned"), as partition numbers; null before its first. */
export function assignmentOf(inst: Instance): number[] | null {
  for (let i = inst.logs.length - 1; i >= 0; i--) {
    const l = inst.logs[i];
    if (!l.includes('"chunk partitions assigned"')) continue;
    return ((JSON.parse(l) as { partitions: string[] }).partitions).map((k) => Number(k.slice(k.lastIndexOf('/') + 1))).sort((a, b) => a - b);
  }
  return null;
}

/** Waits until `instances` split all `partitions` between them, each holding at least one (the group settled). */
export async function untilSplit(instances: Instance[], partitions: number, ms = 60_000): Promise<number[][]> {
  let split: number[][] = [];
  await until(() => {
    split = instances.map((i) => assignmentOf(i) ?? []);
    const all = split.flat().sort((a, b) => a - b);
    return split.every((s) => s.length > 0) && all.length === partitions && all.every((p, k) => p === k);
  }, ms, `${instances.map((i) => i.name).join(' and ')} split the ${partitions} partitions`);
  return split;
}

/** Scripted calls (as scriptCalls) re-drawn until at least `min` of them land on `partitions`
 *  (of `total`), so a test that needs an instance to own calls does not depend on hashing luck. */
export function scriptCallsOn(n: number, name: string, partitions: number[], total: number, min: number): ReturnType<typeof scriptCalls> {
  for (let attempt = 0; attempt < 1000; attempt++) {
    const calls = scriptCalls(n, `${name}${attempt}`);
    if (calls.filter((c) => partitions.includes(partitionOfKey(c.callId, total))).length >= min) return calls;
  }
  throw new Error(`no draw of ${n} calls put ${min} on partitions ${partitions.join(',')}`);
}
