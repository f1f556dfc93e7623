/**
 * Plays scripted calls in real time into any producer (the in-process source's push, or a Kafka
 * producer). `speed` > 1 plays faster than real time (tests); event times stay the script's.
 */
import { encodeChunk, type WireRecord } from '../../ingest/encode.js';
import type { FixtureCall } from './fixtures.js';
import { scriptCall, type ScriptOptions, type TimedChunk } from './script.js';

export type Send = (record: WireRecord) => Promise<void>;

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const onAbort = () => { clearTimeout(t); resolve(); };
    const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** Sends one scripted call; resolves after its last chunk (call_end) was sent. */
export async function playCall(chunks: TimedChunk[], send: Send, opts: { speed?: number; signal?: AbortSignal } = {}): Promise<void> {
  const speed = opts.speed ?? 1;
  const t0 = Date.now();
  for (const { atMs, chunk } of chunks) {
    if (opts.signal?.aborted) return;
    await sleep(atMs / speed - (Date.now() - t0), opts.signal);
    if (opts.signal?.aborted) return;
    await send(encodeChunk(chunk));
  }
}

export interface DemoOptions {
  fixtures: FixtureCall[];
  send: Send;
  /** Calls in progress at once (default 3). */
  concurrent?: number;
  tenant?: string;
  speed?: number;
  /** Calls to play in all; unlimited when absent (the demo loops forever). */
  totalCalls?: number;
  signal?: AbortSignal;
  onCallStart?: (callId: string, fixtureId: string) => void;
  /** Stream the fixtures' face features too (default false: a phone call, the common case,
   *  has no face stream, so the demo is audio plus transcript; DEMO_VIDEO=on in main). */
  video?: boolean;
  script?: Partial<ScriptOptions>;
}

/** Keeps `concurrent` calls in progress, cycling through the fixtures with fresh call ids. */
export async function runDemo(o: DemoOptions): Promise<void> {
  let started = 0;
  const lane = async (laneNo: number) => {
    // Stagger lanes so calls don't all start and end together.
    await sleep(laneNo * 1500 / (o.speed ?? 1), o.signal);
    while (!o.signal?.aborted && (o.totalCalls === undefined || started < o.totalCalls)) {
      const n = started++;
      const fixture = o.fixtures[n % o.fixtures.length];
      const callId = `demo-${fixture.id}-${Date.now().toString(36)}-${n}`;
      o.onCallStart?.(callId, fixture.id);
      const chunks = scriptCall(fixture, { callId, tenant: o.tenant, epochMs: Date.now(), seed: n + 1, video: o.video ?? false, ...o.script });
      await playCall(chunks, o.send, { speed: o.speed, signal: o.signal });
    }
  };
  await Promise.all(Array.from({ length: o.concurrent ?? 3 }, (_, i) => lane(i)));
}
