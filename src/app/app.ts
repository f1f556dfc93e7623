/**
 * Builds the whole product from a config: every stage, wired once. Start and stop orders are
 * written here and nowhere else (docs/lifecycle.md draws them).
 *
 * Start:  scorer (manifest, workers) -> store -> analytics -> hub -> scores bridge (consuming
 *         from the topic's end) -> API (listening) -> pipeline ticker -> source (consuming)
 *         -> lag sampler -> demo producer
 * Stop:   demo -> ingest sockets (closed; what they sent is queued) -> source (no new chunks)
 *         -> pipeline drain (seal, score, store, publish all open segments; the source commits
 *         what was released) -> scores bridge (queued records go out, group left) -> lag sampler
 *         -> API drain -> hub -> analytics -> store -> scorer workers -> Kafka producer
 */
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { AppError } from '../core/errors.js';
import type { ChunkSourceRef } from '../core/types.js';
import type { ChunkSource, DeadLetterSink, OwnershipStore, RawChunk, ScorePublisher, ScoreStore } from '../core/ports.js';
import { LagSampler } from '../cluster/lag.js';
import { PartitionedWindow } from '../cluster/partitioned-window.js';
import { CommitHolds } from '../cluster/commit-hold.js';
import { Ownership } from '../cluster/ownership.js';
import { recoverCall } from '../cluster/recovery.js';
import { StaleCallSweeper } from '../cluster/stale-calls.js';
import { ScoresBridge } from '../cluster/scores-bridge.js';
import { createAnalytics, type Analytics } from '../analytics/index.js';
import { createApiServer, type ApiServer } from '../graphql/index.js';
import { createStaticHandler } from '../http/static.js';
import { createDecoder, createIngest, MemoryDeadLetterSink, MemorySource } from '../ingest/index.js';
import { ScoreHub } from '../publish/hub.js';
import { modalityFlags } from '../score/features.js';
import { labelFor } from '../score/label.js';
import { createOnnxScorer, type OnnxScorer } from '../score/onnx-scorer.js';
import { createAuth } from '../auth/index.js';
import { PostgresScoreStore } from '../store/postgres/index.js';
import { SqliteScoreStore } from '../store/sqlite-store.js';
import { watchWrites, WriteHealth } from '../store/write-health.js';
import { DEFAULT_WINDOW_OPTIONS } from '../window/options.js';
import { Windower, type WindowOptionsInput } from '../window/index.js';
import { type AppConfig, chunkTenantRule } from './config.js';
import type { KafkaParts } from './kafka.js';
import { keyForLog, positionForLog } from './log-safe.js';
import { createMetrics, type PipelineMetrics } from './metrics.js';
import { RateLimitedWarn } from './rate-limited-warn.js';
import { registerOpsMetrics } from './ops-metrics.js';
import { Pipeline } from './pipeline.js';
import { repoRoot } from './paths.js';
import { createAppWsIngest } from './ws-ingest.js';
import { memorySourceDelivery } from '../ingest/ws/endpoint.js';
import { RecordOutcomes } from '../ingest/ws/outcomes.js';
import { TopicWriter } from '../ingest/ws/topic-writer.js';

