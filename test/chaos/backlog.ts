/**
 * A backlog of calls, as Kafka holds it after an outage: many scripted fixture calls produced
 * interleaved by send time (all running at once), then read by a server that starts afterwards.
 * Shared by the CI test (test/chaos/backlog-replay.test.ts) and the 1,000-call benchmark
 * (bench/backlog-replay.ts), so both judge a replay by the same audit:
 * - every call ENDED (none TIMED_OUT, none left ACTIVE);
 * - per (call, channel): revision-0 rows with indices 0..n-1, each once, spans in order and not
 *   overlapping, n in all = the call's segmentCount; no key stored twice (store 'duplicate' = 0);
 * - nothing dead-lettered, and the group committed every record (committed = log end);
 * - optionally, every segment exactly as the window cuts the call when it runs alone.
 */
import type { Kafka } from '../../src/kafka/client.js';
import type { RawChunk, ScoreStore } from '../../src/core/ports.js';
import type { MediaChunk, SegmentScore } from '../../src/core/types.js';
import type { FixtureCall } from '../../src/app/demo/fixtures.js';
import { scriptCall } from '../../src/app/demo/script.js';
import { encodeChunk, type WireRecord } from '../../src/ingest/encode.js';
import { Windower } from '../../src/window/windower.js';
import type { WindowOptionsInput } from '../../src/window/options.js';
import { testProducer } from '../support/kafka.js';

const EPOCH = 1_764_000_000_000;

export interface BacklogCall {
  callId: string;
  /** The call's chunks in send order (built on demand: a 1,000-call backlog is not held at once). */
  chunks(): MediaChunk[];
}

export interface Backlog {
  calls: BacklogCall[];
  /** How many records in all. */
  size: number;
  /** Every call's records, interleaved by send time (call i starts `staggerMs` x i later), encoded as they are read. */
  records(): Iterable<WireRecord>;
}

/**
 * `n` calls over the fixtures, `staggerMs` apart (default 50: all running at once, as a flood).
 * Call i follows script i mod `variants` (default n: each its own), script v being fixture
 * v mod 5 with seed v + 1, under its own id and start time. Video off unless asked (halves the
 * records); audio chunks of `audioChunkMs` (default 200, the script's).
 */
export function backlog(fixtures: FixtureCall[], n: number, o: { prefix: string; staggerMs?: number; video?: boolean; audioChunkMs?: number; variants?: number }): Backlog {
  const stagger = o.staggerMs ?? 50;
  const variants = Math.min(n, o.variants ?? n);
  const scripts = Array.from({ length: variants }, (_, v) =>
    scriptCall(fixtures[v % fixtures.length], { callId: 'template', epochMs: EPOCH, seed: v + 1, video: o.video ?? false, audioChunkMs: o.audioChunkMs }));
  const callIds = Array.from({ length: n }, (_, i) => `${o.prefix}-${String(i).padStart(4, '0')}`);
  const chunkOf = (i: number, k: number): MediaChunk => {
    const c = scripts[i % variants][k].chunk;
    return { ...c, callId: callIds[i], eventTimeMs: c.eventTimeMs + i * stagger };
  };
  // Send order over all calls: (send time, call, chunk), ties in call order.
  const order: [number, number, number][] = [];
  for (let i = 0; i < n; i++) scripts[i % variants].forEach((c, k) => order.push([i * stagger + c.atMs, i, k]));
  order.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
  return {
    calls: callIds.map((callId, i) => ({ callId, chunks: () => scripts[i % variants].map((_, k) => chunkOf(i, k)) })),
    size: order.length,
    *records() {
      for (const [, i, k] of order) yield encodeChunk(chunkOf(i, k));
    },
  };
}

/** Produces records in order, ~512 KB per request (key = call id picks the partition). */
export async function produceAll(kafka: Kafka, topic: string, records: Iterable<WireRecord>): Promise<void> {
  const producer = testProducer(kafka, { idempotent: true });
  await producer.connect();
  const send = (batch: WireRecord[]) => producer.send({
    topic,
    messages: batch.map((r) => ({ key: r.key, value: r.value, headers: r.headers as Record<string, string> })),
  });
  try {
    let batch: WireRecord[] = [];
    let bytes = 0;
    for (const r of records) {
      if (batch.length && bytes + r.value.length >= 512_000) {
        await send(batch);
        batch = [];
        bytes = 0;
      }
      batch.push(r);
      bytes += r.value.length;
    }
    if (batch.length) await send(batch);
  } finally {
    await producer.disconnect();
  }
}

