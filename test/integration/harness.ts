/**
 * The whole product over real Kafka, for the integration suites: the app (createApp with
 * KAFKA_BROKERS) on a fresh topic, group and SQLite file; a producer that records the
 * offset of every record it writes; real graphql-ws subscribers; GraphQL queries over HTTP; the
 * group's committed offsets; and a reader of the dead-letter topic.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Client, createClient } from 'graphql-ws';
import type { Kafka, Producer } from '../../src/kafka/client.js';
import { pino } from 'pino';
import WebSocket from 'ws';
import { type App, type AppOverrides, createApp } from '../../src/app/app.js';
import { loadConfig } from '../../src/app/config.js';
import { type FixtureCall, loadFixtureCalls } from '../../src/app/demo/fixtures.js';
import { repoRoot } from '../../src/app/paths.js';
import type { WireRecord } from '../../src/ingest/encode.js';
import { freshGroupId, freshName, testKafka, testProducer } from '../support/kafka.js';

/** Every field of SegmentScore, as the subscription and the queries ask for it. */
export const SCORE_FIELDS = `callId tenant channel segmentIndex revision startMs endMs valence label confidence textMissing
  modalities { text audio video } modalityWeights { text audio video } text textSource recognisedText modelVersion executionProvider scoredAt`;

/** A SegmentScore as the API returns it. */
export interface ApiScore {
  callId: string;
  tenant: string;
  channel: string;
  segmentIndex: number;
  revision: number;
  startMs: number;
  endMs: number;
  valence: number;
  label: string;
  confidence: number;
  textMissing: boolean;
  modalities: { text: string; audio: string; video: string };
  modalityWeights: { text: number; audio: number; video: number };
  text: string | null;
  textSource: string;
  recognisedText: string | null;
  modelVersion: string;
  executionProvider: string;
  scoredAt: string;
}

/** The key a score is idempotent on. */
export const scoreKey = (s: Pick<ApiScore, 'callId' | 'channel' | 'segmentIndex' | 'revision'>): string =>
  `${s.callId}/${s.channel}/${s.segmentIndex}/${s.revision}`;

let fixtureCache: FixtureCall[] | null = null;
/** The committed demo calls (fixtures/calls), loaded once. */
export function fixtures(): FixtureCall[] {
  fixtureCache ??= loadFixtureCalls(join(repoRoot(), 'fixtures', 'calls'));
  return fixtureCache;
}

export interface AppHandle {
  app: App;
  stop(): Promise<void>;
}

/** Starts the app on `topic` / `group` with its SQLite file at `dbPath` (tenant `demo`, free port); `env` adds variables. */
export async function startApp(o: { brokers: string[]; topic: string; group: string; dbPath: string; overrides?: AppOverrides; env?: Record<string, string> }): Promise<AppHandle> {
  const config = loadConfig({
    ...o.env,
    KAFKA_BROKERS: o.brokers.join(','),
    KAFKA_TOPIC: o.topic,
    KAFKA_GROUP: o.group,
    DB_PATH: o.dbPath,
    DATA_DIR: join(o.dbPath, '..'),
    PORT: '0',
    DEMO: '0',
    DEV_TENANT: 'demo',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
  });
  const app = await createApp(config, pino({ level: config.logLevel }), o.overrides);
  await app.start();
  let stopped = false;
  return {
    app,
    async stop() {
      if (stopped) return;
      stopped = true;
      await app.stop();
    },
  };
}

