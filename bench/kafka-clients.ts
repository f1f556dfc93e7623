/**
 * Kafka clients benchmark: kafkajs vs @confluentinc/kafka-javascript (librdkafka, through its
 * KafkaJS-compatible API) vs @platformatic/kafka (pure JS), on the real broker, in one run.
 *
 *   nice node --import tsx bench/kafka-clients.ts [--clients kafkajs,confluent,platformatic]
 *       [--small 60000] [--large 1500] [--small-bytes 340] [--large-bytes 65536] [--partitions 3]
 *       [--ckjs-batch=32]   (the Confluent client's js.consumer.max.batch.size; -1 = no limit)
 *
 * Each (client, record size) runs in its own child process (so CPU time is that client's
 * alone, librdkafka's threads included) on a fresh topic and a fresh consumer group:
 * - produce: `count` records (key = one of 64 call ids, 2 headers, like the chunk contract),
 *   sent in batches of 500 (large records: as many as fit in 900 kB), acks = all, each batch awaited before the next;
 * - consume: the same records by a new group from the earliest offset, manual commits (one
 *   per partition at the end), the handler reading key, value and headers of every record.
 * records/s = count / wall time of the phase (consume: from connect to the last record, group
 *   join included; the last column: from the first record to the last); CPU-ms per 1k records = process user+system CPU of the phase / count * 1000.
 * Small records are chunk-sized (20 ms of 8 kHz 16-bit audio = 320 B + envelope ~ 340 B);
 * large ones stand for a face-feature or long audio chunk.
 * A client that is not installed is reported as such (kafkajs and @platformatic/kafka are not
 * dependencies of the product: `npm i --no-save kafkajs @platformatic/kafka` to rerun).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const CLIENTS = ['kafkajs', 'confluent', 'platformatic'] as const;
type ClientName = (typeof CLIENTS)[number];
/** Records per send: 500, fewer for large records so a batch stays under the broker's 1 MB message limit. */
const batchSize = (bytes: number) => Math.max(1, Math.min(500, Math.floor(900_000 / (bytes + 100))));
const KEYS = 64;

interface PhaseResult { records: number; wallMs: number; cpuMs: number; /** consume: from the first record to the last (group join excluded) */ streamMs?: number }
interface RunResult { client: ClientName; bytes: number; produce: PhaseResult; consume: PhaseResult }

/** One client's produce and consume of `count` records on `topic`. */
interface Driver {
  produce(topic: string, records: BenchRecord[]): Promise<void>;
  consume(topic: string, groupId: string, count: number): Promise<void>;
  close(): Promise<void>;
}
interface BenchRecord { key: Buffer; value: Buffer; headers: Record<string, string> }

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: CLIENTS.join(',') },
    small: { type: 'string', default: '60000' },
    large: { type: 'string', default: '1500' },
    'small-bytes': { type: 'string', default: '340' },
    'large-bytes': { type: 'string', default: '65536' },
    partitions: { type: 'string', default: '3' },
    'ckjs-batch': { type: 'string', default: '32' },
    brokers: { type: 'string', default: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092' },
    // child mode
    run: { type: 'string' },
    bytes: { type: 'string' },
    count: { type: 'string' },
    topic: { type: 'string' },
  },
});
const BROKERS = values.brokers!.split(',');

function cpuMsSince(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
}

async function phase(count: number, work: () => Promise<void>): Promise<PhaseResult> {
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  await work();
  return { records: count, wallMs: performance.now() - t0, cpuMs: cpuMsSince(cpu) };
}

function makeRecords(count: number, bytes: number): BenchRecord[] {
  const value = randomBytes(bytes);
  return Array.from({ length: count }, (_, i) => ({
    key: Buffer.from(`call-${i % KEYS}`),
    value,
    headers: { 'content-type': 'audio/pcm;rate=8000', 'chunk-seq': String(i) },
  }));
}

/** Resolves when `seen()` reaches `count`; rejects after `ms` with what it got. */
function until(count: number, seen: () => number, ms = 300_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + ms;
    const tick = setInterval(() => {
      if (seen() >= count) { clearInterval(tick); resolve(); }
      else if (Date.now() > deadline) { clearInterval(tick); reject(new Error(`consumed ${seen()} of ${count}`)); }
    }, 2);
  });
}

/**
 * The clients compared but not depended on (kafkajs, @platformatic/kafka) are loaded by name and
 * typed by the slice used here, so the bench type-checks whether or not they are installed.
 */
