/**
 * The product as one object: the graph of stages (src/app/graph.ts: built, nothing started)
 * and the one lifecycle that starts its parts in order and stops them backwards
 * (src/app/lifecycle.ts; docs/lifecycle.md draws the order).
 */
import type { Logger } from 'pino';
import type { AppConfig } from './config.js';
import { type AppOverrides, buildGraph, type Graph } from './graph.js';
import { Lifecycle } from './lifecycle.js';
import type { Pipeline } from './pipeline.js';

export type { AppOverrides } from './graph.js';

/** The graph's stages (src/app/graph.ts), the running pipeline, and start/stop. */
export interface App extends Omit<Graph, 'parts' | 'dataPath'> {
  readonly config: AppConfig;
  /** The running pipeline (throws before `start`). */
  readonly pipeline: Pipeline;
  /** The parts in start order (stop runs them backwards). */
  readonly order: string[];
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