/** A temp folder for one test's SQLite file; `cleanup` removes it. */
export function tempDb(prefix: string): { dbPath: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  return { dbPath: join(dir, 'scores.db'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A produced record and where it landed. */
export interface Produced {
  record: WireRecord;
  partition: number;
  offset: number;
}

/** A connected producer that writes WireRecords to one topic and remembers their offsets. */
export class RecordingProducer {
  readonly sent: Produced[] = [];
  private constructor(private readonly producer: Producer, readonly topic: string) {}

  static async connect(kafka: Kafka, topic: string): Promise<RecordingProducer> {
    const producer = testProducer(kafka, { idempotent: true });
    await producer.connect();
    return new RecordingProducer(producer, topic);
  }

  /** Writes the records in order, in requests of at most ~512 KB (the broker refuses record
   *  batches over 1 MB). Key = call id keeps a call in one partition. */
  async send(records: WireRecord[]): Promise<Produced[]> {
    const out: Produced[] = [];
    for (let i = 0; i < records.length;) {
      let bytes = 0;
      let j = i;
      while (j < records.length && (j === i || bytes + records[j].value.length < 512_000)) bytes += records[j++].value.length;
      out.push(...(await this.sendBatch(records.slice(i, j))));
      i = j;
    }
    this.sent.push(...out);
    return out;
  }

  private async sendBatch(records: WireRecord[]): Promise<Produced[]> {
    const meta = await this.producer.send({
      topic: this.topic,
      messages: records.map((r) => ({ key: r.key, value: r.value, headers: r.headers as Record<string, string> })),
    });
    // the client answers one baseOffset per partition, so the offsets are known only when every
    // record went to one partition (one call's records, or a one-partition topic).
    if (meta.length !== 1) throw new Error(`one send() went to ${meta.length} partitions: send one call's records at a time`);
    const { partition, baseOffset } = meta[0];
    return records.map((record, i) => ({ record, partition, offset: Number(baseOffset) + i }));
  }

  async disconnect(): Promise<void> {
    await this.producer.disconnect();
  }
}

/** Collects the `next` payloads of one graphql-ws subscription. */
export interface Collector<T> {
  events: T[];
  errors: unknown[];
  stop(): void;
}

/** A real graphql-ws client on `ws` (no retries: a dropped socket fails the test). */
export function wsClient(url: string): Client {
  return createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false });
}

export function collect<T>(client: Client, query: string, field: string, variables?: Record<string, unknown>): Collector<T> {
  const c: Collector<T> = { events: [], errors: [], stop: () => {} };
  c.stop = client.subscribe<Record<string, T>>({ query, variables }, {
    next: (v) => {
      if (v.errors) c.errors.push(v.errors);
      else if (v.data) c.events.push(v.data[field]);
    },
    error: (e) => c.errors.push(e),
    complete: () => {},
  });
  return c;
}

/** Polls `cond` every 50 ms until it holds, or throws `what` after `ms`. */
export async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** POSTs a GraphQL query; throws on transport or GraphQL errors. */
export async function gql<T = any>(url: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data?: T; errors?: unknown[] };
  if (body.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`);
  return body.data as T;
}

/** Every stored score of a call (all revisions), paging through Query.segments. */
export async function storedScores(url: string, callId: string): Promise<ApiScore[]> {
  const out: ApiScore[] = [];
  let after: string | null = null;
  for (;;) {
    const d: any = await gql(url, `query($id: ID!, $after: String) { segments(callId: $id, first: 100, after: $after, allRevisions: true) {
      edges { node { ${SCORE_FIELDS} } } pageInfo { hasNextPage endCursor } } }`, { id: callId, after });
    out.push(...d.segments.edges.map((e: { node: ApiScore }) => e.node));
    if (!d.segments.pageInfo.hasNextPage) return out;
    after = d.segments.pageInfo.endCursor;
  }
}

/** The group's committed offset per partition (-1 or absent: none; a group that never
 *  committed answers no topic at all). */
export async function committedOffsets(kafka: Kafka, group: string, topic: string): Promise<Map<number, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [t] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return new Map((t?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  } finally {
    await admin.disconnect();
  }
}

/** The log end offset (next offset to be written) per partition. */
export async function endOffsets(kafka: Kafka, topic: string): Promise<Map<number, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
  } finally {
    await admin.disconnect();
  }
}

/** A dead-letter record as read back from `<topic>.dlq`. */
export interface DeadLetter {
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/** Reads `<topic>.dlq` from the beginning until `count` records arrived (or throws after `ms`). */
export async function readDeadLetters(kafka: Kafka, topic: string, count: number, ms = 30_000): Promise<DeadLetter[]> {
  const consumer = kafka.consumer({ kafkaJS: { groupId: freshGroupId('dlq-reader'), maxWaitTimeInMs: 200, fromBeginning: true } });
  const out: DeadLetter[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [`${topic}.dlq`] });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = Array.isArray(v) ? v.map(String).join(',') : String(v);
        out.push({ key: message.key?.toString('utf8') ?? null, value: message.value, headers });
      },
    });
    await until(() => out.length >= count, ms, `${count} dead letters on ${topic}.dlq (have ${out.length})`);
    // A little longer, so an unexpected extra record is seen too.
    await new Promise((r) => setTimeout(r, 500));
    return out;
  } finally {
    await consumer.disconnect();
  }
}

/** A unique call id for a test. */
export const callIdFor = (name: string): string => freshName(`call-${name}`);

export { testKafka };