async function optional<T>(name: string): Promise<T> {
  return (await import(name)) as T;
}
interface BenchMessage { key: unknown; value: unknown; headers?: unknown }
interface KjsBatchPayload { batch: { partition: number; messages: BenchMessage[]; lastOffset(): string }; resolveOffset(offset: string): void }
interface KjsModule {
  Kafka: new (config: object) => {
    producer(config: object): { connect(): Promise<void>; send(record: object): Promise<unknown>; disconnect(): Promise<void> };
    consumer(config: object): {
      connect(): Promise<void>; subscribe(s: object): Promise<void>; disconnect(): Promise<void>;
      run(config: { autoCommit: boolean; eachBatch(p: KjsBatchPayload): Promise<void> }): Promise<void>;
      commitOffsets(points: { topic: string; partition: number; offset: string }[]): Promise<void>;
    };
  };
  logLevel: { NOTHING: number };
  Partitioners: { DefaultPartitioner: unknown };
}
interface PlatformaticMessage extends BenchMessage { partition: number; offset: bigint }
interface PlatformaticModule {
  Producer: new (o: object) => { send(o: { messages: object[] }): Promise<unknown>; close(): Promise<void> };
  Consumer: new (o: object) => {
    consume(o: object): Promise<{ on(ev: 'data', f: (m: PlatformaticMessage) => void): void; close(): Promise<void> }>;
    commit(o: { offsets: { topic: string; partition: number; offset: bigint; leaderEpoch: number }[] }): Promise<void>;
    close(force?: boolean): Promise<void>;
  };
  MessagesStreamModes: { COMMITTED: string };
  ProduceAcks: { ALL: number };
}

async function kafkajsDriver(): Promise<Driver> {
  const { Kafka, logLevel, Partitioners } = await optional<KjsModule>('kafkajs');
  const kafka = new Kafka({ clientId: 'bench-kafkajs', brokers: BROKERS, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  const closers: (() => Promise<void>)[] = [() => producer.disconnect()];
  return {
    async produce(topic, records) {
      await producer.connect();
      for (let i = 0, n = batchSize(records[0]?.value.length ?? 0); i < records.length; i += n) {
        await producer.send({ topic, acks: -1, messages: records.slice(i, i + n) });
      }
    },
    async consume(topic, groupId, count) {
      const consumer = kafka.consumer({ groupId });
      closers.push(() => consumer.disconnect());
      let seen = 0;
      const last = new Map<number, string>();
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch, resolveOffset }) => {
          for (const m of batch.messages) {
            touch(m.key, m.value, m.headers);
            seen++;
          }
          resolveOffset(batch.lastOffset());
          last.set(batch.partition, batch.lastOffset());
        },
      });
      await until(count, () => seen);
      await consumer.commitOffsets([...last].map(([partition, o]) => ({ topic, partition, offset: String(BigInt(o) + 1n) })));
    },
    async close() { for (const c of closers) await c(); },
  };
}

async function confluentDriver(): Promise<Driver> {
  const { KafkaJS } = await import('@confluentinc/kafka-javascript');
  const kafka = new KafkaJS.Kafka({ kafkaJS: { clientId: 'bench-confluent', brokers: BROKERS, logLevel: KafkaJS.logLevel.NOTHING } });
  const producer = kafka.producer({ kafkaJS: { acks: -1 } });
  const closers: (() => Promise<void>)[] = [() => producer.disconnect()];
  return {
    async produce(topic, records) {
      await producer.connect();
      for (let i = 0, n = batchSize(records[0]?.value.length ?? 0); i < records.length; i += n) {
        await producer.send({ topic, messages: records.slice(i, i + n) });
      }
    },
    async consume(topic, groupId, count) {
      // eachBatch hands over at most 32 records by default (js.consumer.max.batch.size); --ckjs-batch sets it
      const consumer = kafka.consumer({ kafkaJS: { groupId, fromBeginning: true, autoCommit: false }, 'js.consumer.max.batch.size': Number(values['ckjs-batch']) });
      closers.push(() => consumer.disconnect());
      let seen = 0;
      const last = new Map<number, string>();
      await consumer.connect();
      await consumer.subscribe({ topics: [topic] });
      await consumer.run({
        eachBatch: async ({ batch, resolveOffset }) => {
          for (const m of batch.messages) {
            touch(m.key, m.value, m.headers);
            seen++;
          }
          resolveOffset(batch.lastOffset());
          last.set(batch.partition, batch.lastOffset());
        },
      });
      await until(count, () => seen);
      await consumer.commitOffsets([...last].map(([partition, o]) => ({ topic, partition, offset: String(BigInt(o) + 1n) })));
    },
    async close() { for (const c of closers) await c(); },
  };
}

async function platformaticDriver(): Promise<Driver> {
  const { Producer, Consumer, MessagesStreamModes, ProduceAcks } = await optional<PlatformaticModule>('@platformatic/kafka');
  const producer = new Producer({ clientId: 'bench-platformatic', bootstrapBrokers: BROKERS, acks: ProduceAcks.ALL });
  const closers: (() => Promise<void>)[] = [() => producer.close()];
  return {
    async produce(topic, records) {
      for (let i = 0, n = batchSize(records[0]?.value.length ?? 0); i < records.length; i += n) {
        await producer.send({ messages: records.slice(i, i + n).map((r) => ({ topic, ...r, headers: new Map(Object.entries(r.headers).map(([k, v]) => [Buffer.from(k), Buffer.from(v)])) })) });
      }
    },
    async consume(topic, groupId, count) {
      const consumer = new Consumer({ groupId, clientId: 'bench-platformatic', bootstrapBrokers: BROKERS });
      closers.unshift(() => consumer.close(true));
      let seen = 0;
      const last = new Map<number, bigint>();
      const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.COMMITTED, fallbackMode: 'earliest', autocommit: false });
      stream.on('data', (m) => {
        touch(m.key, m.value, m.headers);
        seen++;
        last.set(m.partition, m.offset);
      });
      await until(count, () => seen);
      await consumer.commit({ offsets: [...last].map(([partition, o]) => ({ topic, partition, offset: o + 1n, leaderEpoch: -1 })) });
      await stream.close();
    },
    async close() { for (const c of closers) await c(); },
  };
}

