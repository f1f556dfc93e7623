/**
 * Topic set-up: the server creates the topics it reads and writes (the project's broker runs
 * with auto-creation off, so a typo cannot create a topic). Idempotent.
 */
import type { Admin } from 'kafkajs';

export interface TopicSpec {
  topic: string;
  /** Default 3 (the broker's default in scripts/kafka.sh). */
  numPartitions?: number;
  /** Topic-level configs, e.g. `{ 'retention.ms': '60000' }`. */
  configs?: Record<string, string>;
}

/** Creates each topic that does not exist yet; returns the names it created. */
export async function ensureTopics(admin: Admin, topics: readonly TopicSpec[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t.topic));
  if (!missing.length) return [];
  await createTopicsAndWait(admin, missing);
  return missing.map((t) => t.topic);
}

/**
 * Creates `topics` and waits until each partition has a leader. Returns false when they all
 * existed already (kafkajs' answer to TOPIC_ALREADY_EXISTS). kafkajs' own wait is switched off:
 * it gives up on UNKNOWN_TOPIC_OR_PARTITION, which a broker busy deleting other topics answers
 * right after a create (a fresh-clone CI run failed on it inside `createTopics`).
 */
export async function createTopicsAndWait(admin: Admin, topics: readonly TopicSpec[], timeoutMs = 15_000): Promise<boolean> {
  const created = await admin.createTopics({
    topics: topics.map((t) => ({
      topic: t.topic,
      numPartitions: t.numPartitions ?? 3,
      replicationFactor: 1,
      configEntries: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
    })),
    waitForLeaders: false,
    timeout: timeoutMs,
  });
  await waitForLeaders(admin, topics.map((t) => t.topic), timeoutMs);
  return created;
}

/** Kafka protocol errors that mean "created, metadata not there yet": unknown topic, no leader. */
const NOT_YET = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE']);

/**
 * Waits until every partition of `topics` has a leader. kafkajs' own `waitForLeaders` retries
 * LEADER_NOT_AVAILABLE only; right after a create the broker may still answer
 * UNKNOWN_TOPIC_OR_PARTITION ("This server does not host this topic-partition"), seen in CI
 * on a broker busy deleting other topics. Both are retried here until `timeoutMs`.
 */
export async function waitForLeaders(admin: Admin, topics: readonly string[], timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const meta = await admin.fetchTopicMetadata({ topics: [...topics] });
      if (meta.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return;
    } catch (e) {
      if (!NOT_YET.has(protocolErrorType(e)) || Date.now() >= deadline) throw e;
    }
    if (Date.now() >= deadline) throw new Error(`topics ${topics.join(', ')}: no leader after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The Kafka error type of `e`, or of the error it wraps (kafkajs' retrier wraps the last one). */
function protocolErrorType(e: unknown): string {
  const err = e as { type?: string; cause?: { type?: string } };
  return err.type ?? err.cause?.type ?? '';
}
