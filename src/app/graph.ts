/**
 * Builds the whole product from a config: every stage, wired once, nothing started. What it
 * returns lists its long-lived parts in start order; src/app/lifecycle.ts runs them (start in
 * that order, stop backwards) and docs/lifecycle.md draws it:
 *
 *   kafka producer (connected while building) -> store -> analytics -> scorer (manifest,
 *   workers) -> data path (decode, window, pipeline: built from the manifest; window ticker)
 *   -> hub -> scores bridge (consuming from the topic's end) -> API (listening) -> sources
 *   (ingest sockets, chunk source consuming) -> lag sampler -> stale-call sweeper
 *
 * Stopping `sources` is the drain: ingest sockets close (what they sent is queued), the source
 * stops fetching and waits while the pipeline seals, scores, stores and publishes every open
 * segment, then commits what was released; everything after it has nothing left in flight.
 */
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { ChunkSource, DeadLetterSink, OwnershipStore, ScorePublisher, ScoreStore } from '../core/ports.js';
import type { ChunkSourceRef } from '../core/types.js';
import { createAnalytics, type Analytics } from '../analytics/index.js';
import { createAuth } from '../auth/index.js';
import { createApiServer, type ApiServer } from '../graphql/index.js';
import { analyticsSchema } from '../graphql/resolvers/analytics.js';
import { createStaticHandler } from '../http/static.js';
import { MemoryDeadLetterSink, MemorySource } from '../ingest/index.js';
import { memorySourceDelivery } from '../ingest/ws/endpoint.js';
import { RecordOutcomes } from '../ingest/ws/outcomes.js';
import { TopicWriter } from '../ingest/ws/topic-writer.js';
import { LagSampler } from '../kafka/lag.js';
import { ScoreHub } from '../publish/hub.js';
import { ScoresBridge } from '../publish/scores-bridge.js';
import { createOnnxScorer, type OnnxScorer } from '../score/onnx-scorer.js';
import { autoWorkerCount, type CpuSources } from '../score/worker-count.js';
import { Ownership } from '../store/ownership.js';
import { PostgresScoreStore } from '../store/postgres/index.js';
import { SqliteScoreStore } from '../store/sqlite-store.js';
import { watchWrites, WriteHealth } from '../store/write-health.js';
import type { WindowOptionsInput } from '../window/index.js';
import type { AppConfig } from './config.js';
import { buildDataPath, type DataPath } from './data-path.js';
import type { KafkaParts } from './kafka.js';
import type { Part } from './lifecycle.js';
import { createMetrics, type PipelineMetrics } from './metrics.js';
import { registerOpsMetrics } from './ops-metrics.js';
import { repoRoot } from './paths.js';
import { createAppWsIngest } from './ws-ingest.js';

export interface AppOverrides {
  /** Replace the store (tests, the PostgreSQL store). */
  store?: ScoreStore;
  /** Window options (src/window/options.ts) over the defaults, e.g. a short idleTimeoutMs or
   *  autoOpenCalls: false for tests. The model-bound ones (sampleRate, maxSegmentMs,
   *  maxVideoFrames) always come from the manifest. Default: none (the window's defaults). */
  window?: WindowOptionsInput;
}

export interface Graph {
  readonly api: ApiServer;
  readonly scorer: OnnxScorer;
  readonly store: ScoreStore;
  readonly hub: ScoreHub;
  /** What the pipeline publishes to: the scores-topic bridge with Kafka (several instances), else the hub. */
  readonly publisher: ScorePublisher;
  readonly analytics: Analytics;
  readonly metrics: PipelineMetrics;
  /** The chunk source: a MemorySource in embedded mode (push records into it), else Kafka. */
  readonly source: ChunkSource;
  readonly deadLetters: DeadLetterSink;
  /** The stages built from the model's manifest; null until the scorer started. */
  dataPath(): DataPath | null;
  /** Why the instance is not ready (empty: ready). The same checks as GET /readyz. */
  readiness(): Promise<string[]>;
  /** The long-lived parts in start order (the lifecycle stops them backwards). */
  readonly parts: Part[];
}

