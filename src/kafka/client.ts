/**
 * The one Kafka client of the server, its benchmarks and its tests: @confluentinc/kafka-javascript
 * (librdkafka) through its KafkaJS-compatible API. Why this client: docs/benchmarks.md "Kafka
 * clients" (per-partition pause and commits, revoke-before-assign rebalance callbacks, the
 * idempotent producer; kafkajs is unmaintained since 2023). Every other module imports Kafka
 * types from here, never from the package, so the client stays swappable in one folder.
 */
import ckjs from '@confluentinc/kafka-javascript';
import type { KafkaJS } from '@confluentinc/kafka-javascript';

export type Kafka = KafkaJS.Kafka;
export type Admin = KafkaJS.Admin;
export type Producer = KafkaJS.Producer;
export type Consumer = KafkaJS.Consumer;
export type KafkaMessage = KafkaJS.KafkaMessage;
export type IHeaders = KafkaJS.IHeaders;
export type TopicPartition = KafkaJS.TopicPartition;
export type TopicPartitionOffset = KafkaJS.TopicPartitionOffset;
export type ConsumerConstructorConfig = KafkaJS.ConsumerConstructorConfig;
export type EachBatchPayload = KafkaJS.EachBatchPayload;

const { KafkaJS: K } = ckjs;
/** The client's error codes (librdkafka's: negative are local, positive the broker's). */
export const KafkaErrorCodes = K.ErrorCodes;

/** Where the client's own log lines go (a pino logger fits). */
export interface KafkaLogSink {
  error(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  /** Client log lines at warn and error level; without it the client logs nothing. */
  log?: KafkaLogSink;
}

/**
 * A client for `brokers`. librdkafka retries connections and requests by itself (with backoff)
 * for as long as the process runs, so no caller rebuilds clients after transient failures.
 */
export function createKafka(o: KafkaClientOptions): Kafka {
  return new K.Kafka({
    kafkaJS: {
      clientId: o.clientId,
      brokers: o.brokers,
      logLevel: o.log ? K.logLevel.WARN : K.logLevel.NOTHING,
      ...(o.log ? { logger: toClientLogger(o.log) } : {}),
    },
  });
}

function toClientLogger(sink: KafkaLogSink): KafkaJS.Logger {
  let level: KafkaJS.logLevel = K.logLevel.WARN;
  const logger: KafkaJS.Logger = {
    error: (message, extra) => { if (level >= K.logLevel.ERROR) sink.error({ ...extra }, message); },
    warn: (message, extra) => { if (level >= K.logLevel.WARN) sink.warn({ ...extra }, message); },
    info: () => {},
    debug: () => {},
    namespace: () => logger,
    setLogLevel: (l) => { level = l; },
  };
  return logger;
}
