/**
 * The Kafka every integration test uses: a produce -> consume round trip on a fresh topic keeps
 * keys, values, headers and per-key order, a key lands on the partition the tests compute
 * (murmur2), and fresh topics/groups are what they claim to be.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Consumer, Producer } from '../../src/kafka/client.js';
import { FRESH_TOPIC, freshGroupId, freshName, freshTopic, partitionOfKey, requireKafka, testKafka, testProducer } from '../support/kafka.js';

test('the stale-topic sweep matches fresh topics and the topics the app derives from them, nothing else', () => {
  const name = freshName('sweep');
  for (const derived of [name, `${name}.dlq`, `${name}.scores`]) assert.match(derived, FRESH_TOPIC);
  assert.equal(FRESH_TOPIC.exec(`${name}.scores`)?.[1], name.split('-').at(-2), 'the creation time is read');
  for (const other of ['call-chunks', 'call-chunks.dlq', '__consumer_offsets', `x${name}`, `${name}.DLQ`, `${name}-2`]) {
    assert.doesNotMatch(other, FRESH_TOPIC);
  }
});

test('freshTopic creates a uniquely named topic with the asked partition count', async (t) => {
  if (!(await requireKafka(t))) return;
  const [a, b] = await Promise.all([freshTopic('infra-meta', 2), freshTopic('infra-meta', 2)]);
  assert.notEqual(a, b);
  const admin = testKafka('infra-meta').admin();
  await admin.connect();
  t.after(() => admin.disconnect());
  const meta = await admin.fetchTopicMetadata({ topics: [a] });
  assert.equal(meta[0]?.name, a);
  assert.equal(meta[0]?.partitions.length, 2);
  for (const p of meta[0]?.partitions ?? []) assert.ok(p.leader >= 0, `partition ${p.partitionId} has a leader`);
});

test('round trip: keys, values, headers and per-key order survive produce -> consume', async (t) => {
  if (!(await requireKafka(t))) return;
  const topic = await freshTopic('infra-roundtrip', 3);
  const kafka = testKafka('infra-roundtrip');
  const producer: Producer = testProducer(kafka);
  const consumer: Consumer = kafka.consumer({ kafkaJS: { groupId: freshGroupId('infra-roundtrip'), maxWaitTimeInMs: 100, fromBeginning: true } });
  t.after(async () => {
    await producer.disconnect();
    await consumer.disconnect();
  });

  // three calls x 20 chunks; binary value bytes (all 256 values) and string + binary headers
  const calls = ['call-a', 'call-b', 'call-c'];
  const sent = calls.flatMap((callId) =>
    Array.from({ length: 20 }, (_, seq) => ({
      key: callId,
      value: Buffer.from([seq, ...Array.from({ length: 256 }, (_, i) => i)]),
      headers: { seq: String(seq), modality: 'audio', blob: Buffer.from([0, 255, seq]) },
    })),
  );

  const received = new Map<string, { seq: number; value: Buffer; headers: Record<string, unknown> }[]>();
  const misplaced: string[] = [];
  let count = 0;
  let resolveAll!: () => void;
  const all = new Promise<void>((resolve) => (resolveAll = resolve));
  await consumer.connect();
  await consumer.subscribe({ topics: [topic] });
  await consumer.run({
    eachMessage: async ({ message, partition }) => {
      const key = message.key?.toString() ?? '';
      if (partition !== partitionOfKey(key, 3)) misplaced.push(`${key} on ${partition}`);
      const list = received.get(key) ?? [];
      list.push({ seq: Number(message.headers?.seq?.toString()), value: message.value ?? Buffer.alloc(0), headers: message.headers ?? {} });
      received.set(key, list);
      if (++count === sent.length) resolveAll();
    },
  });

  await producer.connect();
  await producer.send({ topic, messages: sent });

  const timeout = setTimeout(() => resolveAll(), 30_000);
  await all;
  clearTimeout(timeout);

  assert.equal(count, sent.length, `received ${count} of ${sent.length} records within 30 s`);
  assert.deepEqual(misplaced, [], 'each key on the partition murmur2 gives (the fault tests rely on it)');
  for (const callId of calls) {
    const got = received.get(callId) ?? [];
    assert.deepEqual(got.map((r) => r.seq), Array.from({ length: 20 }, (_, i) => i), `${callId} in order`);
    for (const r of got) {
      assert.deepEqual(r.value, Buffer.from([r.seq, ...Array.from({ length: 256 }, (_, i) => i)]));
      assert.equal(String(r.headers.modality), 'audio');
      assert.deepEqual(r.headers.blob, Buffer.from([0, 255, r.seq]));
    }
  }
});
