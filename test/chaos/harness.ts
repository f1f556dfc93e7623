/**
 * The chaos harness: generated records interleaved with a good call, through the real decoder
 * (createDecoder, the server's options) and the real window (Windower, the server's options),
 * timing the synchronous work of each record (decode + accept: what runs on the event loop; the
 * scorer runs in worker threads) and of each tick. Rejections are dead-lettered the way the
 * server does (the record's copy, or a re-encoded copy for a chunk the window held), and every
 * record is accounted for: released (in a segment or without one) or dead-lettered with a code.
 */
import { writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { AppError } from '../../src/core/errors.js';
import type { RawChunk } from '../../src/core/ports.js';
import type { ChunkSourceRef, MediaChunk, Segment } from '../../src/core/types.js';
import { createDecoder } from '../../src/ingest/decode.js';
import { deadLetterRecord, reencodedRaw } from '../../src/ingest/dead-letter.js';
import { encodeChunk } from '../../src/ingest/encode.js';
import { Windower, type WindowEvent } from '../../src/window/windower.js';
import type { FuzzRecord } from './records.js';

/** The server's decode and window options for the shipped model (models/sdumc-v1 manifest). */
const MODEL = { sampleRate: 16000, maxSegmentMs: 12_000, maxVideoFrames: 120, videoFeatureDim: 24 };
/** Simulated wall time between ticks, ms (the pipeline ticks every 100 ms). */
const TICK_MS = 100;
/** CHAOS_TRACE=1: each record is described on stderr before it runs (finds a record that hangs). */
const TRACE = process.env.CHAOS_TRACE === '1';

export interface GoodChunk {
  /** ms after the call's start at which it is sent. */
  atMs: number;
  chunk: MediaChunk;
}

export interface ChaosResult {
  /** Fuzz records run. */
  fuzzed: number;
  /** Per-record (and per-tick) CPU time of the process, ms, unsorted: the budget's measure, since
   *  wall time on a shared machine also counts other processes' turns. */
  times: number[];
  /** The same, wall-clock ms. */
  wallTimes: number[];
  /** The record (or tick) with the most CPU time: its CPU and wall ms and what it was. */
  worst: { ms: number; wallMs: number; what: string };
  /** Dead letters by code (fuzz records; the good call must have none). */
  deadLettered: Map<string, number>;
  /** Fuzz records accepted (valid records of fuzz calls). */
  acceptedFuzz: number;
  /** Offsets neither released nor dead-lettered, or both, or twice (must be empty). */
  unaccounted: string[];
  /** Dead letters of the good call's records (must be empty). */
  goodRejected: string[];
  /** The good call's segments, comparable across runs (sources and seal time stripped). */
  goodSegments: Segment[];
}

function describe(r: FuzzRecord): string {
  const h = Object.entries(r.headers).map(([k, v]) => `${k}=${Buffer.isBuffer(v) ? `<${v.length} bytes>` : String(v).slice(0, 40)}`).join(' ');
  return `key=${r.key?.toString('utf8').slice(0, 20)} value=${r.value?.length ?? 0}B ${h}`;
}

/**
 * Runs `fuzz` interleaved with `good` (fuzz record i goes after good chunk `positions[i]`).
 * Every good chunk is sent at its `atMs`; the wall clock advances with them, ticking every 100 ms.
 */
export function runChaos(good: GoodChunk[], fuzz: FuzzRecord[], positions: number[]): ChaosResult {
  const decode = createDecoder({ modelSampleRate: MODEL.sampleRate, videoFeatureDim: MODEL.videoFeatureDim, defaultTenant: 'fuzz' });
  const window = new Windower({ sampleRate: MODEL.sampleRate, maxSegmentMs: MODEL.maxSegmentMs, maxVideoFrames: MODEL.maxVideoFrames });
  const goodTenant = good[0].chunk.tenant;
  const goodId = good[0].chunk.callId;
  const stream: { raw: FuzzRecord; atMs: number; fuzz: boolean }[] = [];
  const byPos = new Map<number, FuzzRecord[]>();
  fuzz.forEach((r, i) => {
    const p = Math.min(positions[i] ?? 0, good.length);
    byPos.set(p, [...(byPos.get(p) ?? []), r]);
  });
  for (let i = 0; i <= good.length; i++) {
    for (const r of byPos.get(i) ?? []) stream.push({ raw: r, atMs: good[Math.min(i, good.length - 1)].atMs, fuzz: true });
    if (i < good.length) stream.push({ raw: encodeChunk(good[i].chunk), atMs: good[i].atMs, fuzz: false });
  }

  const times: number[] = [];
  const wallTimes: number[] = [];
  let worst = { ms: 0, wallMs: 0, what: '' };
  const timed = <T>(fn: () => T): { value: T; ms: number; wallMs: number } => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const value = fn();
    const wallMs = performance.now() - t0;
    const c = process.cpuUsage(c0);
    return { value, ms: (c.user + c.system) / 1000, wallMs };
  };
  const deadLettered = new Map<string, number>();
  const outcome = new Map<string, string[]>(); // offset -> outcomes ('released' | code)
  const isFuzz = new Set<string>();
  const goodRejected: string[] = [];
  const goodSegments: Segment[] = [];
  const note = (ref: ChunkSourceRef, what: string) => outcome.set(ref.offset, [...(outcome.get(ref.offset) ?? []), what]);
  const deadLetter = (raw: RawChunk, error: AppError) => {
    deadLetterRecord(raw, error, 0); // built as the sinks build it
    note(raw.source, error.code);
    if (isFuzz.has(raw.source.offset)) deadLettered.set(error.code, (deadLettered.get(error.code) ?? 0) + 1);
    else goodRejected.push(`${raw.source.offset}: ${error.code} ${error.message}`);
  };
  const handle = (events: WindowEvent[], current: { chunk: MediaChunk; raw: RawChunk } | null) => {
    for (const ev of events) {
      if (ev.type === 'segment') {
        for (const r of ev.segment.sources) note(r, 'released');
        if (ev.segment.callId === goodId && ev.segment.tenant === goodTenant) goodSegments.push({ ...ev.segment, sources: [], sealedAtWallMs: 0 });
      } else if (ev.type === 'release') {
        for (const r of ev.refs) note(r, 'released');
      } else if (ev.type === 'rejected') {
        if (current && ev.chunk === current.chunk) deadLetter(current.raw, ev.error);
        else if (ev.chunk.source) deadLetter(reencodedRaw({ ...ev.chunk, source: ev.chunk.source }), ev.error);
      }
    }
  };

  let now = 0;
  let nextTick = TICK_MS;
  let offset = 0;
  for (const item of stream) {
    while (nextTick <= item.atMs) {
      now = nextTick;
      const { value: ev, ms, wallMs } = timed(() => window.tick(now));
      times.push(ms);
      wallTimes.push(wallMs);
      if (ms > worst.ms) worst = { ms, wallMs, what: `tick at ${now}` };
      handle(ev, null);
      nextTick += TICK_MS;
    }
    const raw: RawChunk = { ...item.raw, source: { topic: 'chaos', partition: 0, offset: String(offset++) } };
    if (item.fuzz) isFuzz.add(raw.source.offset);
    if (TRACE) writeSync(2, `${raw.source.offset} ${describe(item.raw)}\n`);
    let chunk: MediaChunk | null = null;
    let error: AppError | null = null;
    let events: WindowEvent[] = [];
    const { ms, wallMs } = timed(() => {
      try {
        chunk = decode(raw);
        events = window.accept(chunk, now);
      } catch (e) {
        if (!(e instanceof AppError)) throw e; // a crash is a finding, not a rejection
        error = e;
      }
    });
    if (item.fuzz) {
      times.push(ms);
      wallTimes.push(wallMs);
    }
    if (ms > worst.ms) worst = { ms, wallMs, what: describe(item.raw) };
    if (error) deadLetter(raw, error);
    else handle(events, { chunk: chunk!, raw });
  }
  handle(window.flush(now + 1), null);

  const unaccounted: string[] = [];
  let acceptedFuzz = 0;
  for (let i = 0; i < offset; i++) {
    const o = outcome.get(String(i)) ?? [];
    if (o.length !== 1) unaccounted.push(`${i}: ${o.join(',') || 'nothing'}`);
    else if (o[0] === 'released' && isFuzz.has(String(i))) acceptedFuzz++;
  }
  return { fuzzed: fuzz.length, times, wallTimes, worst, deadLettered, acceptedFuzz, unaccounted, goodRejected, goodSegments };
}

/** p-th percentile (0..100) of `xs`. */
export function percentile(xs: number[], p: number): number {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}