let sink = 0;
let firstRecordAt = 0;
/** What every handler does with a record: read it, so no client wins by decoding lazily. */
function touch(key: unknown, value: unknown, headers: unknown): void {
  if (!firstRecordAt) firstRecordAt = performance.now();
  if (Buffer.isBuffer(value)) sink += value.length;
  if (Buffer.isBuffer(key)) sink += key.length;
  if (headers instanceof Map) sink += headers.size;
  else if (headers && typeof headers === 'object') sink += Object.keys(headers).length;
}

async function child(client: ClientName, topic: string, bytes: number, count: number): Promise<void> {
  const make = { kafkajs: kafkajsDriver, confluent: confluentDriver, platformatic: platformaticDriver }[client];
  const driver = await make();
  const records = makeRecords(count, bytes);
  const produce = await phase(count, () => driver.produce(topic, records));
  const consume = await phase(count, () => driver.consume(topic, `bench-${client}-${randomBytes(4).toString('hex')}`, count));
  consume.streamMs = performance.now() - firstRecordAt;
  await driver.close();
  const out: RunResult = { client, bytes, produce, consume };
  process.stdout.write(`RESULT ${JSON.stringify(out)}\n`);
  process.exit(0); // some clients keep sockets/threads a little after close: the run is over
}

async function installed(client: ClientName): Promise<boolean> {
  const pkg = { kafkajs: 'kafkajs', confluent: '@confluentinc/kafka-javascript', platformatic: '@platformatic/kafka' }[client];
  try { await import(pkg); return true; } catch { return false; }
}

function runChild(client: ClientName, topic: string, bytes: number, count: number): Promise<RunResult> {
  const args = ['--import', 'tsx', fileURLToPath(import.meta.url), '--run', client, '--topic', topic, '--bytes', String(bytes), '--count', String(count), '--brokers', BROKERS.join(','), `--ckjs-batch=${values['ckjs-batch']}`];
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code === 0 && line) resolve(JSON.parse(line.slice(7)) as RunResult);
      else reject(new Error(`${client} ${bytes} B: exit ${code}\n${out}`));
    });
  });
}

async function createTopic(topic: string, partitions: number): Promise<void> {
  const { createKafka } = await import('../src/kafka/client.js');
  const { createTopicsAndWait } = await import('../src/kafka/admin.js');
  const admin = createKafka({ clientId: 'bench-admin', brokers: BROKERS }).admin();
  await admin.connect();
  try {
    await createTopicsAndWait(admin, [{ topic, numPartitions: partitions }]);
  } finally {
    await admin.disconnect();
  }
}

function row(r: RunResult): string {
  const f = (p: PhaseResult) => `${Math.round(p.records / (p.wallMs / 1000)).toLocaleString('en-US').padStart(9)} rec/s ${((p.cpuMs / p.records) * 1000).toFixed(0).padStart(6)} CPU-ms/1k`;
  const streamed = Math.round(r.consume.records / ((r.consume.streamMs ?? NaN) / 1000)).toLocaleString('en-US');
  return `| ${r.client.padEnd(12)} | ${String(r.bytes).padStart(6)} B | ${f(r.produce)} | ${f(r.consume)} | ${streamed.padStart(9)} rec/s |`;
}

async function main(): Promise<void> {
  if (values.run) return child(values.run as ClientName, values.topic!, Number(values.bytes), Number(values.count));
  const wanted = values.clients!.split(',').map((c) => c.trim()) as ClientName[];
  const cases = [
    { bytes: Number(values['small-bytes']), count: Number(values.small) },
    { bytes: Number(values['large-bytes']), count: Number(values.large) },
  ];
  console.log(`node ${process.version}; brokers ${BROKERS.join(',')}; ${values.partitions} partitions; batches of 500 (large: fit in 900 kB); acks=all`);
  console.log('| client       |  record | produce                              | consume (group join included)        | consume, first to last record |');
  console.log('|---|---|---|---|---|');
  for (const c of cases) {
    for (const client of wanted) {
      if (!(await installed(client))) { console.log(`| ${client} | not installed |`); continue; }
      const topic = `bench-clients-${Date.now()}-${randomBytes(3).toString('hex')}`;
      await createTopic(topic, Number(values.partitions));
      console.log(row(await runChild(client, topic, c.bytes, c.count)));
    }
  }
}

await main();
