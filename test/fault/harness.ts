/**
 * Fault tests' harness: real server processes (`node --import tsx src/main.ts`) with env, on
 * loopback; calls produced to Kafka; a checker that reads the shared store and proves every
 * segment of every call is stored exactly once and was published.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { type Client, createClient } from 'graphql-ws';
import type { Kafka, Producer } from 'kafkajs';
import WebSocket from 'ws';
import { loadFixtureCalls } from '../../src/app/demo/fixtures.js';
import { scriptCall, type TimedChunk } from '../../src/app/demo/script.js';
import { repoRoot } from '../../src/app/paths.js';
import { encodeChunk } from '../../src/ingest/encode.js';
import { freshName, requireKafka, testProducer } from '../support/kafka.js';

export const EPOCH = 1_764_000_000_000;

/** Kafka reachable and a model exported, else fail (CI) or skip loudly. */
export async function prerequisites(t: TestContext): Promise<string[] | null> {
  if (!existsSync(join(repoRoot(), 'models', 'CURRENT'))) {
    if (process.env.CI === 'true') throw new Error('models/CURRENT is missing (CI=true)');
    console.warn('!! SKIPPING fault test: no exported model (models/CURRENT)');
    t.skip('no exported model');
    return null;
  }
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
  return { name, url, wsUrl: url.replace(/^http/, 'ws'), proc, logs, exited, kill: (s = 'SIGTERM') => void proc.kill(s) };
}

/** Env for a server on `brokers` / `topic` / `group` with its SQLite file at `dbPath`. */
export function serverEnv(o: { brokers: string[]; topic: string; group: string; dbPath: string }): Record<string, string> {
  return { KAFKA_BROKERS: o.brokers.join(','), KAFKA_TOPIC: o.topic, KAFKA_GROUP: o.group, DB_PATH: o.dbPath, DATA_DIR: join(o.dbPath, '..'), KAFKA_SESSION_TIMEOUT_MS: '6000', LAG_SAMPLE_MS: '1000' };
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
      acks: -1,
      messages: chunks.slice(i, i + 200).map((c) => {
        const r = encodeChunk(c.chunk);
        return { key: r.key, value: r.value, headers: r.headers as Record<string, string> };
      }),
    });
  }
}

export async function connectProducer(kafka: Kafka): Promise<Producer> {
  const p = testProducer(kafka, { idempotent: true, maxInFlightRequests: 1 });
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
  keys: Set<string>;
}

/** Reads the shared SQLite file: rows per key, index contiguity, span overlap, call status. */
export function audit(dbPath: string, callIds: string[]): Audit {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  try {
    const a: Audit = { calls: callIds.length, ended: 0, rows: 0, keysRepeated: 0, indexGaps: [], overlaps: [], keys: new Set() };
    for (const id of callIds) {
      const call = db.prepare('SELECT status FROM calls WHERE call_id = ?').get(id) as { status: string } | undefined;
      if (call?.status === 'ENDED') a.ended++;
      const rows = db.prepare('SELECT channel, segment_index AS i, revision AS r, start_ms AS s, end_ms AS e FROM segment_scores WHERE call_id = ? ORDER BY channel, segment_index, revision').all(id) as { channel: string; i: number; r: number; s: number; e: number }[];
      a.rows += rows.length;
      const perKey = db.prepare('SELECT COUNT(*) AS n FROM segment_scores WHERE call_id = ? GROUP BY channel, segment_index, revision HAVING n > 1').all(id);
      a.keysRepeated += perKey.length;
      for (const r of rows) a.keys.add(`${id}/${r.channel}/${r.i}/${r.r}`);
      const byChannel = new Map<string, { i: number; s: number; e: number }[]>();
      for (const r of rows) if (r.r === 0) byChannel.set(r.channel, [...(byChannel.get(r.channel) ?? []), r]);
      for (const [ch, segs] of byChannel) {
        if (!segs.every((s, k) => s.i === k)) a.indexGaps.push(`${id}/${ch}: ${segs.map((s) => s.i).join(',')}`);
        for (let k = 1; k < segs.length; k++) if (segs[k].s < segs[k - 1].e - 0.5) a.overlaps.push(`${id}/${ch}/${segs[k - 1].i}-${segs[k].i}`);
      }
    }
    return a;
  } finally {
    db.close();
  }
}

/** GET a path on an instance; the status code (0 when it does not answer). */
export async function httpStatus(url: string, path: string): Promise<number> {
  try {
    return (await fetch(url.replace(/\/graphql$/, path))).status;
  } catch {
    return 0;
  }
}
