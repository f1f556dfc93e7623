/**
 * Backlog replay benchmark (issue #13): N calls produced to Kafka while no server runs, all at
 * once (a flood: call i starts --stagger ms after call i-1), then one server (the real app, in
 * this process: ONNX scorer, SQLite store) reads the backlog. Prints calls ended / lost /
 * repeated, dead letters by code, peak RSS and the duration, and exits 1 when the audit fails.
 *
 *   KAFKA_BROKERS=127.0.0.1:9092 nice node --import tsx bench/backlog-replay.ts [--calls 1000]
 *       [--partitions 3] [--stagger 20] [--variants 5] [--audio-chunk-ms 200] [--video]
 *       [--open-budget SAMPLES] [--history-budget SAMPLES]   (window options; default: theirs)
 *
 * Audit (test/chaos/backlog.ts): every call ENDED; per channel, revision-0 segments 0..n-1 once
 * each, in order, not overlapping, n = the call's segmentCount; no key stored twice (store
 * answers 'duplicate' = 0); nothing dead-lettered; every offset committed. "lost" = calls not
 * ENDED + dead letters + segments missing from the count; "repeated" = duplicate store writes.
 */
import { parseArgs } from 'node:util';
import type { App } from '../src/app/app.js';
import type { KafkaSource } from '../src/ingest/kafka-source.js';
import { DEFAULT_WINDOW_OPTIONS } from '../src/window/options.js';
import { auditStore, backlog, produceAll } from '../test/chaos/backlog.js';
import { committedOffsets, endOffsets, fixtures, startApp, tempDb } from '../test/integration/harness.js';
import { freshGroupId, freshTopic, kafkaBrokers, testKafka } from '../test/support/kafka.js';

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '1000' },
    partitions: { type: 'string', default: '3' },
    stagger: { type: 'string', default: '20' },
    variants: { type: 'string', default: '5' },
    'audio-chunk-ms': { type: 'string', default: '200' },
    video: { type: 'boolean', default: false },
    'timeout-s': { type: 'string', default: '1800' },
    'open-budget': { type: 'string' },
    'history-budget': { type: 'string' },
  },
});
const CALLS = Number(values.calls);
const PARTITIONS = Number(values.partitions);
const mib = (b: number) => Math.round(b / 2 ** 20);
const secs = (ms: number) => (ms / 1000).toFixed(1);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function sum(metric: { get(): Promise<{ values: { value: number; labels: Record<string, unknown> }[] }> }, filter: (l: Record<string, unknown>) => boolean = () => true) {
  return (await metric.get()).values.filter((v) => filter(v.labels)).reduce((s, v) => s + v.value, 0);
}

async function closedCalls(app: App): Promise<number> {
  let n = 0;
  for (const status of ['ENDED', 'TIMED_OUT'] as const) n += (await app.store.listCalls({ tenant: 'demo', status, first: 1 })).totalCount;
  return n;
}