export async function buildGraph(config: AppConfig, logger: Logger, overrides: AppOverrides = {}): Promise<Graph> {
  const metrics = createMetrics({ defaults: true });
  const workers = scorerWorkers(config, logger);
  const scorer = createOnnxScorer({ modelDir: config.modelDir ?? undefined, providers: config.providers, workers, intraOpThreads: config.scorerIntraOpThreads, textBatch: config.scorerTextBatch, speech: config.speech });
  // Every write's outcome feeds readiness: reads can still answer while every write fails (disk full).
  const writeHealth = new WriteHealth();
  const store = watchWrites(overrides.store ?? (config.pgUrl ? new PostgresScoreStore({ url: config.pgUrl }) : new SqliteScoreStore({ path: config.dbPath })), writeHealth);
  const storeLabel = overrides.store ? 'custom' : config.pgUrl ? 'postgresql' : `sqlite: ${config.dbPath}`;
  const hub = new ScoreHub();
  // New alerts also go to the scores topic (when Kafka is on), so every instance's `alerts`
  // subscribers see them; `bridge` is built below, and alerts only come once the pipeline runs.
  const analytics = createAnalytics({
    dbPath: config.dbPath, pgUrl: config.pgUrl ?? undefined, scoreStore: store, logger,
    onAlert: (alert) => bridge?.publishAlert(alert),
  });
  const auth = await createAuth(config.auth);
  if (auth.insecure) logger.warn(auth.describe());
  else logger.info(auth.describe());

  let path: DataPath | null = null;
  let ingestStarted = false;
  // Partitions this instance owns, from the chunk consumer's group joins (null: not joined yet).
  let assignment: string[] | null = null;
  // Owner epochs of the assigned partitions (several instances, src/store/fencing.ts): with Kafka
  // and a store that keeps them (both of ours do); a custom store without them runs unfenced.
  const ownership = config.kafkaBrokers && isOwnershipStore(store)
    ? new Ownership({
      store, owner: config.instanceId, logger: logger.child({ component: 'ownership' }),
      onLost: (p) => path?.window.fence(p),
      onStale: (p) => path?.window.reset(p),
    })
    : null;
  const onAssign = (partitions: string[]) => {
    assignment = partitions;
    const dropped = path?.window.assign(partitions) ?? [];
    ownership?.assign(partitions);
    logger.info({ partitions, dropped }, 'chunk partitions assigned');
  };
  let kafka: KafkaParts | null = null;
  let source: ChunkSource;
  let deadLetters: DeadLetterSink;
  if (config.kafkaBrokers) {
    // Loaded only when Kafka is configured: the embedded product never loads the Kafka client.
    const { createKafkaParts } = await import('./kafka.js');
    kafka = await createKafkaParts(config, logger, { onAssign });
    source = kafka.source;
    deadLetters = kafka.deadLetters;
  } else {
    source = new MemorySource({ capacity: 4096 });
    deadLetters = new MemoryDeadLetterSink();
  }
  // Live calls over WebSockets (/ingest, /ingest/twilio, /ingest/audiohook): into the
  // in-process source (acks when released), or with Kafka into the chunk topic (acks when written).
  const outcomes = new RecordOutcomes();
  const topicWriter = kafka ? new TopicWriter({ producer: kafka.producer, topic: config.kafkaTopic }) : null;
  const wsIngest = createAppWsIngest({
    deliver: topicWriter ? topicWriter.push : memorySourceDelivery(source as MemorySource, outcomes),
    context: auth.context, origins: config.origins, maxSocketsPerSource: config.connectionLimits.maxSocketsPerSource,
    audioRecordMs: config.ingestAudioRecordMs, registry: metrics.registry, logger,
  });
  /** Releases at the source, and tells an ingest socket its record is finished. */
  const release = (refs: ChunkSourceRef[]) => {
    source.release(refs);
    outcomes.released(refs);
  };

  const bridge = kafka && config.scoresTopic
    ? new ScoresBridge({
      kafka: kafka.kafka,
      producer: kafka.producer,
      topic: config.scoresTopic,
      instanceId: config.instanceId,
      groupPrefix: config.kafkaGroup,
      local: hub,
      alerts: analytics.hub,
      logger: logger.child({ component: 'scores-bridge' }),
      tuning: { sessionTimeoutMs: config.kafkaSessionTimeoutMs, heartbeatIntervalMs: Math.max(500, Math.floor(config.kafkaSessionTimeoutMs / 10)) },
    })
    : null;
  const publisher: ScorePublisher = bridge ?? hub;
  const ops = registerOpsMetrics(metrics.registry, {
    hub: () => hub.stats(), scorer: () => scorer.info(), scorerWorkers: workers, bridge: bridge ? () => bridge.stats() : undefined,
    chunkConsumerRestarts: kafka ? () => kafka.source.restarts : undefined,
    fanOut: () => api.fanOutStats(), // read at scrape time, after `api` is built below
  });
  const lag = kafka
    ? new LagSampler({
      brokers: config.kafkaBrokers ?? [], groupId: config.kafkaGroup, topic: config.kafkaTopic, intervalMs: config.lagSampleMs,
      onSample: (l) => {
        ops.setLag(l);
        path?.sweeper?.onLag(l);
      },
      onError: (err) => logger.warn({ err }, 'consumer lag sample failed'),
    })
    : null;

  const startedAt = Date.now();
  /** Liveness is the process answering; readiness is every part of the data path working. */
  const readiness = async (): Promise<string[]> => {
    const why: string[] = [];
    if (!path || !ingestStarted) why.push('not started');
    if (kafka && assignment === null) why.push('chunk consumer has not joined its group');
    if (kafka && !kafka.source.consuming()) why.push('chunk consumer is not in its group');
    if (bridge && !bridge.ready()) why.push('scores topic consumer is not consuming');
    let workers = 0;
    try {
      workers = scorer.info().workers;
    } catch {
      // not started
    }
    if (workers < 1) why.push('scorer has no worker');
    try {
      await Promise.race([
        store.getCall('readyz-probe', 'readyz-probe'),
        new Promise((_, reject) => setTimeout(() => reject(new Error('store did not answer within 2 s')), 2_000).unref()),
      ]);
    } catch (e) {
      why.push(`store unreachable: ${e instanceof Error ? e.message : String(e)}`);
    }
    const writes = writeHealth.problem();
    if (writes) why.push(writes);
    return why;
  };
  const metricsRoute = async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const route = (req.url ?? '').split('?')[0];
    if (route === '/metrics') {
      res.writeHead(200, { 'content-type': metrics.registry.contentType });
      res.end(await metrics.registry.metrics());
      return true;
    }
    if (route === '/healthz' || route === '/readyz') {
      const why = route === '/healthz' ? [] : await readiness();
      res.writeHead(why.length === 0 ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: why.length === 0, instance: config.instanceId, uptimeSeconds: (Date.now() - startedAt) / 1000, ...(why.length ? { notReady: why } : {}) }));
      return true;
    }
    return false;
  };

  const api = createApiServer({
    store,
    hub,
    port: config.port,
    host: config.host,
    logger,
    devTenant: config.devTenant,
    context: auth.context,
    limits: config.queryLimits,
    connectionLimits: config.connectionLimits,
    origins: config.origins,
    onSocketRefused: (reason) => metrics.socketsRefused.inc({ reason }),
    scorerInfo: () => ({ ...scorer.info(), metrics: safeManifestMetrics(scorer) }),
    health: () => ({ ok: path !== null && ingestStarted, source: kafka ? `kafka: ${config.kafkaTopic}` : 'in-process', store: storeLabel }),
    extraRoutes: [metricsRoute, createStaticHandler({ root: join(repoRoot(), 'dashboard', 'dist'), exclude: ['/graphql', '/metrics', '/healthz', '/readyz'] })],
    schemaExtensions: [analyticsSchema(analytics)],
    upgradeRoutes: wsIngest.routes,
  });

  const parts: Part[] = [];
  if (kafka) {
    const k = kafka;
    parts.push({ name: 'kafka producer', stop: () => k.disconnect() });
  }
  parts.push(
    { name: 'store', start: () => store.start(), stop: () => store.stop() },
    { name: 'analytics', start: () => analytics.start(), stop: () => analytics.stop() },
    { name: 'scorer', start: () => scorer.start(), stop: () => scorer.stop() },
    {
      name: 'data path',
      start: () => {
        path = buildDataPath({ config, logger, scorer, store, publisher, analytics, metrics, deadLetters, outcomes, kafka, ownership, release, window: overrides.window });
        if (assignment) path.window.assign(assignment);
        path.pipeline.start();
      },
      // Drained already when the sources stopped; this waits for nothing left in flight.
      stop: () => path?.pipeline.drain(),
    },
    { name: 'hub', start: () => hub.start(), stop: () => hub.stop() },
  );
  if (bridge) parts.push({ name: 'scores bridge', start: () => bridge.start(), stop: () => bridge.stop() });
  parts.push(
    { name: 'api', start: () => api.start(), stop: () => api.stop() },
    {
      name: 'sources',
      start: async () => {
        await source.start(path!.ingest);
        ingestStarted = true;
      },
      stop: async () => {
        // Ingest sockets first: they close (1001) and what they already received is queued
        // (with Kafka: written to the topic, before the producer disconnects).
        await wsIngest.stop();
        await topicWriter?.idle();
        // The source stops fetching at once but waits for its in-flight records to be released
        // before its last commit; draining the pipeline (seal, score, store everything open) is
        // what releases them, so the two run together.
        let markDrained!: () => void;
        const drained = new Promise<void>((r) => (markDrained = r));
        const sourceStopped = source.stop(drained);
        try {
          await path?.pipeline.drain();
        } finally {
          markDrained();
        }
        await sourceStopped;
      },
    },
  );
  if (lag) parts.push({ name: 'lag sampler', start: () => lag.start().catch((err) => logger.warn({ err }, 'consumer lag sampler did not start')), stop: () => lag.stop() });
  if (ownership) parts.push({ name: 'stale-call sweeper', start: () => path?.sweeper?.start(), stop: () => path?.sweeper?.stop() });

  return { api, scorer, store, hub, publisher, analytics, metrics, source, deadLetters, readiness, parts, dataPath: () => path };
}

function isOwnershipStore(store: ScoreStore): store is ScoreStore & OwnershipStore {
  const s = store as Partial<OwnershipStore>;
  return typeof s.claimPartitions === 'function' && typeof s.partitionEpochs === 'function' && typeof s.staleActiveCalls === 'function';
}

function safeManifestMetrics(scorer: OnnxScorer): unknown {
  try {
    return scorer.manifest().raw.metrics ?? null;
  } catch {
    return null;
  }
}

/** SCORER_WORKERS: the explicit count, or `auto`'s choice from the cores (logged either way). */
export function scorerWorkers(config: Pick<AppConfig, 'scorerWorkers'>, logger: Logger, cpu?: CpuSources): number {
  if (config.scorerWorkers !== 'auto') {
    logger.info({ workers: config.scorerWorkers, source: 'SCORER_WORKERS' }, 'scoring workers');
    return config.scorerWorkers;
  }
  const c = autoWorkerCount(cpu);
  logger.info({ workers: c.workers, source: 'auto', cores: c.cores, availableParallelism: c.parallelism, cgroupCores: c.cgroupCores }, 'scoring workers: usable cores less one for the main thread');
  return c.workers;
}
