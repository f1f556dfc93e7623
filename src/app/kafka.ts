/**
 * The Kafka side of the app, built only when KAFKA_BROKERS is set: one kafkajs client, the
 * topics the server needs (created if missing), the consumer-group source and the dead-letter
 * producer, and (several instances) the scores-topic bridge and the lag sampler. kafkajs stays
 * behind these ports (ChunkSource, DeadLetterSink, ScorePublisher).
 */
import { type Admin, type ConfigResourceTypes, Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { KafkaDeadLetterSink } from '../ingest/dead-letter.js';
import { KafkaSource } from '../ingest/kafka-source.js';
import { ensureTopics } from '../ingest/kafka-topics.js';
import { observeAssignments } from '../kafka/observe-assignment.js';
import type { AppConfig } from './config.js';

export interface KafkaParts {
  kafka: Kafka;
  source: KafkaSource;
  deadLetters: KafkaDeadLetterSink;
  producer: Producer;
  /** Disconnects the producer (the source disconnects its consumer in its own stop). */
  disconnect(): Promise<void>;
}

export interface KafkaPartsHooks {
  /** Called with the chunk partitions ("topic/partition") this instance owns after each group join. */
  onAssign?: (partitions: string[]) => void;
}

export async function createKafkaParts(config: AppConfig, logger: Logger, hooks: KafkaPartsHooks = {}): Promise<KafkaParts> {
  const brokers = config.kafkaBrokers;
  if (!brokers) throw new Error('createKafkaParts needs KAFKA_BROKERS');
  const log = logger.child({ component: 'kafka' });
  const kafka = new Kafka({
    clientId: `sentiment-stream-${process.pid}`,
    brokers,
    logLevel: logLevel.WARN,
    logCreator: () => ({ namespace, level, log: entry }) => {
      const { message, ...rest } = entry;
      (level <= logLevel.ERROR ? log.error.bind(log) : log.warn.bind(log))({ namespace, ...rest }, message);
    },
  });
  const admin = kafka.admin();
  await admin.connect();
  const dlqTopic = `${config.kafkaTopic}.dlq`;
  let maxMessageBytes = config.kafkaMaxMessageBytes;
  try {
    const topics = [{ topic: config.kafkaTopic }, { topic: dlqTopic }];
    if (config.scoresTopic) topics.push({ topic: config.scoresTopic });
    const created = await ensureTopics(admin, topics);
    if (created.length) log.info({ created }, 'created topics');
    maxMessageBytes ??= await topicMaxMessageBytes(admin, dlqTopic).catch((err) => {
      log.warn({ err, topic: dlqTopic }, 'could not read max.message.bytes; assuming 1,000,000 (set KAFKA_MAX_MESSAGE_BYTES)');
      return null;
    });
  } finally {
    await admin.disconnect();
  }
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const source = new KafkaSource({
    kafka: hooks.onAssign ? observeAssignments(kafka, hooks.onAssign) : kafka,
    groupId: config.kafkaGroup,
    topics: [config.kafkaTopic],
    logger: log,
    consumerConfig: { sessionTimeout: config.kafkaSessionTimeoutMs, heartbeatInterval: Math.max(500, Math.floor(config.kafkaSessionTimeoutMs / 10)) },
  });
  const deadLetters = new KafkaDeadLetterSink({ producer, ...(maxMessageBytes ? { maxMessageBytes } : {}) });
  log.info({ topic: dlqTopic, maxMessageBytes: deadLetters.maxMessageBytes }, 'dead-letter copies over this size are written as references');
  return {
    kafka,
    source,
    deadLetters,
    producer,
    async disconnect() {
      await producer.disconnect();
    },
  };
}

/** The topic's effective max.message.bytes (the broker's message.max.bytes unless overridden). */
async function topicMaxMessageBytes(admin: Admin, topic: string): Promise<number | null> {
  // ConfigResourceTypes.TOPIC (2): kafkajs' ESM entry does not export the enum's value.
  const TOPIC = 2 as ConfigResourceTypes;
  const res = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: TOPIC, name: topic, configNames: ['max.message.bytes'] }] });
  const entry = res.resources[0]?.configEntries.find((e) => e.configName === 'max.message.bytes');
  const n = entry ? Number(entry.configValue) : NaN;
  return Number.isInteger(n) && n >= 4096 ? n : null;
}
