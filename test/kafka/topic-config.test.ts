/**
 * The DescribeConfigs reader (src/kafka/topic-config.ts) on the real broker: a topic's own
 * max.message.bytes and another config as set at creation; an unknown topic and an unreachable
 * broker are errors, not a hang or a guess. Needs Kafka (fails under CI=true, skips loudly otherwise).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeTopicConfig, topicMaxMessageBytes } from '../../src/kafka/topic-config.js';
import { freshName, freshTopic, requireKafka, testKafka } from '../support/kafka.js';

test('reads the values a topic was created with; unknown names are absent', async (t) => {
  const brokers = await requireKafka(t);
  if (!brokers) return;
  const topic = await freshTopic('topic-config', 1, { 'max.message.bytes': '200000', 'retention.ms': '3600000' }, testKafka('topic-config'));
  assert.equal(await topicMaxMessageBytes(brokers, topic), 200_000);
  const values = await describeTopicConfig(brokers, topic, ['retention.ms', 'no.such.config']);
  assert.deepEqual([...values], [['retention.ms', '3600000']]);
});

test('an unknown topic and an unreachable broker are errors', async (t) => {
  const brokers = await requireKafka(t);
  if (!brokers) return;
  await assert.rejects(topicMaxMessageBytes(brokers, freshName('topic-config-missing')), /DescribeConfigs .*error 3\b/);
  await assert.rejects(topicMaxMessageBytes(['127.0.0.1:1'], 'any'), /ECONNREFUSED/);
});
