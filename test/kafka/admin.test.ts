/**
 * Topic creation waits for leaders through the answers a busy broker gives right after a create
 * (UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE, partitions without a leader yet), plain or
 * wrapped in another error, and gives up at once on anything else. A scripted Admin stands in
 * for the broker because a real one answers these only under load (CI saw it; see
 * src/kafka/admin.ts); the real-broker path is covered by every test that calls freshTopic and
 * by kafka-source.test.ts (ensureTopics).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTopicsAndWait, type TopicAdmin, waitForLeaders } from '../../src/kafka/admin.js';
import { kafkaErrorCodes } from '../../src/kafka/client.js';

const KafkaErrorCodes = kafkaErrorCodes();

type TopicConfig = Parameters<TopicAdmin['createTopics']>[0]['topics'][number];

type Answer = Error | { leader: number }[];

/** An error as the client throws it: librdkafka's code on `code`. */
function clientError(name: keyof typeof KafkaErrorCodes): Error {
  return Object.assign(new Error(`client error ${name}`), { code: KafkaErrorCodes[name] });
}

/** An Admin whose fetchTopicMetadata answers from `script` in order, then with the last entry. */
function scriptedAdmin(script: Answer[]): { admin: TopicAdmin; created: { topics: TopicConfig[]; timeout?: number }[]; calls: () => number } {
  const created: { topics: TopicConfig[]; timeout?: number }[] = [];
  let n = 0;
  const admin = {
    createTopics: async (opts: { topics: TopicConfig[]; timeout?: number }) => { created.push(opts); return true; },
    fetchTopicMetadata: async ({ topics }: { topics: string[] }) => {
      const answer = script[Math.min(n++, script.length - 1)];
      if (answer instanceof Error) throw answer;
      return topics.map((name) => ({ name, partitions: answer.map((p, partitionId) => ({ partitionId, ...p })) }));
    },
  } as unknown as TopicAdmin;
  return { admin, created, calls: () => n };
}

test('createTopicsAndWait passes configs and waits through not-yet answers', async () => {
  const wrapped = Object.assign(new Error('retries exceeded'), { cause: clientError('ERR_LEADER_NOT_AVAILABLE') });
  const { admin, created, calls } = scriptedAdmin([
    clientError('ERR_UNKNOWN_TOPIC_OR_PART'),
    wrapped,
    [{ leader: 1 }, { leader: -1 }],
    [{ leader: 1 }, { leader: 1 }],
  ]);
  assert.equal(await createTopicsAndWait(admin, [{ topic: 't', numPartitions: 2, configs: { 'retention.ms': '60000' } }]), true);
  assert.equal(calls(), 4, 'asked until every partition had a leader');
  assert.equal(created.length, 1);
  assert.ok(!('waitForLeaders' in (created[0] ?? {})), 'the client refuses waitForLeaders: the wait is ours');
  assert.deepEqual(created[0]?.topics, [{ topic: 't', numPartitions: 2, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: '60000' }] }]);
});

test('waitForLeaders rethrows any other error at once', async () => {
  const { admin, calls } = scriptedAdmin([clientError('ERR_TOPIC_AUTHORIZATION_FAILED')]);
  await assert.rejects(waitForLeaders(admin, ['t']), /TOPIC_AUTHORIZATION_FAILED/);
  assert.equal(calls(), 1);
});

test('waitForLeaders gives up after its timeout, naming the topics', async () => {
  const leaderless = scriptedAdmin([[{ leader: -1 }]]);
  await assert.rejects(waitForLeaders(leaderless.admin, ['a', 'b'], 300), /topics a, b: no leader after 300 ms/);
  const unknown = scriptedAdmin([clientError('ERR_UNKNOWN_TOPIC_OR_PART')]);
  await assert.rejects(waitForLeaders(unknown.admin, ['a'], 300), /UNKNOWN_TOPIC_OR_PART/, 'the broker\'s own error, once time is up');
  assert.ok(unknown.calls() >= 2, 'retried before giving up');
});
