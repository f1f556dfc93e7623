/**
 * Backlog replay (issue #13, finding 3): calls produced to Kafka while no server ran, all at once
 * (a flood), then one server reads them. Every call must end ENDED with every segment stored
 * once, nothing dead-lettered and every offset committed: no pause may wait on records behind it.
 *
 * Before the fix the source paused a partition at 2,000 unreleased records, but records in open
 * windows are released only when later chunks of their calls (behind the pause) seal them: every
 * call here then ended TIMED_OUT after the idle timeout and its later chunks were dead-lettered
 * CHUNK_UNKNOWN_CALL. The second test makes the window's open-window budget tiny, so calls are
 * sealed early to make room (per-call release) and still nothing is lost or stored twice.
 *
 * Real Kafka (one-partition fresh topic, so every call shares one partition and one window),
 * the real app (ONNX scorer, SQLite store). The 1,000-call version is bench/backlog-replay.ts.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { WindowOptionsInput } from '../../src/window/options.js';
import { repoRoot } from '../../src/app/paths.js';
import { createDecoder } from '../../src/ingest/decode.js';
import { freshGroupId, freshTopic, requireKafka } from '../support/kafka.js';
import { committedOffsets, endOffsets, fixtures, startApp, tempDb, testKafka, until } from '../integration/harness.js';
import { auditStore, backlog, expectedAlone, produceAll } from './backlog.js';

/** 40 calls at once in 100 ms audio chunks: ~5,000 records held in open windows at a time. */
const CALLS = 40;
const AUDIO_CHUNK_MS = 100;
/** The budget case makes ~2.5x as many (shorter) segments: fewer calls keep it quick. */
const BUDGET_CALLS = 24;

async function prerequisites(t: TestContext): Promise<string[] | null> {
  if (!existsSync(join(repoRoot(), 'models', 'CURRENT'))) {
    if (process.env.CI === 'true') throw new Error('models/CURRENT is missing (CI=true): the exported model is needed');
    t.skip('no exported model');
    return null;
  }
  return requireKafka(t);
}

async function replay(t: TestContext, name: string, calls: number, window: WindowOptionsInput, alone: boolean): Promise<void> {
  const brokers = await prerequisites(t);
  if (!brokers) return;
  const kafka = testKafka(`chaos-${name}`);
  const topic = await freshTopic(`chaos-${name}`, 1);
  const group = freshGroupId(`chaos-${name}`);
  const b = backlog(fixtures(), calls, { prefix: topic, audioChunkMs: AUDIO_CHUNK_MS });
  await produceAll(kafka, topic, b.records());

  const { dbPath, cleanup } = tempDb(`chaos-${name}`);
  t.after(cleanup);
  const h = await startApp({ brokers, topic, group, dbPath, overrides: { window } });
  t.after(() => h.stop());
  const { app } = h;
  const open = async () => {
    let n = 0;
    for (const c of b.calls) if (((await app.store.getCall(c.callId, 'demo'))?.status ?? 'ACTIVE') === 'ACTIVE') n++;
    return n;
  };
  // Ends when every call is closed either way; before the fix they all time out (30 s idle).
  await until(async () => (await open()) === 0 && app.pipeline.inFlightCount() === 0, 150_000, 'every call closed');
  const manifest = app.scorer.manifest();
  const expected = expectedAlone(b.calls, { ...window, sampleRate: manifest.audio.sampleRate, maxSegmentMs: (manifest.audio.maxSamples / manifest.audio.sampleRate) * 1000, maxVideoFrames: manifest.video.maxFrames },
    createDecoder({ modelSampleRate: manifest.audio.sampleRate, videoFeatureDim: manifest.video.featureDim }));
  const audit = await auditStore(app.store, b.calls, 'demo', alone ? expected : undefined);
  const deadByCode = (await app.metrics.deadLetters.get()).values.filter((v) => v.value > 0).map((v) => `${String(v.labels.code)}=${v.value}`);
  const dead = (await app.metrics.deadLetters.get()).values.reduce((s, v) => s + v.value, 0);
  const repeats = (await app.metrics.segmentsScored.get()).values.filter((v) => v.labels.result === 'duplicate').reduce((s, v) => s + v.value, 0);
  console.log(`backlog ${name}: ${b.size} records, ${audit.ended}/${audit.calls} calls ENDED, ${audit.rows} rows, ${dead} dead letters [${deadByCode.join(' ')}], ${repeats} repeated`);
  assert.deepEqual(audit.notEnded, [], 'every call ENDED');
  assert.equal(dead, 0, 'nothing dead-lettered');
  assert.equal(repeats, 0, 'no score stored twice');
  assert.deepEqual(audit.problems, []);
  const aloneRows = [...expected.values()].reduce((n, keys) => n + keys.length, 0);
  if (alone) assert.equal(audit.rows, aloneRows);
  else assert.ok(audit.rows > aloneRows, `sealed early: ${audit.rows} rows, ${aloneRows} when each call runs alone`);
  const end = (await endOffsets(kafka, topic)).get(0);
  await until(async () => (await committedOffsets(kafka, group, topic)).get(0) === end, 20_000, `every record committed (log end ${end})`);
}

test('a flood of calls replayed from a backlog: every call ENDED, each segment once, as if alone', { timeout: 240_000 }, async (t) => {
  await replay(t, 'flood', CALLS, {}, true);
});

test('with a tiny open-window budget, calls are sealed early to make room and nothing is lost', { timeout: 240_000 }, async (t) => {
  // ~7 calls' worth of unsealed audio (2 channels x 14 s x 16 kHz each) for 24 calls at once:
  // each call is sealed every ~4 s of its audio instead of at its utterances' ends.
  await replay(t, 'budget', BUDGET_CALLS, { maxOpenSamples: 3_000_000 }, false);
});
