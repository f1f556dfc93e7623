import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { DLQ_HEADERS, KafkaDeadLetterSink, MemoryDeadLetterSink, deadLetterRecord, isTooLarge, type DeadLetterProducer } from '../../src/ingest/dead-letter.js';
import { H, rawAudio, ref } from '../support/chunks.js';

const err = { code: 'CHUNK_BAD_SAMPLE_RATE', message: 'sample rate 44100 Hz is not supported (use 8000 or 16000)' };

test('a dead-letter record keeps key, value and headers and adds the error and the source position', () => {
  const raw = rawAudio({ callId: 'c9', source: ref(77, 3, 'media') });
  const rec = deadLetterRecord(raw, err, 1234);
  assert.equal(rec.topic, 'media.dlq');
  assert.equal(rec.key, raw.key);
  assert.equal(rec.value, raw.value);
  assert.equal(rec.headers[H.modality], 'audio');
  assert.equal(rec.headers[DLQ_HEADERS.code], 'CHUNK_BAD_SAMPLE_RATE');
  assert.equal(rec.headers[DLQ_HEADERS.message], err.message);
  assert.equal(rec.headers[DLQ_HEADERS.topic], 'media');
  assert.equal(rec.headers[DLQ_HEADERS.partition], '3');
  assert.equal(rec.headers[DLQ_HEADERS.offset], '77');
  assert.equal(rec.headers[DLQ_HEADERS.at], '1234');
});

test('the Kafka sink sends one message to <topic><suffix> through any producer with send()', async () => {
  const sent: Parameters<DeadLetterProducer['send']>[0][] = [];
  const producer: DeadLetterProducer = { send: async (r) => { sent.push(r); } };
  const sink = new KafkaDeadLetterSink({ producer, topicSuffix: '-dead', now: () => 5 });
  await sink.deadLetter(rawAudio({ source: ref(1, 0, 'calls') }), err);
  assert.equal(sent.length, 1);
  assert.equal(sent[0].topic, 'calls-dead');
  assert.equal(sent[0].messages[0].headers[DLQ_HEADERS.code], err.code);
  const failing = new KafkaDeadLetterSink({ producer: { send: async () => { throw new Error('broker down'); } } });
  await assert.rejects(failing.deadLetter(rawAudio(), err), /broker down/);
});

test('the memory sink is a bounded sliding ring and counts every code', async () => {
  const sink = new MemoryDeadLetterSink({ capacity: 2 });
  for (let i = 0; i < 3; i++) await sink.deadLetter(rawAudio({ source: ref(i) }), err);
  await sink.deadLetter(rawAudio({ source: ref(9) }), { code: 'CHUNK_NON_FINITE', message: 'x' });
  assert.deepEqual(sink.records().map((r) => r.headers[DLQ_HEADERS.offset]), ['2', '9']);
  assert.equal(sink.dropped, 2);
  assert.equal(sink.countByCode.get('CHUNK_BAD_SAMPLE_RATE'), 3);
  assert.equal(sink.countByCode.get('CHUNK_NON_FINITE'), 1);
  assert.throws(() => new MemoryDeadLetterSink({ capacity: 0 }), RangeError);
});

test('a copy over maxMessageBytes is written as a reference: position, code, sha256 and size, no payload', async () => {
  const sent: Parameters<DeadLetterProducer['send']>[0][] = [];
  const sink = new KafkaDeadLetterSink({ producer: { send: async (r) => { sent.push(r); } }, maxMessageBytes: 10_000, now: () => 7 });
  const raw = rawAudio({ callId: 'c-big', samples: new Float32Array(6000), source: ref(42, 1, 'calls') }); // 12,000 bytes
  assert.equal(await sink.deadLetter(raw, err), 'reference');
  assert.equal(sent.length, 1);
  const m = sent[0].messages[0];
  assert.equal(sent[0].topic, 'calls.dlq');
  assert.equal(m.value, null);
  assert.equal(m.key?.toString(), 'c-big');
  assert.equal(m.headers[DLQ_HEADERS.kind], 'reference');
  assert.equal(m.headers[DLQ_HEADERS.code], err.code);
  assert.equal(m.headers[DLQ_HEADERS.topic], 'calls');
  assert.equal(m.headers[DLQ_HEADERS.partition], '1');
  assert.equal(m.headers[DLQ_HEADERS.offset], '42');
  assert.equal(m.headers[DLQ_HEADERS.bytes], '12000');
  assert.equal(m.headers[DLQ_HEADERS.sha256], createHash('sha256').update(raw.value!).digest('hex'));
  assert.equal(m.headers[H.modality], undefined, 'no original headers');
  // A small one is still a copy.
  assert.equal(await sink.deadLetter(rawAudio(), err), 'copy');
  assert.equal(sent[1].messages[0].headers[DLQ_HEADERS.kind], 'copy');
});

test('a copy the broker refuses as too large becomes a reference; any other failure propagates', async () => {
  const sent: Parameters<DeadLetterProducer['send']>[0][] = [];
  const tooLarge = Object.assign(new Error('The request included a message larger than the max message size the server will accept'), { type: 'MESSAGE_TOO_LARGE' });
  const producer: DeadLetterProducer = {
    send: async (r) => {
      if (r.messages[0].value !== null) throw tooLarge;
      sent.push(r);
    },
  };
  const sink = new KafkaDeadLetterSink({ producer });
  assert.equal(await sink.deadLetter(rawAudio(), err), 'reference');
  assert.equal(sent.length, 1);
  assert.match(String(sent[0].messages[0].headers[DLQ_HEADERS.reason]), /broker refused/);
  assert.ok(isTooLarge(tooLarge));
  assert.ok(!isTooLarge(new Error('broker down')));
  assert.throws(() => new KafkaDeadLetterSink({ producer, maxMessageBytes: 10 }), RangeError);
});
