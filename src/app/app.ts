/**
 * Builds the whole product from a config: every stage, wired once. Start and stop orders are
 * written here and nowhere else (docs/lifecycle.md draws them).
 *
 * Start:  scorer (manifest, workers) -> store -> analytics -> hub -> API (listening)
 *         -> pipeline ticker -> source (consuming) -> demo producer
 * Stop:   demo -> source (no new chunks) -> pipeline drain (seal, score, store, publish all open
 *         segments; the source commits what was released) -> API drain -> hub -> analytics
 *         -> store -> scorer workers
 */
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { AppError } from '../core/errors.js';
import type { ChunkSource, DeadLetterSink, RawChunk, ScoreStore } from '../core/ports.js';
import { createAnalytics, type Analytics } from '../analytics/index.js';
import { createApiServer, type ApiServer } from '../graphql/index.js';
import { createStaticHandler } from '../http/static.js';
import { createDecoder, createIngest, MemoryDeadLetterSink, MemorySource } from '../ingest/index.js';
import { ScoreHub } from '../publish/hub.js';
import { modalityFlags } from '../score/features.js';
import { labelFor } from '../score/label.js';
import { createOnnxScorer, type OnnxScorer } from '../score/onnx-scorer.js';
import { SqliteScoreStore } from '../store/sqlite-store.js';
import { Windower } from '../window/index.js';
import type { AppConfig } from './config.js';
import type { KafkaParts } from './kafka.js';
import { createMetrics, type PipelineMetrics } from './metrics.js';
import { Pipeline } from './pipeline.js';
import { repoRoot } from './paths.js';

export interface App {
  readonly config: AppConfig;
  readonly api: ApiServer;
  readonly scorer: OnnxScorer;
  readonly store: ScoreStore;
  readonly hub: ScoreHub;
  readonly analytics: Analytics;
  readonly metrics: PipelineMetrics;
  readonly pipeline: Pipeline;
  /** The chunk source: a MemorySource in embedded mode (push records into it), else Kafka. */
  readonly source: ChunkSource;
  readonly deadLetters: DeadLetterSink;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface AppOverrides {
  /** Replace the store (tests, the PostgreSQL store). */
  store?: ScoreStore;
}

export async function createApp(config: AppConfig, logger: Logger, overrides: AppOverrides = {}): Promise<App> {
  const metrics = createMetrics({ defaults: true });
  const scorer = createOnnxScorer({ modelDir: config.modelDir ?? undefined, providers: config.providers, workers: config.scorerWorkers });
  const store = overrides.store ?? new SqliteScoreStore({ path: config.dbPath });
  const hub = new ScoreHub();
  const analytics = createAnalytics({ dbPath: config.dbPath, scoreStore: store, logger });

  let kafka: KafkaParts | null = null;
  let source: ChunkSource;
  let deadLetters: DeadLetterSink;
  if (config.kafkaBrokers) {
    // Loaded only when Kafka is configured: the embedded product never loads kafkajs.
    const { createKafkaParts } = await import('./kafka.js');
    kafka = await createKafkaParts(config, logger);
    source = kafka.source;
    deadLetters = kafka.deadLetters;
  } else {
    source = new MemorySource({ capacity: 4096 });
    deadLetters = new MemoryDeadLetterSink();
  }

  // Stages that depend on the model's numbers are built after the scorer has read the manifest.
  let pipeline: Pipeline | null = null;
  const startedAt = Date.now();
  const metricsRoute = async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const path = (req.url ?? '').split('?')[0];
    if (path === '/metrics') {
      res.writeHead(200, { 'content-type': metrics.registry.contentType });
      res.end(await metrics.registry.metrics());
      return true;
    }
    if (path === '/healthz' || path === '/readyz') {
      const ready = path === '/healthz' || (pipeline !== null && scorer.info().workers > 0);
      res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: ready, uptimeSeconds: (Date.now() - startedAt) / 1000 }));
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
    scorerInfo: () => ({ ...scorer.info(), metrics: safeManifestMetrics(scorer) }),
    health: () => ({ ok: pipeline !== null, source: kafka ? `kafka: ${config.kafkaTopic}` : 'in-process', store: store instanceof SqliteScoreStore ? `sqlite: ${config.dbPath}` : 'custom' }),
    extraRoutes: [metricsRoute, createStaticHandler({ root: join(repoRoot(), 'dashboard', 'dist'), exclude: ['/graphql', '/metrics', '/healthz', '/readyz'] })],
    schemaExtensions: [{ typeDefs: analytics.typeDefs, resolvers: analytics.resolvers }],
  });

  let ingestStarted = false;
  const app: App = {
    config, api, scorer, store, hub, analytics, metrics, source, deadLetters,
    get pipeline(): Pipeline {
      if (!pipeline) throw new Error('app not started');
      return pipeline;
    },
    async start() {
      await scorer.start();
      const manifest = scorer.manifest();
      const decode = createDecoder({ modelSampleRate: manifest.audio.sampleRate, videoFeatureDim: manifest.video.featureDim });
      const window = new Windower({
        sampleRate: manifest.audio.sampleRate,
        maxSegmentMs: (manifest.audio.maxSamples / manifest.audio.sampleRate) * 1000,
        maxVideoFrames: manifest.video.maxFrames,
      });
      let ingestReject: ((raw: RawChunk, e: AppError) => Promise<void>) | null = null;
      const p = new Pipeline({
        window,
        scorer,
        store,
        publisher: hub,
        metrics,
        logger,
        labeler: (v) => labelFor(v, manifest.labels),
        flags: (segment) => modalityFlags(segment, manifest),
        release: (refs) => source.release(refs),
        reject: (raw, e) => ingestReject!(raw, e),
        onScored: async (score) => {
          await analytics.service.onScored(score);
        },
        onCall: (call) => {
          if (call.status !== 'ACTIVE') analytics.service.onCallEnded(call.callId);
        },
      });
      const ingest = createIngest({
        source,
        decode,
        deadLetters,
        forward: (chunk, raw) => p.onChunk(chunk, raw),
        onRejected: (raw, e) => {
          metrics.deadLetters.inc({ code: e.code });
          logger.warn({ code: e.code, callId: raw.key?.toString('utf8'), partition: raw.source.partition, offset: raw.source.offset }, e.message);
        },
      });
      ingestReject = (raw, e) => ingest.reject(raw, e);
      await store.start();
      await analytics.start();
      await hub.start();
      await api.start();
      pipeline = p;
      p.start();
      await source.start(ingest);
      ingestStarted = true;
      logger.info({ url: api.url, model: manifest.version, provider: scorer.info().executionProvider, source: source.name }, 'sentiment server started');
    },
    async stop() {
      // The source stops fetching at once but waits for its in-flight records to be released
      // before its last commit; draining the pipeline (seal, score, store everything open) is
      // what releases them, so the two run together.
      const sourceStopped = ingestStarted ? source.stop() : Promise.resolve();
      if (pipeline) await pipeline.drain();
      await sourceStopped;
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

function safeManifestMetrics(scorer: OnnxScorer): unknown {
  try {
    return scorer.manifest().raw.metrics ?? null;
  } catch {
    return null;
  }
}
