/**
 * The one Kafka client of the server, its benchmarks and its tests: @confluentinc/kafka-javascript
 * (librdkafka) through its KafkaJS-compatible API. Why this client: docs/benchmarks.md "Kafka
 * clients" (per-partition pause and commits, revoke-before-assign rebalance callbacks, the
 * idempotent producer; kafkajs is unmaintained since 2023). Every other module imports Kafka
 * types from here, never from the package, so the client stays swappable in one folder.
 */
import { createRequire } from 'node:module';
import type Ckjs from '@confluentinc/kafka-javascript';
import type { KafkaJS } from '@confluentinc/kafka-javascript';
import { ConfigError } from '../core/errors.js';

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

let native: typeof Ckjs | null = null;

/**
 * The native client, loaded on first use. It is an optional dependency: its install builds
 * librdkafka (or fetches a prebuilt binary from GitHub), which some machines cannot do, and the
 * embedded product (no KAFKA_BROKERS) never needs it; so `npm ci && npm start` works anywhere
 * Node runs, and only Kafka mode asks for the client, with a clear error when it is missing.
 */
export function kafkaNative(): typeof Ckjs {
  if (native) return native;
  try {
    native = createRequire(import.meta.url)('@confluentinc/kafka-javascript') as typeof Ckjs;
  } catch (e) {
    throw new ConfigError([{
      variable: 'KAFKA_BROKERS',
      reason: 'Kafka mode needs the optional dependency @confluentinc/kafka-javascript, which is not installed or did not build here; '
        + 'install it with `CKJS_LINKING=dynamic npm ci` (builds librdkafka against libssl-dev and zlib1g-dev: scripts/setup-system.sh), or unset KAFKA_BROKERS for the embedded product',
    }], { cause: e });
  }
  return native;
}

/** The client's error codes (librdkafka's: negative are local, positive the broker's). */
export function kafkaErrorCodes(): typeof KafkaJS.ErrorCodes {
  return kafkaNative().KafkaJS.ErrorCodes;
}

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
  const K = kafkaNative().KafkaJS;
  return new K.Kafka({
    kafkaJS: {
      clientId: o.clientId,
      brokers: o.brokers,
      logLevel: o.log ? K.logLevel.WARN : K.logLevel.NOTHING,
      ...(o.log ? { logger: toClientLogger(o.log, K.logLevel) } : {}),
    },
  });
}

function toClientLogger(sink: KafkaLogSink, levels: typeof KafkaJS.logLevel): KafkaJS.Logger {
  let level: KafkaJS.logLevel = levels.WARN;
  const logger: KafkaJS.Logger = {
    error: (message, extra) => { if (level >= levels.ERROR) sink.error({ ...extra }, message); },
    warn: (message, extra) => { if (level >= levels.WARN) sink.warn({ ...extra }, message); },
    info: () => {},
    debug: () => {},
    namespace: () => logger,
    setLogLevel: (l) => { level = l; },
  };
  return logger;
}
