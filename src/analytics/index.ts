/**
 * Wiring for the lead: one call builds the analytics stage.
 *
 *   const analytics = createAnalytics({ dbPath: config.dbPath, logger, scoreStore: store });
 *   // PostgreSQL (several instances): createAnalytics({ pgUrl: config.pgUrl, logger, scoreStore: store })
 *   // or pass alertStore: createAlertStore(config.pgUrl ? { pgUrl } : { dbPath }).
 *   await analytics.start();                        // after the score store started
 *   // the API merges analytics.typeDefs and its resolvers: analyticsSchema(analytics) (src/graphql/resolvers/analytics.ts)
 *   // pipeline, after store.putScore(score):      await analytics.service.onScored(score)
 *   // pipeline, on a call that ENDED/TIMED_OUT:     analytics.service.onCallEnded(call.callId, call.tenant)
 *   await analytics.stop();                         // after the pipeline stopped, before the store
 */
import { readFileSync } from 'node:fs';
import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { AlertStore, ScoreStore } from '../core/ports.js';
import { PostgresAlertStore, type PostgresAlertStoreOptions } from '../store/postgres/alert-store.js';
import { SqliteAlertStore } from '../store/sqlite-alert-store.js';
import type { AlertEngine, AlertEngineOptions } from './engine.js';
import { type AlertHub, type AlertHubOptions, createAlertHub } from './hub.js';
import { AnalyticsService, type AnalyticsServiceOptions } from './service.js';

export type { Alert } from './alert.js';
export type { CallSummary } from '../core/alerts.js';
export type { AlertStore } from '../core/ports.js';
export { alertId, callKey } from './alert.js';
export { AlertEngine } from './engine.js';
export { PostgresAlertStore, type PostgresAlertStoreOptions } from '../store/postgres/alert-store.js';
export { SqliteAlertStore, type SqliteAlertStoreOptions } from '../store/sqlite-alert-store.js';
export { type AlertHub, createAlertHub } from './hub.js';
export { AnalyticsService } from './service.js';
export { DEFAULT_RULES, type AlertRules } from './rules.js';

/** The SDL of schema/analytics.graphql (extends the base schema). */
export const analyticsTypeDefs: string = readFileSync(new URL('../../schema/analytics.graphql', import.meta.url), 'utf8');

/**
 * Where the alert store lives: PostgreSQL (`pgUrl`, with optional pool settings; deployments with
 * several instances) or SQLite (`dbPath`, a file such as the score store's, or ':memory:'; or an
 * open connection `db` to share).
 */
export type AlertStoreTarget =
  | { pgUrl: string; pool?: Omit<PostgresAlertStoreOptions, 'url'> }
  | { dbPath: string }
  | { db: Database.Database };

/** Builds (does not start) the alert store for a target; `start()` opens it and migrates. */
export function createAlertStore(t: AlertStoreTarget): AlertStore {
  if ('pgUrl' in t) return new PostgresAlertStore({ ...t.pool, url: t.pgUrl });
  if ('db' in t) return new SqliteAlertStore({ db: t.db });
  return new SqliteAlertStore({ path: t.dbPath });
}

export interface CreateAnalyticsOptions {
  /** SQLite file (the score store's file is fine) or ':memory:'; ignored when `pgUrl`, `db` or `alertStore` is given. Default ':memory:'. */
  dbPath?: string;
  /** An open better-sqlite3 connection to share; ignored when `pgUrl` or `alertStore` is given. */
  db?: Database.Database;
  /** PostgreSQL URL (postgres://user:password@host:port/db): the alert store is PostgresAlertStore. Ignored when `alertStore` is given. */
  pgUrl?: string;
  /** A ready-made AlertStore (e.g. from createAlertStore); createAnalytics starts and stops it. */
  alertStore?: AlertStore;
  /** The score store: Call.analytics reads it, and a call's history is reloaded from it after a restart. */
  scoreStore: ScoreStore;
  logger?: Pick<Logger, 'warn' | 'error' | 'info'>;
  engine?: Omit<AlertEngineOptions, 'rulesFor'>;
  hub?: AlertHubOptions;
  /** Each new alert after it was stored and published locally (AnalyticsServiceOptions.onAlert). */
  onAlert?: AnalyticsServiceOptions['onAlert'];
}

export interface Analytics {
  service: AnalyticsService;
  engine: AlertEngine;
  store: AlertStore;
  hub: AlertHub;
  /** The score store it reads (Call.analytics, a call's history after a restart). */
  scoreStore: ScoreStore;
  /** The SDL of schema/analytics.graphql; its resolvers are the API's (src/graphql/resolvers/analytics.ts). */
  typeDefs: string;
  /** Opens the alert store (migrations) and loads the tenants' rules. */
  start(): Promise<void>;
  /** Ends alert subscriptions and closes the store. */
  stop(): Promise<void>;
}

export function createAnalytics(o: CreateAnalyticsOptions): Analytics {
  const store = o.alertStore ?? createAlertStore(o.pgUrl ? { pgUrl: o.pgUrl } : o.db ? { db: o.db } : { dbPath: o.dbPath ?? ':memory:' });
  const hub = createAlertHub(o.hub);
  const service = new AnalyticsService({ alertStore: store, hub, scoreStore: o.scoreStore, logger: o.logger, engine: o.engine, onAlert: o.onAlert });
  return {
    service,
    engine: service.engine,
    store,
    hub,
    scoreStore: o.scoreStore,
    typeDefs: analyticsTypeDefs,
    async start() {
      hub.start();
      await store.start();
      await service.start();
    },
    async stop() {
      hub.close();
      await store.stop();
    },
  };
}