async function main(): Promise<void> {
  const brokers = kafkaBrokers();
  const kafka = testKafka('bench-backlog');
  const topic = await freshTopic('bench-backlog', PARTITIONS);
  const group = freshGroupId('bench-backlog');
  const b = backlog(fixtures(), CALLS, {
    prefix: topic, staggerMs: Number(values.stagger), variants: Number(values.variants), video: values.video, audioChunkMs: Number(values['audio-chunk-ms']),
  });
  let t = Date.now();
  await produceAll(kafka, topic, b.records());
  console.log(`produced ${b.size} records of ${CALLS} calls to ${topic} (${PARTITIONS} partitions) in ${secs(Date.now() - t)} s`);

  const { dbPath, cleanup } = tempDb('bench-backlog');
  const rssBefore = process.memoryUsage().rss;
  let peak = rssBefore;
  let peakArrayBuffers = 0;
  let peakUnreleased = 0;
  t = Date.now();
  const window = {
    maxOpenSamples: Number(values['open-budget'] ?? DEFAULT_WINDOW_OPTIONS.maxOpenSamples),
    historyBudget: Number(values['history-budget'] ?? DEFAULT_WINDOW_OPTIONS.historyBudget),
  };
  const h = await startApp({ brokers, topic, group, dbPath, overrides: { window } });
  const { app } = h;
  const source = app.source as KafkaSource;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peak = Math.max(peak, m.rss);
    peakArrayBuffers = Math.max(peakArrayBuffers, m.arrayBuffers);
    let unreleased = 0;
    for (let p = 0; p < PARTITIONS; p++) unreleased += source.inFlight(topic, p);
    peakUnreleased = Math.max(peakUnreleased, unreleased);
  }, 100);
  const deadline = Date.now() + Number(values['timeout-s']) * 1000;
  let last = 0;
  for (;;) {
    const closed = await closedCalls(app);
    if (closed === CALLS && app.pipeline.inFlightCount() === 0) break;
    if (Date.now() > deadline) throw new Error(`timed out: ${closed}/${CALLS} calls closed`);
    if (Date.now() - last > 15_000) {
      last = Date.now();
      const m = process.memoryUsage();
      console.log(`  ${secs(Date.now() - t)} s: ${closed}/${CALLS} calls closed, rss ${mib(m.rss)} MiB (peak ${mib(peak)}), heap ${mib(m.heapUsed)} MiB, array buffers ${mib(m.arrayBuffers)} MiB`);
    }
    await sleep(500);
  }
  const drainedMs = Date.now() - t;
  const ends = await endOffsets(kafka, topic);
  let committedAll = false;
  for (let i = 0; i < 60 && !committedAll; i++) {
    const c = await committedOffsets(kafka, group, topic);
    committedAll = [...ends].every(([p, e]) => c.get(p) === e);
    if (!committedAll) await sleep(500);
  }
  clearInterval(sampler);

  const audit = await auditStore(app.store, b.calls, 'demo');
  const dead = (await app.metrics.deadLetters.get()).values.filter((v) => v.value > 0).map((v) => `${String(v.labels.code)}=${v.value}`);
  const deadTotal = await sum(app.metrics.deadLetters);
  const repeated = await sum(app.metrics.segmentsScored, (l) => l.result === 'duplicate');
  const inserted = await sum(app.metrics.segmentsScored, (l) => l.result === 'inserted');
  await h.stop();
  cleanup();

  const lost = audit.notEnded.length + deadTotal + audit.problems.length;
  const budget = window.maxOpenSamples;
  console.log(`calls ended ${audit.ended}/${CALLS}; lost ${lost} (calls not ENDED ${audit.notEnded.length}, dead letters ${deadTotal}${dead.length ? ` [${dead.join(' ')}]` : ''}, audit problems ${audit.problems.length}); repeated ${repeated}`);
  console.log(`rows ${audit.rows} (inserted ${inserted}); every offset committed: ${committedAll}`);
  console.log(`duration ${secs(drainedMs)} s (app start to every call closed and stored); ${Math.round(inserted / (drainedMs / 1000))} rows/s`);
  console.log(`peak RSS ${mib(peak)} MiB (before the app started ${mib(rssBefore)} MiB; peak array buffers ${mib(peakArrayBuffers)} MiB); open-window bound ${budget.toLocaleString('en')} samples (${mib(budget * 4)} MiB) per partition window x ${PARTITIONS}`);
  console.log(`peak unreleased records (all partitions) ${peakUnreleased.toLocaleString('en')}; history bound ${window.historyBudget.toLocaleString('en')} samples per partition window`);
  for (const p of audit.problems.slice(0, 10)) console.log(`  problem: ${p}`);
  for (const c of audit.notEnded.slice(0, 10)) console.log(`  not ended: ${c}`);
  const ok = lost === 0 && repeated === 0 && committedAll && audit.ended === CALLS;
  console.log(ok ? 'OK' : 'FAILED');
  process.exit(ok ? 0 : 1);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
