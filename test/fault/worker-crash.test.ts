/**
 * Fault: a scoring worker thread crashes mid-stream. The worker threads live inside the server
 * process, so this test runs the app in-process (test/integration's startApp: Kafka source on a
 * fresh topic, SQLite file) and ends a worker with the pool's drill hook
 * (`scorer.pool.kill(id)`: `worker.terminate()`, as an OOM kill or a native abort would end it).
 * Calls arrive in three parts; after each part the worker is killed while it holds a batch
 * (the batcher has segments queued, so the one worker is busy), and the next part is sent once
 * its replacement has stored something. The pool reruns the crashed batch once on the
 * replacement (src/score/pool.ts); the pipeline retries what still fails. Then: every call
 * ENDED, every segment stored exactly once, none given up, every stored score published.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { App } from '../../src/app/app.js';
import { type AppHandle, startApp } from '../integration/harness.js';
import { freshGroupId, freshTopic, testKafka } from '../support/kafka.js';
import { assertDelivered, audit, connectProducer, deliveryCounts, metricSum, prerequisites, scrape, scriptCalls, sendChunks, settlePublished, slice, subscribeAll, tempDir, until } from './harness.js';

/** Kills the scorer's current worker, preferably while it runs a batch; resolves once a
 *  replacement has been spawned. Returns whether a batch was queued behind it (so it was busy). */
async function crashWorker(app: App): Promise<boolean> {
  const pool = app.scorer.pool;
  assert.ok(pool, 'scorer started');
  const busy = await until(() => app.scorer.queueDepth() > 0, 20_000, 'a batch queued behind the busy worker').then(() => true, () => false);
  const [victim] = pool.workerIds();
  await pool.kill(victim);
  await until(() => pool.workerIds().some((id) => id > victim), 30_000, `a replacement for worker ${victim}`);
  return busy;
}

test('scoring worker crash mid-stream: every segment stored once and published, none given up', { timeout: 180_000 }, async (t) => {
  const brokers = await prerequisites(t);
  if (!brokers) return;
  const kafka = testKafka('fault-worker');
  const topic = await freshTopic('fault-worker', 4, {}, kafka);
  const tmp = tempDir('fault-worker');
  const calls = scriptCalls(6, 'worker');
  const ids = calls.map((c) => c.callId);
  const producer = await connectProducer(kafka);
  let handle: AppHandle | null = null;
  let sub: ReturnType<typeof subscribeAll> | null = null;
  try {
    handle = await startApp({ brokers, topic, group: freshGroupId('fault-worker'), dbPath: tmp.dbPath });
    const { app } = handle;
    await until(async () => (await app.readiness()).length === 0, 60_000, 'app ready');
    sub = subscribeAll(app.api.wsUrl);
    await new Promise((r) => setTimeout(r, 500));

    const parts: [number, number][] = [[0, 0.4], [0.4, 0.7], [0.7, 1]];
    const busyKills: boolean[] = [];
    let rowsAtKills: number[] = [];
    for (const [from, to] of parts) {
      for (const c of calls) await sendChunks(producer, topic, slice(c, from, to));
      const rows = audit(tmp.dbPath, ids).rows;
      rowsAtKills = [...rowsAtKills, rows];
      busyKills.push(await crashWorker(app));
      // The replacement works: something new is stored before the next part comes.
      await until(() => audit(tmp.dbPath, ids).rows > rows, 60_000, 'a score stored by the replacement worker');
    }

    await until(() => audit(tmp.dbPath, ids).ended === calls.length, 120_000, 'every call ENDED');
    await settlePublished(audit(tmp.dbPath, ids), sub);
    const m = await scrape(app.api.url);
    const final = audit(tmp.dbPath, ids);
    const counts = {
      kills: busyKills.length, killsWhileBusy: busyKills.filter(Boolean).length, rowsAtKills, workersNow: app.scorer.info().workers,
      ...deliveryCounts(final, sub),
      segmentsFailed: metricSum(m, 'segments_failed_total'), storedDuplicates: metricSum(m, 'segments_scored_total', 'result="duplicate"'),
    };
    console.log(`worker crash fault: ${JSON.stringify(counts)}`);
    assertDelivered(final, sub);
    assert.equal(counts.segmentsFailed, 0, 'no segment given up');
    assert.ok(counts.killsWhileBusy >= 1, 'at least one worker died holding a batch');
    assert.equal(counts.workersNow, 1, 'the pool is back to its size');
    assert.deepEqual(await app.readiness(), [], 'the app is still ready');
  } finally {
    await sub?.client.dispose();
    await producer.disconnect();
    await handle?.stop();
    tmp.cleanup();
  }
});
