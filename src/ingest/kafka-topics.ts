/**
 * Topic set-up: the server creates the topics it reads and writes (the project's broker runs
 * with auto-creation off, so a typo cannot create a topic). Idempotent.
 */
import type { Admin } from 'kafkajs';

export interface TopicSpec {
  topic: string;
  /** Default 3 (the broker's default in scripts/kafka.sh). */
  numPartitions?: number;
}

/** Creates each topic that does not exist yet; returns the names it created. */
export async function ensureTopics(admin: Admin, topics: readonly TopicSpec[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t.topic));
  if (!missing.length) return [];
  await admin.createTopics({
    topics: missing.map((t) => ({ topic: t.topic, numPartitions: t.numPartitions ?? 3, replicationFactor: 1 })),
    waitForLeaders: true,
  });
  return missing.map((t) => t.topic);
}