export interface App {
  readonly config: AppConfig;
  readonly api: ApiServer;
  readonly scorer: OnnxScorer;
  readonly store: ScoreStore;
  readonly hub: ScoreHub;
  /** What the pipeline publishes to: the scores-topic bridge with Kafka (several instances), else the hub. */
  readonly publisher: ScorePublisher;
  readonly analytics: Analytics;
  readonly metrics: PipelineMetrics;
  readonly pipeline: Pipeline;
  /** The chunk source: a MemorySource in embedded mode (push records into it), else Kafka. */
  readonly source: ChunkSource;
  readonly deadLetters: DeadLetterSink;
  /** Why the instance is not ready (empty: ready). The same checks as GET /readyz. */
  readiness(): Promise<string[]>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface AppOverrides {
  /** Replace the store (tests, the PostgreSQL store). */
  store?: ScoreStore;
  /** Window options (src/window/options.ts) over the defaults, e.g. a short idleTimeoutMs or
   *  autoOpenCalls: false for tests. The model-bound ones (sampleRate, maxSegmentMs,
   *  maxVideoFrames) always come from the manifest. Default: none (the window's defaults). */
  window?: WindowOptionsInput;
}

export async function createApp(config: AppConfig, logger: Logger, overrides: AppOverrides = {}): Promise<App> {
  const metrics = createMetrics({ defaults: true });
  const scorer = createOnnxScorer({ modelDir: config.modelDir ?? undefined, providers: config.providers, workers: config.scorerWorkers, speech: config.speech });
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

  let kafka: KafkaParts | null = null;
  let source: ChunkSource;
  let deadLetters: DeadLetterSink;
  // Partitions this instance owns, from the chunk consumer's group joins (null: not joined yet).
  let assignment: string[] | null = null;
  let window: PartitionedWindow | null = null;
  // Owner epochs of the assigned partitions (several instances, src/store/fencing.ts): with Kafka
  // and a store that keeps them (both of ours do); a custom store without them runs unfenced.
  const ownership = config.kafkaBrokers && isOwnershipStore(store)
    ? new Ownership({
      store, owner: config.instanceId, logger: logger.child({ component: 'ownership' }),
      onLost: (p) => window?.fence(p),
      onStale: (p) => window?.reset(p),
    })
    : null;
  const onAssign = (partitions: string[]) => {
    assignment = partitions;
    const dropped = window?.assign(partitions) ?? [];
    ownership?.assign(partitions);
    logger.info({ partitions, dropped }, 'chunk partitions assigned');
  };
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
    context: auth.context, origins: config.origins, maxSocketsPerSource: config.connectionLimits.maxSocketsPerSource, registry: metrics.registry, logger,
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
    hub: () => hub.stats(), scorer: () => scorer.info(), bridge: bridge ? () => bridge.stats() : undefined,
    chunkConsumerRestarts: kafka ? () => kafka.source.restarts : undefined,
  });
  const lag = kafka
    ? new LagSampler({
      brokers: config.kafkaBrokers ?? [], groupId: config.kafkaGroup, topic: config.kafkaTopic, intervalMs: config.lagSampleMs,
      onSample: (l) => {
        ops.setLag(l);
        sweeper?.onLag(l);
      },
      onError: (err) => logger.warn({ err }, 'consumer lag sample failed'),
    })
    : null;

  // Stages that depend on the model's numbers are built after the scorer has read the manifest.
  let pipeline: Pipeline | null = null;
  let sweeper: StaleCallSweeper | null = null;
  let ingestStarted = false;
  const startedAt = Date.now();
  /** Liveness is the process answering; readiness is every part of the data path working. */
  const readiness = async (): Promise<string[]> => {
    const why: string[] = [];
    if (!pipeline || !ingestStarted) why.push('not started');
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
    const path = (req.url ?? '').split('?')[0];
    if (path === '/metrics') {
      res.writeHead(200, { 'content-type': metrics.registry.contentType });
      res.end(await metrics.registry.metrics());
      return true;
    }
    if (path === '/healthz' || path === '/readyz') {
      const why = path === '/healthz' ? [] : await readiness();
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
    health: () => ({ ok: pipeline !== null && ingestStarted, source: kafka ? `kafka: ${config.kafkaTopic}` : 'in-process', store: storeLabel }),
    extraRoutes: [metricsRoute, createStaticHandler({ root: join(repoRoot(), 'dashboard', 'dist'), exclude: ['/graphql', '/metrics', '/healthz', '/readyz'] })],
    schemaExtensions: [{ typeDefs: analytics.typeDefs, resolvers: analytics.resolvers }],
    upgradeRoutes: wsIngest.routes,
  });

  const app: App = {
    config, api, scorer, store, hub, publisher, analytics, metrics, source, deadLetters, readiness,
    get pipeline(): Pipeline {
      if (!pipeline) throw new Error('app not started');
      return pipeline;
    },
    async start() {
      await scorer.start();
      const manifest = scorer.manifest();
      const defaultTenant = chunkTenantRule(config);
      const decode = createDecoder({ modelSampleRate: manifest.audio.sampleRate, videoFeatureDim: manifest.video.featureDim, defaultTenant });
      const windowOptions = {
        ...overrides.window,
        sampleRate: manifest.audio.sampleRate,
        maxSegmentMs: (manifest.audio.maxSamples / manifest.audio.sampleRate) * 1000,
        maxVideoFrames: manifest.video.maxFrames,
      };
      // One Windower per source partition; with Kafka, a call met mid-way continues from storage.
      window = new PartitionedWindow({
        make: () => new Windower(windowOptions),
        recover: kafka
          ? async (callId, tenant) => {
            const pos = await recoverCall(store, callId, tenant);
            if (pos) logger.info({ callId, tenant, ...positionForLog(pos) }, 'call met mid-way: continuing from storage');
            // An ACTIVE call's previous owner may have stored these and died before publishing
            // them (an ENDED call's end is stored after all its scores were published).
            if (pos?.call.status === 'ACTIVE') for (const s of pos.lastScores) await publisher.publishScore(s);
            return pos;
          }
          : undefined,
        onSkip: (_chunk, reason) => metrics.chunksSkipped.inc({ reason }),
        holds: kafka ? new CommitHolds({
          maxSpanMs: config.handover.replayMaxMs,
          maxRecords: config.handover.holdMaxRecords,
          onGiveUp: (reason) => metrics.holdsGivenUp.inc({ reason }),
        }) : undefined,
        onHandover: (event, call) => {
          metrics.handover.inc({ event });
          if (event === 'mismatch') logger.warn({ callId: call.callId, tenant: call.tenant }, 'hand-over replay cut a stored segment differently; the stored one stays');
          else if (event === 'replay' || event === 'cut') logger.info({ callId: call.callId, tenant: call.tenant, mode: event }, 'hand-over: call continues');
        },
        behind: kafka ? (part) => kafka!.source.behind(part) : undefined,
      });
      if (assignment) window.assign(assignment);
      const win = window;
      if (ownership) {
        sweeper = new StaleCallSweeper({
          store: store as ScoreStore & OwnershipStore, ownership, window: win,
          idleTimeoutMs: overrides.window?.idleTimeoutMs ?? DEFAULT_WINDOW_OPTIONS.idleTimeoutMs,
          logger: logger.child({ component: 'stale-calls' }),
        });
      }
      let ingestReject: ((raw: RawChunk, e: AppError) => Promise<void>) | null = null;
      const p = new Pipeline({
        window,
        scorer,
        store,
        publisher,
        metrics,
        logger,
        labeler: (v) => labelFor(v, manifest.labels),
        flags: (segment) => modalityFlags(segment, manifest),
        release,
        reject: (raw, e) => ingestReject!(raw, e),
        fencing: ownership
          ? {
            token: async (partition) => (partition === undefined ? undefined : ownership.token(partition)),
            fenced: (token) => ownership.fenced(token),
            verify: () => ownership.verify(),
          }
          : undefined,
        onScored: async (score) => {
          await analytics.service.onScored(score);
        },
        onCall: (call) => {
          if (call.status !== 'ACTIVE') analytics.service.onCallEnded(call.callId, call.tenant);
        },
      });
      const rejectLog = new RateLimitedWarn(logger);
      const ingest = createIngest({
        source: { release },
        decode,
        deadLetters,
        forward: (chunk, raw) => {
          metrics.chunksAccepted.inc({ modality: chunk.modality });
          return p.onChunk(chunk, raw);
        },
        onRejected: (raw, e) => {
          outcomes.rejected(raw.source, e);
          rejectLog.warn(e.code, { callId: keyForLog(raw.key), partition: raw.source.partition, offset: raw.source.offset }, e.message);
        },
        onDeadLettered: (_raw, e, kind) => {
          metrics.deadLetters.inc({ code: e.code });
          if (kind === 'reference') metrics.deadLetterReferences.inc({ code: e.code });
        },
        onDeadLetterFailed: (raw, e, cause) => {
          metrics.deadLetterFailures.inc({ code: e.code });
          logger.warn({ code: e.code, partition: raw.source.partition, offset: raw.source.offset, err: cause }, 'dead letter not written; retrying');
        },
      });
      ingestReject = (raw, e) => ingest.reject(raw, e);
      await store.start();
      await analytics.start();
      await hub.start();
      await bridge?.start();
      await api.start();
      pipeline = p;
      p.start();
      await source.start(ingest);
      ingestStarted = true;
      await lag?.start().catch((err) => logger.warn({ err }, 'consumer lag sampler did not start'));
      sweeper?.start();
      logger.info({ url: api.url, model: manifest.version, provider: scorer.info().executionProvider, source: source.name }, 'sentiment server started');
    },
    async stop() {
      // The source stops fetching at once but waits for its in-flight records to be released
      // before its last commit; draining the pipeline (seal, score, store everything open) is
      // what releases them, so the two run together.
      sweeper?.stop();
      // Ingest sockets first: they close (1001) and what they already received is queued
      // (with Kafka: written to the topic, before the producer disconnects below).
      await wsIngest.stop();
      await topicWriter?.idle();
      let markDrained!: () => void;
      const drained = new Promise<void>((r) => (markDrained = r));
      const sourceStopped = ingestStarted ? source.stop(drained) : Promise.resolve();
      try {
        if (pipeline) await pipeline.drain();
      } finally {
        markDrained();
      }
      await sourceStopped;
      await bridge?.stop();
      await lag?.stop();
      await api.stop();
      await hub.stop();
      await analytics.stop();
      await store.stop();
      await scorer.stop();
      await kafka?.disconnect();
      logger.info('sentiment server stopped');
    },
  };
  return app;
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
