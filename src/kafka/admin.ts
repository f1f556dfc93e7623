/**
 * The admin helper: topic set-up (the project's broker runs with auto-creation off, so a typo
 * cannot create a topic; idempotent), leader waits, and end offsets. One short-lived admin
 * connection per call site; callers connect and disconnect it.
 */
import { type Admin, kafkaErrorCodes } from './client.js';

export interface TopicSpec {
  topic: string;
  /** Default 3 (the broker's default in scripts/kafka.sh). */
  numPartitions?: number;
  /** Topic-level configs, e.g. `{ 'retention.ms': '60000' }`. */
  configs?: Record<string, string>;
}

/** The slice of Admin these helpers use (tests script it). */
export type TopicAdmin = Pick<Admin, 'createTopics' | 'fetchTopicMetadata' | 'listTopics'>;

/** Creates each topic that does not exist yet; returns the names it created. */
export async function ensureTopics(admin: TopicAdmin, topics: readonly TopicSpec[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t.topic));
  if (!missing.length) return [];
  await createTopicsAndWait(admin, missing);
  return missing.map((t) => t.topic);
}

/**
 * Creates `topics` and waits until each partition has a leader. Returns false when they all
 * existed already (TOPIC_ALREADY_EXISTS). The client's create returns when the controller
 * accepted it; metadata lags behind, so the wait below is ours.
 */
export async function createTopicsAndWait(admin: TopicAdmin, topics: readonly TopicSpec[], timeoutMs = 15_000): Promise<boolean> {
  const created = await admin.createTopics({
    topics: topics.map((t) => ({
      topic: t.topic,
      numPartitions: t.numPartitions ?? 3,
      replicationFactor: 1,
      configEntries: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
    })),
    timeout: timeoutMs,
  });
  await waitForLeaders(admin, topics.map((t) => t.topic), timeoutMs);
  return created;
}

/** Error codes that mean "created, metadata not there yet": unknown topic, no leader. */
const notYet = (code: number): boolean => {
  const c = kafkaErrorCodes();
  return code === c.ERR_UNKNOWN_TOPIC_OR_PART || code === c.ERR_LEADER_NOT_AVAILABLE || code === c.ERR__UNKNOWN_TOPIC;
};

/**
 * Waits until every partition of `topics` has a leader. Right after a create a busy broker may
 * still answer UNKNOWN_TOPIC_OR_PARTITION ("This server does not host this topic-partition",
 * seen in CI on a broker busy deleting other topics) or report partitions without a leader:
 * both are retried here until `timeoutMs`; any other error is thrown at once.
 */
export async function waitForLeaders(admin: TopicAdmin, topics: readonly string[], timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const meta = await admin.fetchTopicMetadata({ topics: [...topics] });
      if (meta.length === topics.length && meta.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return;
    } catch (e) {
      if (!notYet(errorCode(e)) || Date.now() >= deadline) throw e;
    }
    if (Date.now() >= deadline) throw new Error(`topics ${topics.join(', ')}: no leader after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The client error code of `e`, or of the error it wraps. */
function errorCode(e: unknown): number {
  const err = e as { code?: unknown; cause?: { code?: unknown } };
  const code = typeof err.code === 'number' ? err.code : err.cause?.code;
  return typeof code === 'number' ? code : NaN;
}

/** partition -> the topic's end offset (the next offset to be written), as a decimal string. */
export async function topicEnds(admin: Pick<Admin, 'fetchTopicOffsets'>, topic: string): Promise<Map<number, string>> {
  const ends = await admin.fetchTopicOffsets(topic);
  return new Map(ends.map((p) => [p.partition, p.high]));
}
