/**
 * Consumer lag from src/kafka/offsets.ts on the real broker: end offsets and a group's commits
 * per partition (a partition without a commit counts from its start), and an unreachable
 * broker is an error to count, not a crash (the admin API's offsets requests aborted the
 * process in that case: docs/operations.md "Known issue").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sampleLag } from '../../src/kafka/lag.js';
import { OffsetsReader } from '../../src/kafka/offsets.js';
import { freshGroupId, freshTopic, kafkaBrokers, partitionOfKey, requireKafka, testKafka, testProducer } from '../support/kafka.js';

test('lag per partition: end offset minus the group\'s commit, from the start where none', { timeout: 60_000 }, async (t) => {
  if (!(await requireKafka(t))) return;
  const topic = await freshTopic('lag', 2);
  const groupId = freshGroupId('lag');
  const kafka = testKafka('lag');
  const producer = testProducer(kafka);
  await producer.connect();
  // keys chosen for each partition: 5 records on one, 3 on the other
  const keyFor = (p: number) => Array.from({ length: 100 }, (_, i) => `k${i}`).find((k) => partitionOfKey(k, 2) === p)!;
  await producer.send({ topic, messages: [...Array(5)].map(() => ({ key: keyFor(0), value: 'x' })).concat([...Array(3)].map(() => ({ key: keyFor(1), value: 'y' }))) });
  await producer.disconnect();
  // the group commits 2 on partition 0 and nothing on partition 1
  const consumer = kafka.consumer({ kafkaJS: { groupId, fromBeginning: true, autoCommit: false } });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic] });
  let seen = 0;
  await consumer.run({ eachMessage: async () => { seen++; } });
  const deadline = Date.now() + 30_000;
  while (seen < 8 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await consumer.commitOffsets([{ topic, partition: 0, offset: '2' }]);
  await consumer.disconnect();

  const reader = new OffsetsReader(kafkaBrokers(), groupId);
  await reader.connect();
  t.after(() => reader.disconnect());
  const lags = await sampleLag(reader, topic);
  assert.deepEqual(lags.map((l) => [l.partition, l.lag, l.end, l.committed]), [[0, 3, 5n, 2n], [1, 3, 3n, -1n]]);
});

test('an unreachable broker: the reader fails with an error, the process lives on', { timeout: 30_000 }, async () => {
  const reader = new OffsetsReader(['127.0.0.1:9'], 'nobody', 1_000);
  const outcome = await reader.connect().then(() => reader.read('t')).then(() => 'answered', (e: unknown) => `error: ${String(e)}`);
  await reader.disconnect();
  assert.match(outcome, /^error: /);
});
