/**
 * TopicWriter (WebSocket ingest records -> the Kafka chunk topic) against the real broker: every
 * record is written, in order, and acked only after; a topic the broker refuses turns every
 * record of the batch into INGEST_TOPIC_UNAVAILABLE after the retries, and nothing hangs.
 * Needs Kafka (fails under CI=true, skips loudly otherwise).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AppError } from '../../../src/core/errors.js';
import { TopicWriter } from '../../../src/ingest/ws/topic-writer.js';
import { endOffsets, until } from '../../integration/harness.js';
import { freshTopic, requireKafka, testKafka, testProducer } from '../../support/kafka.js';

const record = (callId: string, seq: number) => ({ key: Buffer.from(callId), value: Buffer.from([seq & 0xff, 0]), headers: { 'x-seq': String(seq) } });

test('records are written in order in batches, each acked once the topic has it', async (t) => {
  if (!(await requireKafka(t))) return;
  const kafka = testKafka();
  const topic = await freshTopic('ws-topic-writer', 1);
  const producer = testProducer(kafka, { idempotent: true });
  await producer.connect();
  try {
    const writer = new TopicWriter({ producer, topic, capacity: 64, maxBatch: 50 });
    const acked: number[] = [];
    for (let i = 0; i < 300; i++) await writer.push(record('call-tw', i), { done: () => acked.push(i), refused: (e) => assert.fail(e.message) });
    await writer.idle();
    assert.deepEqual(acked, Array.from({ length: 300 }, (_, i) => i));
    assert.equal((await endOffsets(kafka, topic)).get(0), 300);
    const consumer = kafka.consumer({ kafkaJS: { groupId: `${topic}-reader`, fromBeginning: true } });
    const seen: number[] = [];
    await consumer.connect();
    await consumer.subscribe({ topics: [topic] });
    await consumer.run({ eachMessage: async ({ message }) => { seen.push(Number(message.headers!['x-seq']!.toString())); } });
    await until(() => seen.length === 300, 20_000, '300 records read back');
    await consumer.disconnect();
    assert.deepEqual(seen, Array.from({ length: 300 }, (_, i) => i), 'in the order pushed');
  } finally {
    await producer.disconnect();
  }
});

test('a batch the broker refuses is retried, then every record of it is INGEST_TOPIC_UNAVAILABLE', async (t) => {
  if (!(await requireKafka(t))) return;
  const producer = testProducer(testKafka());
  await producer.connect();
  try {
    const writer = new TopicWriter({ producer, topic: 'not a valid topic name!', attempts: 2, backoffMs: 10 });
    const refused: AppError[] = [];
    for (let i = 0; i < 3; i++) await writer.push(record('call-bad', i), { done: () => assert.fail('acked'), refused: (e) => refused.push(e) });
    await writer.idle();
    assert.deepEqual(refused.map((e) => [e.code, e.retriable]), [['INGEST_TOPIC_UNAVAILABLE', true], ['INGEST_TOPIC_UNAVAILABLE', true], ['INGEST_TOPIC_UNAVAILABLE', true]]);
    assert.match(refused[0].message, /not a valid topic name!/);
  } finally {
    await producer.disconnect();
  }
});
