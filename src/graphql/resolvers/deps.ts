/** What the resolvers read from; the server passes these in, the context carries only the caller. */
import type { ScorerInfo, ScoreStore } from '../../core/ports.js';
import type { ScoreFeed } from '../../core/ports.js';

/** Health of the parts the API does not own, as the app reports it. */
export interface HealthReport {
  ok: boolean;
  /** Chunk source state, e.g. 'kafka: connected', 'in-process'. */
  source: string;
  /** Store state, e.g. 'sqlite: ok'. */
  store: string;
}

/** ScorerInfo plus the manifest's headline metrics (any JSON), when the app has them. */
export type ModelInfoSource = ScorerInfo & { metrics?: unknown };

export interface ApiDeps {
  store: ScoreStore;
  feed: ScoreFeed;
  scorerInfo: () => ModelInfoSource;
  health: () => HealthReport | Promise<HealthReport>;
  /** Wall-clock ms when the API started, for uptimeSeconds. */
  startedAtMs: () => number;
}
