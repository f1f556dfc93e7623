/**
 * The Kafka source against a real broker (scripts/kafka.sh), a fresh topic and group per test:
 * batches in partition order, commits only past released records, no pause on unreleased records,
 * what a stopping sink did not take left uncommitted, and the whole ingest stage with bad records
 * going to `<topic>.dlq`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RawChunk } from '../../src/core/ports.js';
import { SinkStopping } from '../../src/core/stopping.js';
import type { MediaChunk } from '../../src/core/types.js';
import { DLQ_HEADERS, KafkaDeadLetterSink, createDecoder, createIngest, encodeChunk } from '../../src/ingest/index.js';
import { KafkaSource } from '../../src/ingest/kafka-source.js';
import { ensureTopics } from '../../src/kafka/admin.js';
import type { Kafka } from '../../src/kafka/client.js';
import { H, audioChunk, callStart, textChunk, withHeaders } from '../support/chunks.js';
import { freshGroupId, freshTopic, requireKafka, testKafka, testProducer } from '../support/kafka.js';

const FAST = { maxWaitTimeMs: 100, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000 };

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function produce(kafka: Kafka, topic: string, records: { key: Buffer | null; headers: Record<string, string | Buffer | undefined>; value: Buffer | null }[]) {
  const producer = testProducer(kafka);
  await producer.connect();
  try {
    await producer.send({
      topic,
      messages: records.map((r) => ({
        key: r.key, value: r.value,
        headers: Object.fromEntries(Object.entries(r.headers).filter(([, v]) => v !== undefined)) as Record<string, string | Buffer>,
      })),
    });
  } finally {
    await producer.disconnect();
  }
}

async function committed(kafka: Kafka, groupId: string, topic: string): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return (t?.partitions ?? []).sort((a, b) => a.partition - b.partition).map((p) => p.offset);
  } finally {
    await admin.disconnect();
  }
}

const audioRecord = (callId: string, seq: number) => encodeChunk(audioChunk({ callId, seq, eventTimeMs: 1_764_000_000_000 + seq * 20 }));

test('delivers per-partition batches in order and commits only past released records', { timeout: 90_000 }, async (t) => {
  if (!(await requireKafka(t))) return;
  const kafka = testKafka('ingest-kafka-commit');
  const topic = await freshTopic('ingest-commit', 1);
  const groupId = freshGroupId('ingest-commit');
  await produce(kafka, topic, Array.from({ length: 10 }, (_, i) => audioRecord('c1', i)));
  const got: RawChunk[] = [];
  const source = new KafkaSource({ kafka, groupId, topics: [topic], commitIntervalMs: 50, drainTimeoutMs: 0, tuning: FAST });
  await source.start({ accept: async (b) => { got.push(...b); } });
  t.after(() => source.stop());
  await until(() => got.length === 10, 30_000, '10 records');
  assert.deepEqual(got.map((r) => r.source.offset), ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  assert.equal(got[3].headers[H.seq]?.toString(), '3');
  assert.equal(got[3].key?.toString(), 'c1');
  assert.equal(source.inFlight(topic, 0), 10);

  source.release([got[0].source, got[1].source, got[2].source, got[5].source]);
  await source.commit();
  assert.deepEqual(await committed(kafka, groupId, topic), ['3'], 'offset 3 is not released: commit stops there');
  source.release(got.slice(3, 7).map((r) => r.source));
  await source.commit();
  assert.deepEqual(await committed(kafka, groupId, topic), ['7']);
  await source.stop();

  // A new member of the group re-reads from the commit: exactly the unreleased records.
  const again: RawChunk[] = [];
  const second = new KafkaSource({ kafka, groupId, topics: [topic], drainTimeoutMs: 0, tuning: FAST });
  await second.start({ accept: async (b) => { again.push(...b); } });
  t.after(() => second.stop());
  await until(() => again.length === 3, 30_000, 'redelivery of the 3 unreleased records');
  assert.deepEqual(again.map((r) => r.source.offset), ['7', '8', '9']);
});

test('a failing sink: the partition is re-read from the failed batch after a backoff, nothing lost, commits go on', { timeout: 90_000 }, async (t) => {
  if (!(await requireKafka(t))) return;
  const kafka = testKafka('ingest-kafka-crash');
  const topic = await freshTopic('ingest-crash', 1);
  const groupId = freshGroupId('ingest-crash');
  await produce(kafka, topic, Array.from({ length: 10 }, (_, i) => audioRecord('k', i)));
  const got: RawChunk[] = [];
  let batches = 0;
  const source = new KafkaSource({ kafka, groupId, topics: [topic], commitIntervalMs: 50, drainTimeoutMs: 0, tuning: FAST, retryDelayMs: 200 });
  // The first batch fails (with kafkajs, such an error stopped the consumer for good).
  let failedAt = 0;
  let retriedAt = 0;
  await source.start({
    accept: async (b) => {
      if (++batches === 1) {
        failedAt = Date.now();
        throw new Error('sink failed once');
      }
      retriedAt ||= Date.now();
      got.push(...b);
    },
  });
  t.after(() => source.stop());
  await until(() => got.length === 10, 30_000, 'all 10 records after the retry');
  assert.deepEqual(got.map((r) => r.source.offset), ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], 'the failed batch is read again, in order');
  assert.equal(source.restarts, 1);
  assert.ok(retriedAt - failedAt >= 150, `re-read after the backoff (${retriedAt - failedAt} ms)`);
  assert.ok(source.consuming(), 'the consumer never left its group');
  source.release(got.map((r) => r.source));
  await source.commit();
  assert.deepEqual(await committed(kafka, groupId, topic), ['10'], 'the new consumer commits');
});

test('unreleased records never pause a partition: the sink bounds what it holds (issue #13: backlog deadlock)', { timeout: 90_000 }, async (t) => {
  // Records held in open windows are released only by later records of their calls: a pause on
  // unreleased records (it was 2,000 per partition) waited on records behind itself.
  if (!(await requireKafka(t))) return;
  const kafka = testKafka('ingest-kafka-nopause');
  const topic = await freshTopic('ingest-nopause', 1);
  const got: RawChunk[] = [];
  const source = new KafkaSource({ kafka, groupId: freshGroupId('ingest-nopause'), topics: [topic], drainTimeoutMs: 0, tuning: FAST });
  await source.start({ accept: async (b) => { got.push(...b); } });
  t.after(() => source.stop());
  for (let i = 0; i < 2500; i += 500) await produce(kafka, topic, Array.from({ length: 500 }, (_, k) => audioRecord('held', i + k)));
  await until(() => got.length === 2500, 30_000, `all 2,500 records, none released (have ${got.length})`);
  assert.equal(source.inFlight(topic, 0), 2500);
});

test('behind(partition) is true while batches end before the log end, false once caught up', { timeout: 90_000 }, async (t) => {
  if (!(await requireKafka(t))) return;
  const kafka = testKafka('ingest-kafka-behind');
  const topic = await freshTopic('ingest-behind', 1);
  // One send per record: 20 record batches on the broker, which a small fetch returns one by one.
  for (let i = 0; i < 20; i++) await produce(kafka, topic, [audioRecord('b', i)]);
  const seen: boolean[] = [];
  let got = 0;
  // Tiny batches: a few records each, so the first batches end before the log's end.
  const source = new KafkaSource({ kafka, groupId: freshGroupId('ingest-behind'), topics: [topic], drainTimeoutMs: 0, tuning: { ...FAST, maxBytesPerPartition: 1024, maxBatchRecords: 4 } });
  await source.start({ accept: async (b) => { seen.push(source.behind(`${topic}/0`)); got += b.length; } });
  t.after(() => source.stop());
  await until(() => got === 20, 30_000, 'all 20 records');
  assert.ok(seen.length > 1, `several batches (${seen.length})`);
  assert.equal(seen[0], true, 'the first batch is behind the log end');
  assert.equal(seen[seen.length - 1], false, 'the last batch reaches it');
  assert.equal(source.behind(`${topic}/0`), false);
  assert.equal(source.behind(`${topic}/9`), false, 'unknown partitions are not behind');
});

test('a stopping sink: the records it did not take stay uncommitted, and the next owner reads them', { timeout: 90_000 }, async (t) => {
  if (!(await requireKafka(t))) return;
  const kafka = testKafka('ingest-kafka-stopping');
  const topic = await freshTopic('ingest-stopping', 1);
  const groupId = freshGroupId('ingest-stopping');
  await produce(kafka, topic, Array.from({ length: 10 }, (_, i) => audioRecord('s', i)));
  const batches: RawChunk[][] = [];
  const source = new KafkaSource({ kafka, groupId, topics: [topic], drainTimeoutMs: 5_000, tuning: FAST });
  await source.start({
    accept: async (b) => {
      batches.push(b);
      // Takes and finishes 4 records, then shuts down: the other 6 are the next owner's.
      source.release(b.slice(0, 4).map((r) => r.source));
      throw new SinkStopping(b.slice(4).map((r) => r.source));
    },
  });
  await until(() => batches.length === 1 && batches[0].length === 10, 30_000, 'the batch');
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(batches.length, 1, 'the partition is not fetched again after the sink stopped');
  const t0 = Date.now();
  await source.stop();
  assert.ok(Date.now() - t0 < 4_000, 'stop does not wait for records the sink did not take');
  assert.deepEqual(await committed(kafka, groupId, topic), ['4']);

  const again: RawChunk[] = [];
  const next = new KafkaSource({ kafka, groupId, topics: [topic], drainTimeoutMs: 0, tuning: FAST });
  await next.start({ accept: async (b) => { again.push(...b); } });
  t.after(() => next.stop());
  await until(() => again.length === 6, 30_000, 'the 6 untaken records');
  assert.deepEqual(again.map((r) => r.source.offset), ['4', '5', '6', '7', '8', '9']);
});

test('a rebalance that gives the partition back: records still in flight are not delivered again', { timeout: 90_000 }, async (t) => {
  if (!(await requireKafka(t))) return;
  const kafka = testKafka('ingest-kafka-regain');
  const topic = await freshTopic('ingest-regain', 1);
  const other = await freshTopic('ingest-regain-other', 1);
  const groupId = freshGroupId('ingest-regain');
  await produce(kafka, topic, Array.from({ length: 10 }, (_, i) => audioRecord('r', i)));
  const taken: RawChunk[] = [];
  const assignments: string[][] = [];
  const source = new KafkaSource({ kafka, groupId, topics: [topic], drainTimeoutMs: 0, tuning: FAST, onAssign: (held) => assignments.push(held) });
  await source.start({ accept: async (b) => { taken.push(...b); } });
  t.after(() => source.stop());
  await until(() => taken.length === 10, 30_000, 'the records');
  // None released, none committed. A member joining the group for another topic makes an eager
  // rebalance: this member's partition is revoked, then given back (as after a broker restart),
  // and the client reads it again from the commit, i.e. from the start.
  const joiner = new KafkaSource({ kafka, groupId, topics: [other], drainTimeoutMs: 0, tuning: FAST });
  await joiner.start({ accept: async () => {} });
  t.after(() => joiner.stop());
  await until(() => assignments.length >= 2, 30_000, 'the partition given back');
  assert.deepEqual(assignments.at(-1), [`${topic}/0`]);
  await new Promise((r) => setTimeout(r, 2_000)); // the re-read from the commit arrives meanwhile
  assert.equal(taken.length, 10, 'no record delivered twice (forgetting them at the revoke re-delivered all 10)');
  assert.equal(source.inFlight(topic, 0), 10);
});

test('stop waits for a slow drain (longer than the old fixed 5 s) and commits what it released', { timeout: 90_000 }, async (t) => {
  if (!(await requireKafka(t))) return;
  const kafka = testKafka('ingest-kafka-slowdrain');
  const topic = await freshTopic('ingest-slowdrain', 1);
  const groupId = freshGroupId('ingest-slowdrain');
  await produce(kafka, topic, Array.from({ length: 10 }, (_, i) => audioRecord('d', i)));
  const taken: RawChunk[] = [];
  const source = new KafkaSource({ kafka, groupId, topics: [topic], tuning: FAST });
  await source.start({ accept: async (b) => { taken.push(...b); } });
  await until(() => taken.length === 10, 30_000, 'the records');
  // A loaded pipeline: its drain releases the records 6 s after the stop began (a CI run saw a
  // drain outlast the old 5 s wait: the calls were read again after the restart).
  let endDrain!: () => void;
  const drained = new Promise<void>((r) => (endDrain = r));
  const stopped = source.stop(drained);
  await new Promise((r) => setTimeout(r, 6_000));
  source.release(taken.map((r) => r.source));
  endDrain();
  await stopped;
  assert.deepEqual(await committed(kafka, groupId, topic), ['10']);
});

test('stop ends when the sink has drained, even with records it never released', { timeout: 90_000 }, async (t) => {
  if (!(await requireKafka(t))) return;
  const kafka = testKafka('ingest-kafka-drained');
  const topic = await freshTopic('ingest-drained', 1);
  const groupId = freshGroupId('ingest-drained');
  await produce(kafka, topic, Array.from({ length: 10 }, (_, i) => audioRecord('e', i)));
  const taken: RawChunk[] = [];
  const source = new KafkaSource({ kafka, groupId, topics: [topic], tuning: FAST });
  await source.start({ accept: async (b) => { taken.push(...b); } });
  await until(() => taken.length === 10, 30_000, 'the records');
  // 3 finished; the rest stays unreleased (e.g. a fenced partition's chunks): the next owner's.
  source.release(taken.slice(0, 3).map((r) => r.source));
  const t0 = Date.now();
  await source.stop(Promise.resolve());
  assert.ok(Date.now() - t0 < 5_000, `stop took ${Date.now() - t0} ms: it waited for records the drained sink will never release`);
  assert.deepEqual(await committed(kafka, groupId, topic), ['3']);
});

test('ingest over Kafka: bad records land in <topic>.dlq with their code; good ones flow on', { timeout: 90_000 }, async (t) => {
  if (!(await requireKafka(t))) return;
  const kafka = testKafka('ingest-kafka-dlq');
  const topic = await freshTopic('ingest-dlq', 2);
  const admin = kafka.admin();
  await admin.connect();
  assert.deepEqual(await ensureTopics(admin, [{ topic: `${topic}.dlq`, numPartitions: 1 }]), [`${topic}.dlq`]);
  assert.deepEqual(await ensureTopics(admin, [{ topic: `${topic}.dlq` }]), [], 'idempotent');
  await admin.disconnect();

  const producer = testProducer(kafka);
  await producer.connect();
  t.after(() => producer.disconnect());
  const source = new KafkaSource({ kafka, groupId: freshGroupId('ingest-dlq'), topics: [topic], drainTimeoutMs: 0, tuning: FAST });
  const forwarded: MediaChunk[] = [];
  const ingest = createIngest({
    source, decode: createDecoder({ videoFeatureDim: 24 }), deadLetters: new KafkaDeadLetterSink({ producer }),
    forward: (c) => { forwarded.push(c); },
  });
  await source.start(ingest);
  t.after(() => source.stop());
  await produce(kafka, topic, [
    encodeChunk(callStart({ callId: 'ok' })),
    withHeaders({ ...encodeChunk(audioChunk({ callId: 'bad' })), source: { topic, partition: 0, offset: '0' } }, { [H.sampleRate]: '44100' }),
    encodeChunk(audioChunk({ callId: 'ok', seq: 0 })),
    withHeaders({ ...encodeChunk(textChunk({ callId: 'bad' })), source: { topic, partition: 0, offset: '0' } }, { [H.modality]: 'smell' }),
    encodeChunk(textChunk({ callId: 'ok', seq: 0 })),
  ]);
  await until(() => forwarded.length === 3 && ingest.rejectedByCode.size === 2, 30_000, 'all 5 records handled');
  assert.deepEqual(forwarded.map((c) => c.modality), ['control', 'audio', 'text']);

  const dlqConsumer = kafka.consumer({ kafkaJS: { groupId: freshGroupId('ingest-dlq-read'), fromBeginning: true, maxWaitTimeInMs: 100 } });
  const dead: { code: string; key: string; partition: string }[] = [];
  await dlqConsumer.connect();
  t.after(() => dlqConsumer.disconnect());
  await dlqConsumer.subscribe({ topics: [`${topic}.dlq`] });
  await dlqConsumer.run({
    eachMessage: async ({ message }) => {
      dead.push({
        code: String(message.headers?.[DLQ_HEADERS.code]),
        key: String(message.key),
        partition: String(message.headers?.[DLQ_HEADERS.partition]),
      });
    },
  });
  await until(() => dead.length === 2, 30_000, '2 dead letters');
  assert.deepEqual(dead.map((d) => d.code).sort(), ['CHUNK_BAD_SAMPLE_RATE', 'CHUNK_UNKNOWN_MODALITY']);
  assert.ok(dead.every((d) => d.key === 'bad'));
});
