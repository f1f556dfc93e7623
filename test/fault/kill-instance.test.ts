/**
 * Fault: `kill -9` one of two instances mid-stream. Two server processes share the chunk topic's
 * partitions (one consumer group) and one store; a subscriber on the survivor must see every
 * call, whichever instance scored it. One instance is killed while calls are half sent; the
 * survivor takes its partitions over (session timeout 6 s), continues its calls from storage,
 * and the rest is sent. Then: every call ENDED, every segment stored exactly once (one row per
 * key, indices 0..n-1 per channel, no overlapping spans), every stored score published to the
 * survivor's subscriber, and the survivor still ready.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freshGroupId, freshTopic, testKafka } from '../support/kafka.js';
import { assertDelivered, audit, connectProducer, deliveryCounts, httpStatus, type Instance, partitionOfKey, prerequisites, scriptCallsOn, sendChunks, serverEnv, settlePublished, startInstance, stopInstances, subscribeAll, tempDir, until, untilSplit } from './harness.js';

test('kill -9 of one of two instances mid-stream: every segment stored once and published, the survivor serves on', { timeout: 180_000 }, async (t) => {
  const brokers = await prerequisites(t);
  if (!brokers) return;
  const kafka = testKafka('fault-kill');
  const topic = await freshTopic('fault-kill', 4, {}, kafka);
  const group = freshGroupId('fault-kill');
  const tmp = tempDir('fault-kill');
  const env = serverEnv({ brokers, topic, group, dbPath: tmp.dbPath });
  const instances: Instance[] = [];
  const producer = await connectProducer(kafka);
  let sub: ReturnType<typeof subscribeAll> | null = null;
  try {
    const victim = await startInstance('victim', env);
    instances.push(victim);
    const survivor = await startInstance('survivor', env);
    instances.push(survivor);
    await until(async () => (await httpStatus(victim.url, '/readyz')) === 200 && (await httpStatus(survivor.url, '/readyz')) === 200, 60_000, 'both ready');
    // The group settled: the two split the 4 partitions (the first join gives the victim all 4).
    const [victimParts] = await untilSplit([victim, survivor], 4);
    // Calls drawn so that 2 of them are the victim's (hashing alone leaves it none 1 time in 64),
    // and the kill waits until the victim stored a score of one of them: before, it waited for 8
    // rows of any call and could kill a victim that had stored nothing (handedOver 0).
    const calls = scriptCallsOn(6, 'kill', victimParts, 4, 2);
    const victimCalls = calls.filter((c) => victimParts.includes(partitionOfKey(c.callId, 4))).map((c) => c.callId);
    sub = subscribeAll(survivor.wsUrl);
    await new Promise((r) => setTimeout(r, 500));

    for (const c of calls) await sendChunks(producer, topic, c.chunks.filter((x) => x.atMs < c.durationMs / 2));
    await until(() => audit(tmp.dbPath, victimCalls).rows >= 1, 90_000, 'the victim stored a score of its own');
    const before = audit(tmp.dbPath, calls.map((c) => c.callId));
    victim.kill('SIGKILL');
    await victim.exited;
    for (const c of calls) await sendChunks(producer, topic, c.chunks.filter((x) => x.atMs >= c.durationMs / 2));

    const ids = calls.map((c) => c.callId);
    await until(() => audit(tmp.dbPath, ids).ended === calls.length, 120_000, 'every call ENDED on the survivor');
    await settlePublished(audit(tmp.dbPath, ids), sub); // last publishes reach the subscriber
    const handedOver = survivor.logs.filter((l) => l.includes('call met mid-way')).length;
    const a = audit(tmp.dbPath, ids);
    console.log(`kill -9 fault: ${JSON.stringify({ handedOver, rowsBeforeKill: before.rows, ...deliveryCounts(a, sub) })}`);
    assertDelivered(a, sub);
    assert.ok(handedOver >= 1, 'the survivor continued at least one of the victim\'s calls from storage');
    assert.equal(await httpStatus(survivor.url, '/readyz'), 200, 'the survivor is still ready');
  } finally {
    await sub?.client.dispose();
    await producer.disconnect();
    await stopInstances(instances);
    tmp.cleanup();
  }
});
