/**
 * Fault: PostgreSQL restarts mid-stream. Two server processes in one consumer group store into a
 * private PostgreSQL cluster (scripts/postgres.sh on a free port, never the shared one; PG_URL);
 * a subscriber sits on the second instance. The first half of every call is sent; once scores
 * are being stored the cluster is stopped (fast shutdown: open sessions are cut), the second half
 * is sent while it is down, and after a few seconds it is started again on the same data. While
 * it is down both instances answer /readyz 503 and the pipeline retries STORE_UNAVAILABLE (offsets
 * stay uncommitted). Then: every call ENDED, every segment stored exactly once, every stored score
 * published to the subscriber, both instances ready again.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freshGroupId, freshTopic, testKafka } from '../support/kafka.js';
import { assertDelivered, auditPg, connectProducer, deliveryCounts, exitedInstances, httpStatus, type Instance, metricSum, prerequisites, scrape, scriptCalls, sendChunks, serverEnv, settlePublished, slice, startInstance, stopInstances, subscribeAll, tempDir, until } from './harness.js';
import { privatePostgres } from './harness-services.js';

/** How long the cluster stays down (ms): long enough that scoring goes on against a dead store. */
const DOWN_MS = 4_000;

test('PostgreSQL restart mid-stream: STORE_UNAVAILABLE retried, every segment stored once and published, both ready after', { timeout: 180_000 }, async (t) => {
  const brokers = await prerequisites(t);
  if (!brokers) return;
  const pg = await privatePostgres(t);
  if (!pg) return;
  const kafka = testKafka('fault-pg');
  const topic = await freshTopic('fault-pg', 4, {}, kafka);
  const tmp = tempDir('fault-pg');
  const env = { ...serverEnv({ brokers, topic, group: freshGroupId('fault-pg'), dbPath: tmp.dbPath }), PG_URL: pg.url };
  const calls = scriptCalls(6, 'pg');
  const ids = calls.map((c) => c.callId);
  const instances: Instance[] = [];
  const producer = await connectProducer(kafka);
  let sub: ReturnType<typeof subscribeAll> | null = null;
  try {
    instances.push(await startInstance('a', env)); // first alone: it runs the migrations
    instances.push(await startInstance('b', env));
    const [a, b] = instances;
    await until(async () => (await httpStatus(a.url, '/readyz')) === 200 && (await httpStatus(b.url, '/readyz')) === 200, 60_000, 'both ready');
    sub = subscribeAll(b.wsUrl);
    await new Promise((r) => setTimeout(r, 500));

    for (const c of calls) await sendChunks(producer, topic, slice(c, 0, 0.5));
    await until(async () => (await auditPg(pg.url, ids)).rows >= 8, 90_000, 'some scores stored');
    const before = await auditPg(pg.url, ids);
    const stopMs = await pg.stop();
    const downAt = Date.now();
    for (const c of calls) await sendChunks(producer, topic, slice(c, 0.5, 1));
    const readyWhileDown = [await httpStatus(a.url, '/readyz'), await httpStatus(b.url, '/readyz')];
    await new Promise((r) => setTimeout(r, Math.max(0, DOWN_MS - (Date.now() - downAt))));
    const startMs = await pg.start();
    const downMs = Date.now() - downAt; // from stopped to accepting connections again

    await until(async () => (await auditPg(pg.url, ids)).ended === calls.length, 120_000, 'every call ENDED');
    await settlePublished(await auditPg(pg.url, ids), sub);
    const ready = await until(async () => (await httpStatus(a.url, '/readyz')) === 200 && (await httpStatus(b.url, '/readyz')) === 200, 30_000, 'both ready after the restart').then(() => true, () => false);
    const m = await Promise.all(instances.map((i) => scrape(i.url)));
    const sum = (name: string, labels?: string) => m.reduce((n, s) => n + metricSum(s, name, labels), 0);
    const final = await auditPg(pg.url, ids);
    const delivered = deliveryCounts(final, sub);
    const retryLogs = instances.reduce((n, i) => n + i.logs.filter((l) => l.includes('store failed, retrying')).length, 0);
    const counts = {
      pgStopMs: stopMs, pgDownMs: downMs, pgStartMs: startMs, readyWhileDown, rowsBeforeRestart: before.rows,
      ...delivered,
      storeErrors: sum('store_errors_total', 'code="STORE_UNAVAILABLE"'), storeRetryLogLines: retryLogs,
      storedDuplicates: sum('segments_scored_total', 'result="duplicate"'), segmentsFailed: sum('segments_failed_total'), ready,
    };
    console.log(`PostgreSQL restart fault: ${JSON.stringify(counts)}`);
    assert.deepEqual(exitedInstances(instances), [], 'no instance exited');
    assertDelivered(final, sub);
    assert.deepEqual(readyWhileDown, [503, 503], 'both instances report not ready while the store is down');
    assert.ok(counts.storeErrors >= 1, 'the pipeline met STORE_UNAVAILABLE and retried');
    assert.equal(counts.segmentsFailed, 0, 'no segment given up');
    assert.ok(delivered.rows > before.rows, 'scores were stored after the restart');
    assert.ok(ready, 'both instances are ready again after the restart');
  } finally {
    await sub?.client.dispose();
    await producer.disconnect();
    await stopInstances(instances);
    tmp.cleanup();
  }
});