/** A segment as the audit compares it. */
export interface SegmentKey {
  channel: string;
  index: number;
  revision: number;
  startMs: number;
  endMs: number;
}

const keyOf = (s: SegmentKey): string => `${s.channel}/${s.index}/${s.revision}/${s.startMs}/${s.endMs}`;

/**
 * What the window makes of each call when it runs alone (same options, same decoder, no other
 * call sharing its bounds): the segments a replay must store, each once.
 */
export function expectedAlone(calls: BacklogCall[], window: WindowOptionsInput, decode: (raw: RawChunk) => MediaChunk): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const call of calls) {
    const w = new Windower(window);
    const keys: string[] = [];
    call.chunks().forEach((chunk, i) => {
      const raw: RawChunk = { ...encodeChunk(chunk), source: { topic: 'alone', partition: 0, offset: String(i) } };
      for (const ev of w.accept(decode(raw), 0)) {
        if (ev.type === 'segment') {
          const s = ev.segment;
          keys.push(keyOf({ channel: s.channel, index: s.index, revision: s.revision, startMs: s.startMs, endMs: s.endMs }));
        }
        if (ev.type === 'rejected') throw new Error(`alone, ${call.callId} rejects seq ${ev.chunk.seq}: ${ev.error.code}`);
      }
    });
    out.set(call.callId, keys.sort());
  }
  return out;
}

export interface Audit {
  calls: number;
  ended: number;
  /** Calls not ENDED, with their status. */
  notEnded: string[];
  rows: number;
  /** Broken invariants, one line each (empty when the replay is clean). */
  problems: string[];
}

/** Every row of a call, all revisions. */
async function allRows(store: ScoreStore, callId: string, tenant: string): Promise<SegmentScore[]> {
  const rows: SegmentScore[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await store.getSegments({ callId, tenant, first: 100, after, latestOnly: false });
    rows.push(...page.items.map((e) => e.node));
    if (!page.hasNextPage) return rows;
    after = page.endCursor ?? undefined;
  }
}

/** Reads the store and checks the replay's invariants (see the file comment). */
export async function auditStore(store: ScoreStore, calls: BacklogCall[], tenant: string, expected?: Map<string, string[]>): Promise<Audit> {
  const a: Audit = { calls: calls.length, ended: 0, notEnded: [], rows: 0, problems: [] };
  for (const { callId } of calls) {
    const info = await store.getCall(callId, tenant);
    if (info?.status === 'ENDED') a.ended++;
    else a.notEnded.push(`${callId}: ${info?.status ?? 'missing'}`);
    const rows = await allRows(store, callId, tenant);
    a.rows += rows.length;
    const seen = new Set<string>();
    const byChannel = new Map<string, SegmentScore[]>();
    for (const r of rows) {
      const k = `${r.channel}/${r.segmentIndex}/${r.revision}`;
      if (seen.has(k)) a.problems.push(`${callId}: ${k} stored twice`);
      seen.add(k);
      if (r.revision === 0) byChannel.set(r.channel, [...(byChannel.get(r.channel) ?? []), r]);
    }
    let firsts = 0;
    for (const [channel, list] of byChannel) {
      list.sort((x, y) => x.segmentIndex - y.segmentIndex);
      firsts += list.length;
      list.forEach((r, i) => {
        if (r.segmentIndex !== i) a.problems.push(`${callId}/${channel}: index ${r.segmentIndex} where ${i} was due`);
        if (i > 0 && r.startMs < list[i - 1].endMs) a.problems.push(`${callId}/${channel}: segment ${i} overlaps ${i - 1}`);
      });
    }
    if (info && firsts !== info.segmentCount) a.problems.push(`${callId}: ${firsts} segments stored, call says ${info.segmentCount}`);
    const want = expected?.get(callId);
    if (want) {
      const got = rows.map((r) => keyOf({ channel: r.channel, index: r.segmentIndex, revision: r.revision, startMs: r.startMs, endMs: r.endMs })).sort();
      const missing = want.filter((k) => !got.includes(k));
      const extra = got.filter((k) => !want.includes(k));
      if (missing.length || extra.length) a.problems.push(`${callId}: not cut as alone: missing [${missing.join(' ')}] extra [${extra.join(' ')}]`);
    }
  }
  return a;
}
