/**
 * Fault: the server stops (SIGTERM) while calls are ACTIVE, and is started again with no more
 * chunks of them coming (issue #13, finding 8). A graceful stop seals and stores every open
 * segment and commits the offsets, so after the restart no chunk of those calls is ever read
 * again: no window meets them and, before the stale-call sweeper (src/store/stale-calls.ts),
 * they stayed ACTIVE forever. Now the restarted instance ends each one TIMED_OUT, at the end of
 * its last stored segment (where the window's own idle timeout would have ended it), once it has
 * caught up with its partitions and the calls were idle for the window's idle timeout (30 s).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { freshGroupId, freshTopic, testKafka } from '../support/kafka.js';
import { audit, connectProducer, type Instance, prerequisites, scriptCalls, sendChunks, serverEnv, slice, startInstance, stopInstances, tempDir, until } from './harness.js';

test('calls ACTIVE when the server stopped end TIMED_OUT at their last stored segment after a restart', { timeout: 240_000 }, async (t) => {
  const brokers = await prerequisites(t);
  if (!brokers) return;
  const kafka = testKafka('fault-active');
  const topic = await freshTopic('fault-active', 2, {}, kafka);
  const tmp = tempDir('fault-active');
  const env = serverEnv({ brokers, topic, group: freshGroupId('fault-active'), dbPath: tmp.dbPath });
  const calls = scriptCalls(3, 'active');
  const ids = calls.map((c) => c.callId);
  const instances: Instance[] = [];
  const producer = await connectProducer(kafka);
  try {
    const first = await startInstance('first', env);
    instances.push(first);
    await until(() => first.logs.some((l) => l.includes('"chunk partitions assigned"') && !l.includes('"partitions":[]')), 60_000, 'first owns partitions');
    for (const c of calls) await sendChunks(producer, topic, slice(c, 0, 0.5));
    await until(() => audit(tmp.dbPath, ids).rows >= ids.length * 2, 120_000, 'scores of every call stored');
    first.kill('SIGTERM');
    await first.exited;
    const stopped = readCalls(tmp.dbPath, ids);
    assert.deepEqual(stopped.map((c) => c.status), ids.map(() => 'ACTIVE'), 'the stop left the calls ACTIVE');

    const second = await startInstance('second', env);
    instances.push(second);
    await until(() => readCalls(tmp.dbPath, ids).every((c) => c.status !== 'ACTIVE'), 150_000, 'every call ended after the restart');
    const ended = readCalls(tmp.dbPath, ids);
    const swept = second.logs.filter((l) => l.includes('call left ACTIVE by a stopped owner')).length;
    console.log(`restart-active: ${JSON.stringify({ calls: ids.length, swept, ended: ended.map((c) => ({ status: c.status, endedAtMs: c.endedAtMs, lastEndMs: c.lastEndMs })) })}`);
    for (const c of ended) {
      assert.equal(c.status, 'TIMED_OUT');
      assert.equal(c.endedAtMs, c.lastEndMs, 'ended at the end of its last stored segment');
    }
    assert.equal(swept, ids.length, 'the restarted instance ended them (no chunk of them was read again)');
  } finally {
    await producer.disconnect();
    await stopInstances(instances);
    tmp.cleanup();
  }
});

function readCalls(dbPath: string, ids: string[]): { status: string; endedAtMs: number | null; lastEndMs: number | null }[] {
  const db = new Database(dbPath, { fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  try {
    return ids.map((id) => db.prepare(
      `SELECT status, ended_at_ms AS endedAtMs, (SELECT MAX(end_ms) FROM segment_scores s WHERE s.call_id = c.call_id) AS lastEndMs
       FROM calls c WHERE call_id = ?`,
    ).get(id) as { status: string; endedAtMs: number | null; lastEndMs: number | null });
  } finally {
    db.close();
  }
}
