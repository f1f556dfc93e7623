/**
 * Issue 13, finding 2, over real Kafka: a record just under the broker's size limit is rejected by
 * the decoder, and its dead-letter copy (the same bytes plus error headers) would be over it. It
 * used to fail its batch forever (the consumer restarted every 10-20 s, the valid call behind it
 * was never scored, and dead_letters_total counted letters never written). Now the server learns
 * the dead-letter topic's max.message.bytes, writes a reference letter (position, code, sha256,
 * size, no payload), and the partition goes on.
 * Needs Kafka and the exported model (CI=true: fail; otherwise skip loudly).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { H } from '../../schema/chunk.js';
import { scriptCall } from '../../src/app/demo/script.js';
import { repoRoot } from '../../src/app/paths.js';
import { DLQ_HEADERS, KafkaDeadLetterSink } from '../../src/ingest/dead-letter.js';
import { encodeChunk, type WireRecord } from '../../src/ingest/encode.js';
import type { KafkaSource } from '../../src/ingest/kafka-source.js';
import { createTopicsAndWait } from '../../src/kafka/admin.js';
import { freshGroupId, freshTopic, requireKafka, testProducer } from '../support/kafka.js';
import { type AppHandle, callIdFor, fixtures, gql, readDeadLetters, RecordingProducer, startApp, tempDb, testKafka, until } from './harness.js';

const EPOCH = 1_764_000_000_000;
/** The topics' max.message.bytes in this test (the broker default is 1,048,588; smaller is quicker). */
const LIMIT = 300_000;
/** Payload of the oversized record: the record itself (~250 bytes of key, headers and framing
 *  more) is under LIMIT (measured here: 299,700 bytes fit, 299,900 do not), its copy (~250 bytes
 *  of error headers more again) is over it. */
const BIG = LIMIT - 400;

function bigBadRecord(callId: string): WireRecord {
  const r = encodeChunk({ modality: 'audio', callId, tenant: 'demo', channel: 'customer', seq: 0, eventTimeMs: EPOCH, durationMs: 0, samples: new Float32Array(BIG / 2).fill(0.01), sampleRate: 16000, contractVersion: 1 });
  return { ...r, headers: { ...r.headers, [H.sampleRate]: '44100' } }; // CHUNK_BAD_SAMPLE_RATE at decode
}

async function limitedTopics(kafka: ReturnType<typeof testKafka>, prefix: string): Promise<string> {
  const configs = { 'max.message.bytes': String(LIMIT) };
  const topic = await freshTopic(prefix, 1, configs, kafka);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await createTopicsAndWait(admin, [{ topic: `${topic}.dlq`, numPartitions: 1, configs }]);
  } finally {
    await admin.disconnect();
  }
  return topic;
}

test('a record whose dead-letter copy would not fit is dead-lettered as a reference; the valid call behind it is scored; the consumer never restarts', { timeout: 120_000 }, async (t) => {
  if (!existsSync(join(repoRoot(), 'models', 'CURRENT'))) {
    if (process.env.CI === 'true') throw new Error('models/CURRENT is missing (CI=true)');
    console.warn('SKIPPING dead-letter-reference: no exported model (models/CURRENT)');
    return t.skip('no exported model');
  }
  const brokers = await requireKafka(t);
  if (!brokers) return;
  const kafka = testKafka('dlq-ref');
  const topic = await limitedTopics(kafka, 'dlq-ref');
  const db = tempDb('dlq-ref');
  let app: AppHandle | null = null;
  let producer: RecordingProducer | null = null;
  try {
    app = await startApp({ brokers, topic, group: freshGroupId('dlq-ref'), dbPath: db.dbPath });
    producer = await RecordingProducer.connect(kafka, topic);
    const badId = callIdFor('too-big');
    const bad = bigBadRecord(badId);
    const [sentBad] = await producer.send([bad]);
    assert.equal(sentBad.offset, 0);
    const goodId = callIdFor('behind');
    const good = scriptCall(fixtures()[0], { epochMs: EPOCH, seed: 3, dropTranscriptShare: 0, lateTranscriptShare: 0, callId: goodId });
    // In requests under LIMIT: max.message.bytes bounds a whole record batch.
    const goodRecs = good.map((c) => encodeChunk(c.chunk));
    for (let i = 0; i < goodRecs.length;) {
      let j = i;
      for (let bytes = 0; j < goodRecs.length && (j === i || bytes + goodRecs[j].value.length < LIMIT / 2); j++) bytes += goodRecs[j].value.length;
      await producer.send(goodRecs.slice(i, j));
      i = j;
    }

    const status = async () => (await gql(app!.app.api.url, 'query($id: ID!) { call(id: $id) { status segmentCount } }', { id: goodId })).call ?? null;
    await until(async () => (await status())?.status === 'ENDED', 60_000, 'the valid call behind the big record ENDED');
    assert.ok((await status()).segmentCount > 0, 'the valid call was scored');

    const [letter] = await readDeadLetters(kafka, topic, 1);
    assert.equal(letter.headers[DLQ_HEADERS.kind], 'reference');
    assert.equal(letter.headers[DLQ_HEADERS.code], 'CHUNK_BAD_SAMPLE_RATE');
    assert.equal(letter.headers[DLQ_HEADERS.topic], topic);
    assert.equal(letter.headers[DLQ_HEADERS.partition], '0');
    assert.equal(letter.headers[DLQ_HEADERS.offset], '0');
    assert.equal(letter.headers[DLQ_HEADERS.bytes], String(BIG));
    assert.equal(letter.headers[DLQ_HEADERS.sha256], createHash('sha256').update(bad.value).digest('hex'));
    assert.equal(letter.key, badId);
    assert.ok(!letter.value?.length, 'no payload');

    assert.equal((app.app.source as KafkaSource).restarts, 0, 'the chunk consumer never re-read a batch');
    const metrics = await (await fetch(app.app.api.url.replace(/\/graphql$/, '/metrics'))).text();
    assert.match(metrics, /dead_letters_total\{code="CHUNK_BAD_SAMPLE_RATE"\} 1\b/);
    assert.match(metrics, /dead_letter_references_total\{code="CHUNK_BAD_SAMPLE_RATE"\} 1\b/);
  } finally {
    await producer?.disconnect();
    await app?.stop();
    db.cleanup();
  }
});

test('a sink that does not know the limit falls back to a reference when the broker refuses the copy', { timeout: 60_000 }, async (t) => {
  const brokers = await requireKafka(t);
  if (!brokers) return;
  const kafka = testKafka('dlq-ref-sink');
  const topic = await limitedTopics(kafka, 'dlq-ref-sink');
  const producer = testProducer(kafka, { idempotent: true });
  await producer.connect();
  try {
    const sink = new KafkaDeadLetterSink({ producer, maxMessageBytes: 1_000_000 }); // believes the broker default
    const bad = bigBadRecord('c-sink');
    const raw = { key: bad.key, value: bad.value, headers: { ...bad.headers }, source: { topic, partition: 0, offset: '0' } };
    assert.equal(await sink.deadLetter(raw, { code: 'CHUNK_BAD_SAMPLE_RATE', message: 'sample rate 44100 Hz is not supported (use 8000 or 16000)' }), 'reference');
    const [letter] = await readDeadLetters(kafka, topic, 1);
    assert.equal(letter.headers[DLQ_HEADERS.kind], 'reference');
    assert.match(letter.headers[DLQ_HEADERS.reason], /broker refused/);
  } finally {
    await producer.disconnect();
  }
});
