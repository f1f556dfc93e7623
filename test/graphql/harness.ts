/** A real API server on a free port over a real SQLite (:memory:) store and hub. */
import pino from 'pino';
import WebSocket from 'ws';
import { createClient, type Client } from 'graphql-ws';
import { SqliteScoreStore } from '../../src/store/sqlite-store.js';
import { ScoreHub, type HubOptions } from '../../src/publish/hub.js';
import { createApiServer, type ApiServer, type ApiServerOptions } from '../../src/graphql/server.js';
import type { ModelInfoSource, HealthReport } from '../../src/graphql/resolvers/deps.js';

export interface Harness {
  api: ApiServer;
  store: SqliteScoreStore;
  hub: ScoreHub;
  /** POSTs a GraphQL request; returns status and parsed body. */
  gql(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<{ status: number; body: GqlBody }>;
  wsClient(connectionParams?: Record<string, unknown>): Client;
  close(): Promise<void>;
}

export interface GqlBody {
  data?: Record<string, any> | null;
  errors?: { message: string; extensions?: { code?: string; [k: string]: unknown } }[];
}

export const scorerInfo: ModelInfoSource = {
  modelVersion: 'sdumc-test-1',
  executionProvider: 'cpu',
  providerAttempts: [{ provider: 'webgpu', ok: false, error: 'no adapter' }, { provider: 'cpu', ok: true }],
  workers: 1,
  metrics: { maeFull: 0.61, maeTextMissing: 0.66 },
};

export async function startHarness(
  over: Partial<ApiServerOptions> & { health?: () => HealthReport | Promise<HealthReport>; hubOptions?: HubOptions } = {},
): Promise<Harness> {
  const store = new SqliteScoreStore({ path: ':memory:' });
  await store.start();
  const hub = new ScoreHub(over.hubOptions);
  await hub.start();
  const api = createApiServer({
    store,
    hub,
    scorerInfo: () => scorerInfo,
    health: () => ({ ok: true, source: 'in-process', store: 'sqlite: ok' }),
    port: 0,
    logger: pino({ level: 'silent' }),
    devTenant: 'acme',
    ...over,
  });
  await api.start();
  const clients: Client[] = [];
  return {
    api,
    store,
    hub,
    async gql(query, variables, headers = {}) {
      const res = await fetch(api.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query, variables }),
      });
      return { status: res.status, body: (await res.json()) as GqlBody };
    },
    wsClient(connectionParams) {
      const c = createClient({ url: api.wsUrl, webSocketImpl: WebSocket, connectionParams, retryAttempts: 0, lazy: true });
      clients.push(c);
      return c;
    },
    async close() {
      await Promise.all(clients.map((c) => c.dispose()));
      await api.stop();
      await hub.stop();
      await store.stop();
    },
  };
}

/** Waits until `cond` holds, polling every 5 ms, failing after `ms`. */
/** Runs `fn` against a fresh harness and closes it, pass or fail. */
export async function withHarness(opts: Parameters<typeof startHarness>[0], fn: (h: Harness) => Promise<void>): Promise<void> {
  const h = await startHarness(opts);
  try {
    await fn(h);
  } finally {
    await h.close();
  }
}

export async function until(cond: () => boolean, ms = 2000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const SCORE_FIELDS = `callId tenant channel segmentIndex revision startMs endMs valence label confidence textMissing
  modalities { text audio video } modalityWeights { text audio video } text textSource recognisedText utteranceIds modelVersion executionProvider scoredAt`;
