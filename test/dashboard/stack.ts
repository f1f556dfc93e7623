/**
 * A real server stack for the browser tests, from the stages that exist: the SQLite score
 * store, the in-process ScoreHub, the GraphQL API server (HTTP + graphql-ws) with the analytics
 * schema extension, and the static handler serving dashboard/dist. A "scripted call" is a list
 * of SegmentScores fed through the same order the pipeline uses: store -> analytics -> publish.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { type Analytics, createAnalytics } from '../../src/analytics/index.js';
import type { CallInfo, SegmentScore } from '../../src/core/types.js';
import { type ApiServer, createApiServer } from '../../src/graphql/index.js';
import { createStaticHandler } from '../../src/http/static.js';
import { ScoreHub } from '../../src/publish/hub.js';
import { SqliteScoreStore } from '../../src/store/sqlite-store.js';
import { analyticsSchema } from '../../src/graphql/resolvers/analytics.js';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const DIST = `${REPO}dashboard/dist`;
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Builds the dashboard (so the test exercises the current sources). */
export function buildDashboard(): void {
  execFileSync('npx', ['vite', 'build', '--config', 'dashboard/vite.config.ts'], { cwd: REPO, stdio: 'pipe', timeout: 180_000 });
  if (!existsSync(`${DIST}/index.html`)) throw new Error('dashboard build produced no index.html');
}

/** True when Chromium is there; otherwise fail under CI, skip loudly elsewhere. */
export function chromiumOrSkip(t: { skip: (m: string) => void }): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing (CI=true): browser tests cannot run`);
  console.warn(`SKIPPING browser tests: ${CHROMIUM} is not installed`);
  t.skip(`${CHROMIUM} not installed`);
  return false;
}

export const TENANT = 'demo';

export interface Stack {
  base: string;
  store: SqliteScoreStore;
  hub: ScoreHub;
  analytics: Analytics;
  /** Stores, analyses and publishes a score the way the pipeline does. `publish: false` = API down. */
  score(s: SegmentScore, publish?: boolean): Promise<void>;
  call(c: CallInfo, publish?: boolean): Promise<void>;
  /** Stops the API server (sockets close) and starts a new one on the same port. */
  stopApi(): Promise<void>;
  startApi(): Promise<void>;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** Bound port; 0 (default) picks a free one. */
  port?: number;
  /** The SDL file (default schema/schema.graphql); asked again at each startApi, so a test can
   *  restart the API as another version. */
  sdlPath?: () => string | undefined;
}

export async function startStack(o: StackOptions = {}): Promise<Stack> {
  const port = o.port ?? 0;
  const logger = pino({ level: 'silent' });
  const store = new SqliteScoreStore({ path: ':memory:' });
  await store.start();
  const hub = new ScoreHub();
  await hub.start();
  const analytics = createAnalytics({ dbPath: ':memory:', logger, scoreStore: store });
  await analytics.start();
  let api: ApiServer | null = null;
  let boundPort = port;
  const makeApi = () =>
    createApiServer({
      store,
      hub,
      port: boundPort,
      logger,
      devTenant: TENANT,
      scorerInfo: () => ({ modelVersion: 'scripted', executionProvider: 'cpu', providerAttempts: [], workers: 0 }),
      health: () => ({ ok: true, source: 'scripted', store: 'sqlite: ok' }),
      extraRoutes: [createStaticHandler({ root: DIST })],
      sdlPath: o.sdlPath?.(),
      schemaExtensions: [analyticsSchema(analytics)],
    });
  const stack: Stack = {
    base: '',
    store,
    hub,
    analytics,
    async score(s, publish = true) {
      await store.putScore(s);
      await analytics.service.onScored(s);
      if (publish) await hub.publishScore(s);
      // A real pipeline gets each score back from a scoring worker in its own event-loop turn;
      // yield one too, so the API's sockets get to write between scores as they would.
      await new Promise((r) => setImmediate(r));
    },
    async call(c, publish = true) {
      await store.upsertCall(c);
      if (c.status !== 'ACTIVE') analytics.service.onCallEnded(c.callId);
      if (publish) await hub.publishCall(c);
    },
    async stopApi() {
      await api?.stop();
      api = null;
    },
    async startApi() {
      api = makeApi();
      await api.start();
      boundPort = Number(new URL(api.url).port);
      stack.base = `http://127.0.0.1:${boundPort}`;
    },
    async stop() {
      await api?.stop();
      await analytics.stop();
      await hub.stop();
      await store.stop();
    },
  };
  await stack.startApi();
  return stack;
}

/** One scripted segment score. Valence -> label with the manifest's neutral band. */
export function scripted(callId: string, channel: string, segmentIndex: number, valence: number, o: { revision?: number; text?: string | null; t0?: number } = {}): SegmentScore {
  const text = o.text === undefined ? `${channel} says something ${segmentIndex}` : o.text;
  const t0 = o.t0 ?? 1_700_000_000_000;
  return {
    callId,
    tenant: TENANT,
    channel,
    segmentIndex,
    revision: o.revision ?? 0,
    startMs: t0 + segmentIndex * 3000,
    endMs: t0 + segmentIndex * 3000 + 2800,
    valence,
    label: valence < -0.5 ? 'NEGATIVE' : valence > 0.5 ? 'POSITIVE' : 'NEUTRAL',
    confidence: Math.min(1, Math.abs(valence) / 3),
    textMissing: text === null,
    modalities: { text: text === null ? 'SIMULATED' : 'PRESENT', audio: 'PRESENT', video: 'MISSING' },
    modalityWeights: text === null ? { text: 0.2, audio: 0.8, video: 0 } : { text: 0.6, audio: 0.4, video: 0 },
    text,
    modelVersion: 'scripted',
    executionProvider: 'cpu',
    scoredAt: new Date().toISOString(),
  };
}

export function callInfo(callId: string, status: CallInfo['status'] = 'ACTIVE', t0 = 1_700_000_000_000): CallInfo {
  return { callId, tenant: TENANT, status, startedAtMs: t0, endedAtMs: status === 'ACTIVE' ? null : t0 + 60_000, channels: ['customer', 'agent'], segmentCount: 0, meta: {} };
}
