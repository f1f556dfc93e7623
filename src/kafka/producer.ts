/**
 * The producer wrapper: every record the server writes (dead letters, scores-topic events) goes
 * through one of these. acks=all is a producer setting with this client (it refuses `acks` per
 * send); keys are partitioned with murmur2 like the Java client and kafkajs' default partitioner,
 * so a call id maps to the same partition whichever client produced it.
 */
import type { Kafka, Producer } from './client.js';

export interface ProducerOptions {
  /** Exactly-once per partition across the client's own retries (enable.idempotence). Default false. */
  idempotent?: boolean;
  /** librdkafka's linger.ms: how long a send may wait to batch with others. Default 5. */
  lingerMs?: number;
}

/** Builds and connects a producer. */
export async function connectProducer(kafka: Kafka, o: ProducerOptions = {}): Promise<Producer> {
  const producer = kafka.producer({
    partitioner: 'murmur2_random',
    'linger.ms': o.lingerMs ?? 5,
    kafkaJS: { acks: -1, idempotent: o.idempotent ?? false },
  });
  await producer.connect();
  return producer;
}
