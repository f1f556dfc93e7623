/**
 * Kafka for tests: where the broker is, whether it answers, clients that fail fast, and fresh
 * uniquely named topics and consumer groups so tests (and engineers sharing one broker) never
 * see each other's records.
 *
 * The broker is the one `npm run kafka:start` (scripts/kafka.sh) runs, or any Kafka named by
 * `KAFKA_BROKERS` (comma-separated host:port; default `127.0.0.1:9092`).
 *
 * Topic clean-up: fresh topics are NOT deleted when their test ends, because deleting a topic
 * under a consumer that is still disconnecting makes the client log spurious errors and retry.
 * Instead the first `freshTopic` call of a process deletes fresh topics older than
 * `STALE_TOPIC_AGE_MS` (left by earlier runs; their creation time is in the name), so a
 * long-lived dev broker stays small. `scripts/kafka.sh reset` wipes everything.
 */
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import { createKafka, type Admin, type Kafka, type Producer } from '../../src/kafka/client.js';
import { createTopicsAndWait } from '../../src/kafka/admin.js';
import { requireService, tcpReachable } from './services.js';

/** Bootstrap addresses from `KAFKA_BROKERS` (comma-separated), default `127.0.0.1:9092`. */
export function kafkaBrokers(): string[] {
  const raw = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
  return raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

/**
 * A client of the project's one Kafka client (src/kafka). librdkafka retries by itself; tests
 * bound their waits with their own timeouts. `KAFKA_DEBUG=1` prints the client's warnings.
 */
export function testKafka(clientId = 'test', brokers: string[] = kafkaBrokers()): Kafka {
  const log = process.env.KAFKA_DEBUG === '1'
    ? { error: (o: object, m?: string) => console.error(m, o), warn: (o: object, m?: string) => console.warn(m, o) }
    : undefined;
  return createKafka({ clientId, brokers, log });
}

/**
 * An unconnected producer as the server builds them (src/kafka/producer.ts: acks=all, murmur2
 * partitioning like the Java client, so a key lands where the server's own producer puts it).
 */
export function testProducer(kafka: Kafka, config: { idempotent?: boolean } = {}): Producer {
  return kafka.producer({ partitioner: 'murmur2_random', 'linger.ms': 5, kafkaJS: { acks: -1, idempotent: config.idempotent ?? false } });
}

/**
 * The partition a keyed record goes to from the producers here: murmur2 of the key, as the Java
 * client, kafkajs' default partitioner and librdkafka's `murmur2_random` compute it.
 */
export function partitionOfKey(key: string | Buffer, partitions: number): number {
  return (murmur2(typeof key === 'string' ? Buffer.from(key) : key) & 0x7fffffff) % partitions;
}

/** Kafka's murmur2 (seed 0x9747b28c), as a signed 32-bit int. */
export function murmur2(data: Buffer): number {
  const m = 0x5bd1e995;
  const len = data.length;
  let h = 0x9747b28c ^ len;
  const whole = len & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  switch (len & 3) {
    case 3: h ^= data[whole + 2] << 16; // falls through
    case 2: h ^= data[whole + 1] << 8; // falls through
    case 1: h ^= data[whole]; h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/**
 * Reachability check + the CI rule of services.ts: TCP to the first broker (1.5 s), then a
 * metadata round trip so a non-Kafka listener on the port does not count. Returns the broker
 * list, or null after the test was skipped (outside CI only).
 */
export async function requireKafka(t: TestContext): Promise<string[] | null> {
  const brokers = kafkaBrokers();
  const ok = await requireService(t, {
    name: 'KAFKA',
    hint: `npm run kafka:start (looked for ${brokers.join(',')}; set KAFKA_BROKERS to use another)`,
    probe: () => kafkaAnswers(brokers),
  });
  return ok ? brokers : null;
}

async function kafkaAnswers(brokers: string[]): Promise<boolean> {
  const [host, port] = splitHostPort(brokers[0] ?? '');
  if (!(await tcpReachable(host, port))) return false;
  const admin = createKafka({ clientId: 'probe', brokers }).admin();
  try {
    await admin.connect();
    await admin.listTopics({ timeout: 5_000 }); // a metadata round trip: a Kafka broker answered
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
  await warmGroupCoordinator(brokers);
  return true;
}

/**
 * On a fresh broker the first group request creates `__consumer_offsets`, and until its
 * partitions load every consumer's join fails with "coordinator is loading" and is retried
 * (logged). Asking for a group's offsets, with retries, takes that hit here instead of in a
 * test. Failure is not fatal: the tests retry too.
 */
export async function warmGroupCoordinator(brokers: string[]): Promise<void> {
  const admin = createKafka({ clientId: 'probe-warm', brokers }).admin();
  try {
    await admin.connect();
    // A group offsets lookup needs the group's coordinator, i.e. __consumer_offsets loaded; it
    // answers "coordinator loading" until then. (Not describeGroups: in
    // @confluentinc/kafka-javascript 1.10.1 its answer for a group on a coordinator still loading
    // crashes the process in native code, strlen(NULL) in FromConsumerGroupDescription.)
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        await admin.fetchOffsets({ groupId: 'probe-warm-group', topics: [], timeout: 5_000 });
        break;
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  } catch {
    // the tests' own clients retry; a slow coordinator only costs them time
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

function splitHostPort(address: string): [string, number] {
  const i = address.lastIndexOf(':');
  return [address.slice(0, i), Number(address.slice(i + 1))];
}

/** Fresh topics from earlier runs older than this are deleted (10 minutes; tests are shorter). */
export const STALE_TOPIC_AGE_MS = 10 * 60_000;

// a fresh topic, or one the app derives from it (`<topic>.dlq`, `<topic>.scores`): the derived
// ones never matched before, and piled up on long-lived machines (1,039 partition folders seen)
export const FRESH_TOPIC = /^test-.+-(\d{13})-[0-9a-f]{6}(\.[a-z]+)*$/;
let staleSweep: Promise<void> | undefined;

/** A unique name `test-<prefix>-<epoch ms>-<6 hex>`; prefix is cut to Kafka's legal characters. */
export function freshName(prefix: string): string {
  const safe = prefix.replace(/[^a-zA-Z0-9.-]/g, '-').slice(0, 80) || 'x';
  return `test-${safe}-${Date.now()}-${randomBytes(3).toString('hex')}`;
}

/** A consumer group id nobody else uses, so every test starts with no committed offsets. */
export function freshGroupId(prefix: string): string {
  return freshName(`group-${prefix}`);
}

/**
 * Creates a topic with a unique name and `partitions` partitions (default 3), replication 1,
 * and waits until every partition has a leader. Returns the name. Extra topic configs
 * (e.g. `{ 'retention.ms': '60000' }`) go in `configs`.
 */
export async function freshTopic(
  prefix: string,
  partitions = 3,
  configs: Record<string, string> = {},
  kafka: Kafka = testKafka('fresh-topic'),
): Promise<string> {
  const topic = freshName(prefix);
  const admin = kafka.admin();
  await admin.connect();
  try {
    staleSweep ??= deleteStaleTopics(admin).catch((err: unknown) => {
      console.warn(`freshTopic: could not delete stale test topics: ${String(err)}`);
    });
    await staleSweep;
    const created = await createTopicsAndWait(admin, [{ topic, numPartitions: partitions, configs }]);
    if (!created) throw new Error(`topic ${topic} already existed`);
  } finally {
    await admin.disconnect();
  }
  return topic;
}

async function deleteStaleTopics(admin: Admin): Promise<void> {
  const now = Date.now();
  const stale = (await admin.listTopics()).filter((name) => {
    const m = FRESH_TOPIC.exec(name);
    return m !== null && now - Number(m[1]) > STALE_TOPIC_AGE_MS;
  });
  if (stale.length > 0) await admin.deleteTopics({ topics: stale, timeout: 10_000 });
}
