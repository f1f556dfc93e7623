/**
 * One graphql-ws connection for everything (queries too), to this origin's /graphql.
 * The client retries for ever with capped backoff: after a server restart it reconnects by
 * itself and graphql-ws re-sends the active subscriptions. `onReconnected` runs synchronously
 * in graphql-ws's `connected` event, before those re-sends: an operation disposed there is not
 * re-sent, which is how the scores stream replaces itself with a resume (score-stream.ts).
 */
import { type Client, createClient } from 'graphql-ws';

export type ConnectionState = 'connecting' | 'live' | 'reconnecting';

export interface Api {
  query<T>(query: string, variables?: Record<string, unknown>): Promise<T>;
  /** Runs a subscription; returns a function that ends it. `onError`: the server ended it with errors. */
  subscribe<T>(query: string, onData: (data: T) => void, o?: { variables?: Record<string, unknown>; onError?: (e: unknown) => void }): () => void;
  client: Client;
}

/** Token from ?token= (then kept in sessionStorage) for servers that require auth. */
function token(): string | null {
  const fromUrl = new URLSearchParams(location.search).get('token');
  if (fromUrl) sessionStorage.setItem('dashboard.token', fromUrl);
  return fromUrl ?? sessionStorage.getItem('dashboard.token');
}

export function createApi(opts: { onState: (s: ConnectionState) => void; onReconnected: () => void; url?: string }): Api {
  let connectedOnce = false;
  const url = opts.url ?? `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;
  const client = createClient({
    url,
    lazy: false,
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: () => true,
    // 0.5 s, 1 s, 2 s ... capped at 5 s, with jitter so many dashboards do not reconnect at once.
    retryWait: (n) => new Promise((r) => setTimeout(r, Math.min(5000, 500 * 2 ** n) + Math.random() * 300)),
    keepAlive: 10_000,
    connectionParams: () => {
      const t = token();
      return t ? { authorization: `Bearer ${t}` } : {};
    },
    on: {
      connecting: () => opts.onState(connectedOnce ? 'reconnecting' : 'connecting'),
      connected: () => {
        opts.onState('live');
        if (connectedOnce) opts.onReconnected();
        connectedOnce = true;
      },
      closed: () => {
        if (connectedOnce) opts.onState('reconnecting');
      },
    },
  });

  return {
    client,
    query<T>(query: string, variables?: Record<string, unknown>) {
      return new Promise<T>((resolve, reject) => {
        let result: T | undefined;
        client.subscribe<T>(
          { query, variables },
          {
            next: (r) => {
              if (r.errors?.length) reject(new Error(r.errors.map((e) => e.message).join('; ')));
              else result = r.data as T;
            },
            error: (e) => reject(e instanceof Error ? e : new Error(describe(e))),
            complete: () => (result === undefined ? reject(new Error('no data')) : resolve(result)),
          },
        );
      });
    },
    subscribe<T>(query: string, onData: (data: T) => void, o: { variables?: Record<string, unknown>; onError?: (e: unknown) => void } = {}) {
      return client.subscribe<T>(
        { query, variables: o.variables },
        {
          next: (r) => r.data && onData(r.data as T),
          error: (e) => (o.onError ? o.onError(e) : console.warn('subscription error', describe(e))),
          complete: () => undefined,
        },
      );
    },
  };
}

function describe(e: unknown): string {
  if (e && typeof e === 'object' && 'code' in e && 'reason' in e) return `socket closed ${(e as CloseEvent).code} ${(e as CloseEvent).reason}`;
  if (Array.isArray(e)) return e.map((x) => x?.message ?? String(x)).join('; ');
  return String(e);
}
