/**
 * The product as one object: the graph of stages (src/app/graph.ts: built, nothing started)
 * and the one lifecycle that starts its parts in order and stops them backwards
 * (src/app/lifecycle.ts; docs/lifecycle.md draws the order).
 */
import type { Logger } from 'pino';
import type { ChunkSource, DeadLetterSink, ScorePublisher, ScoreStore } from '../core/ports.js';
import type { Analytics } from '../analytics/index.js';
import type { ApiServer } from '../graphql/index.js';
import type { ScoreHub } from '../publish/hub.js';
import type { OnnxScorer } from '../score/onnx-scorer.js';
import type { AppConfig } from './config.js';
import { type AppOverrides, buildGraph } from './graph.js';
import { Lifecycle } from './lifecycle.js';
import type { PipelineMetrics } from './metrics.js';
import type { Pipeline } from './pipeline.js';

export type { AppOverrides } from './graph.js';

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
  /** The parts in start order (stop runs them backwards). */
  readonly order: string[];
  /** Why the instance is not ready (empty: ready). The same checks as GET /readyz. */
  readiness(): Promise<string[]>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function createApp(config: AppConfig, logger: Logger, overrides: AppOverrides = {}): Promise<App> {
  const graph = await buildGraph(config, logger, overrides);
  const lifecycle = new Lifecycle(graph.parts, logger);
  const { api, scorer, store, hub, publisher, analytics, metrics, source, deadLetters, readiness } = graph;
  return {
    config, api, scorer, store, hub, publisher, analytics, metrics, source, deadLetters, readiness,
    order: lifecycle.order(),
    get pipeline(): Pipeline {
      const path = graph.dataPath();
      if (!path) throw new Error('app not started');
      return path.pipeline;
    },
    async start() {
      await lifecycle.start();
      logger.info({ url: api.url, model: scorer.manifest().version, provider: scorer.info().executionProvider, source: source.name }, 'sentiment server started');
    },
    async stop() {
      await lifecycle.stop();
      logger.info('sentiment server stopped');
    },
  };
}
