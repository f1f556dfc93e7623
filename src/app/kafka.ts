/**
 * The Kafka side of the app, built only when KAFKA_BROKERS is set: one client (src/kafka), the
 * topics the server needs (created if missing), the consumer-group source and the dead-letter
 * producer, and (several instances) the scores-topic bridge and the lag sampler. The client
 * stays behind these ports (ChunkSource, DeadLetterSink, ScorePublisher).
 */
import type { Logger } from 'pino';
import { KafkaDeadLetterSink } from '../ingest/dead-letter.js';
import { KafkaSource } from '../ingest/kafka-source.js';
import { ensureTopics } from '../kafka/admin.js';
import { createKafka, type Kafka, type Producer } from '../kafka/client.js';
import { connectProducer } from '../kafka/producer.js';
import { topicMaxMessageBytes } from '../kafka/topic-config.js';
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
  const kafka = createKafka({ clientId: `sentiment-stream-${process.pid}`, brokers, log });
  const admin = kafka.admin();
  await admin.connect();
  const dlqTopic = `${config.kafkaTopic}.dlq`;
  let maxMessageBytes = config.kafkaMaxMessageBytes;
  try {
    const topics = [{ topic: config.kafkaTopic }, { topic: dlqTopic }];
    if (config.scoresTopic) topics.push({ topic: config.scoresTopic });
    const created = await ensureTopics(admin, topics);
    if (created.length) log.info({ created }, 'created topics');
    maxMessageBytes ??= await topicMaxMessageBytes(brokers, dlqTopic).catch((err) => {
      log.warn({ err, topic: dlqTopic }, 'could not read max.message.bytes; assuming 1,000,000 (set KAFKA_MAX_MESSAGE_BYTES)');
      return null;
    });
  } finally {
    await admin.disconnect();
  }
  const producer = await connectProducer(kafka, { idempotent: true });
  const source = new KafkaSource({
    kafka,
    groupId: config.kafkaGroup,
    topics: [config.kafkaTopic],
    logger: log,
    onAssign: hooks.onAssign,
    tuning: { sessionTimeoutMs: config.kafkaSessionTimeoutMs, heartbeatIntervalMs: Math.max(500, Math.floor(config.kafkaSessionTimeoutMs / 10)) },
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
