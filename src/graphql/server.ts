/**
 * The API server: Apollo Server 5 (HTTP) and graphql-ws 6 (WebSocket, path /graphql) on ONE
 * node http server.
 *
 * Lifecycle: createApiServer -> start() (schema built, Apollo started, port bound) -> stop().
 * stop() drains: graphql-ws closes every socket with 1001 (each operation's iterator is
 * returned, which frees its hub subscription), new HTTP connections are refused, in-flight
 * requests finish (up to `stopGracePeriodMs`, then connections are cut). The store and the hub
 * belong to the app and are stopped by it, after this.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import type { ScoreStore } from '../core/ports.js';
import type { ScoreFeed } from '../core/ports.js';
import { type ApiContext, type ContextFunction, devContext } from '../auth/api-context.js';
import { formatApiError } from './errors.js';
import { createRequestListener, type RequestHandler } from './http.js';
import type { HealthReport, ModelInfoSource } from './resolvers/deps.js';
import { buildSchema, type SchemaExtension } from './schema.js';
import { costLimitPlugin } from './cost-plugin.js';
import { DEFAULT_QUERY_LIMITS, depthLimitRule, type QueryLimits } from './limits.js';
import { attachGraphqlWs, type GraphqlWs } from './ws.js';
import type { MultiplexStats } from './multiplex.js';
import type { FeedOptions } from '../core/ports.js';
import { type ConnectionLimits, DEFAULT_CONNECTION_LIMITS } from '../http/connection-limits.js';
import type { OriginPolicy } from '../http/origin.js';
import { createUpgradeGate, type SocketRefusal } from '../http/upgrade-gate.js';

export interface ApiServerOptions {
  store: ScoreStore;
  /** The fan-out subscriptions read from (the in-process ScoreHub). */
  hub: ScoreFeed;
  scorerInfo: () => ModelInfoSource;
  health: () => HealthReport | Promise<HealthReport>;
  /** Port to bind; 0 picks a free one (see `url` after start). */
  port: number;
  /** Interface to bind. Default '127.0.0.1'. */
  host?: string;
  logger: Logger;
  /**
   * Who the caller is (the auth hook). Default: dev mode, every caller is `devTenant`.
   * Called per HTTP request and once per WebSocket connection (connectionParams).
   */
  context?: ContextFunction;
  /** Tenant of the default dev-mode context. Default 'demo'. */
  devTenant?: string;
  /** Tried in order before /graphql (static files, /metrics, /healthz ...). */
  extraRoutes?: RequestHandler[];
  /** Other stages' SDL + resolvers merged into the schema. */
  schemaExtensions?: SchemaExtension[];
  /** Largest HTTP request body and WebSocket message, bytes. Default 1 MiB. */
  maxRequestBytes?: number;
  /** Operations one socket may run at once. Default 100. Same as `limits.maxOperationsPerConnection`. */
  maxOperationsPerConnection?: number;
  /** Query depth / cost / tokens / introspection / operations-per-socket limits (src/graphql/limits.ts; AppConfig.queryLimits from API_MAX_* and API_INTROSPECTION). */
  limits?: Partial<QueryLimits>;
  /** Sockets per source address and per tenant, subscriptions per tenant (connection-limits.ts). */
  connectionLimits?: Partial<ConnectionLimits>;
  /**
   * Which web pages may open a socket or call /graphql (origin.ts; AppConfig.origins from
   * API_ALLOWED_ORIGINS). Default: dev mode's policy (loopback origins only) when `context` is
   * not given, else same-origin only.
   */
  origins?: OriginPolicy;
  /** Told of each refused socket, by reason (origin, source_limit, tenant_limit): metrics. */
  onSocketRefused?: (reason: SocketRefusal) => void;
  /** How long stop() lets in-flight HTTP requests finish, ms. Default 10_000. */
  stopGracePeriodMs?: number;
  /** Path to schema.graphql (default: the repo's schema/schema.graphql). */
  sdlPath?: string;
  /** Other WebSocket endpoints on this server, by exact path (the WebSocket ingest, src/ingest/ws).
   *  Each handler gets the raw upgrade; any other path but /graphql is answered 400 as before. */
  upgradeRoutes?: Readonly<Record<string, (req: IncomingMessage, socket: Duplex, head: Buffer) => void>>;
  /** Subscription events executed once per group of identical operations ('shared', default) or per operation (ws.ts). */
  fanOut?: 'shared' | 'per-subscriber';
  /** Queue bound and overflow policy of each shared WebSocket subscriber. Default 256, 'drop-oldest'. */
  subscriberQueue?: FeedOptions;
}

export interface ApiServer {
  /** http://host:port/graphql (valid after start). */
  readonly url: string;
  /** ws://host:port/graphql (valid after start). */
  readonly wsUrl: string;
  readonly httpServer: Server;
  /** Counters of the shared subscription fan-out (multiplex.ts); zeros before start. */
  fanOutStats(): MultiplexStats;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createApiServer(o: ApiServerOptions): ApiServer {
  const host = o.host ?? '127.0.0.1';
  const path = '/graphql';
  const maxBytes = o.maxRequestBytes ?? 1024 * 1024;
  const context = o.context ?? devContext(o.devTenant ?? 'demo');
  const log = o.logger.child({ component: 'api' });
  const limits: QueryLimits = {
    ...DEFAULT_QUERY_LIMITS,
    ...(o.maxOperationsPerConnection !== undefined ? { maxOperationsPerConnection: o.maxOperationsPerConnection } : {}),
    ...o.limits,
  };
  const connectionLimits: ConnectionLimits = { ...DEFAULT_CONNECTION_LIMITS, ...o.connectionLimits };
  const origins: OriginPolicy = o.origins ?? { allowed: [], devMode: o.context === undefined };
  const httpServer = createServer();
  let startedAtMs = Date.now();
  let apollo: ApolloServer<ApiContext> | null = null;
  let address: AddressInfo | null = null;
  let state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  let ws: GraphqlWs | null = null;

  const hostForUrl = () => (address!.family === 'IPv6' ? `[${address!.address}]` : address!.address);

  return {
    httpServer,
    get url() {
      if (!address) throw new Error('API server is not started');
      return `http://${hostForUrl()}:${address.port}${path}`;
    },
    get wsUrl() {
      if (!address) throw new Error('API server is not started');
      return `ws://${hostForUrl()}:${address.port}${path}`;
    },

    fanOutStats() {
      return ws?.fanOutStats() ?? { groups: 0, members: 0, executions: 0, delivered: 0, droppedOldest: 0, closedTooSlow: 0 };
    },

    async start() {
      if (state !== 'new') throw new Error(`API server cannot start from state ${state}`);
      state = 'starting';
      startedAtMs = Date.now();
      const schema = buildSchema(
        { store: o.store, feed: o.hub, scorerInfo: o.scorerInfo, health: o.health, startedAtMs: () => startedAtMs },
        { sdlPath: o.sdlPath, extensions: o.schemaExtensions },
      );
      const gate = createUpgradeGate({ origins, maxSocketsPerSource: connectionLimits.maxSocketsPerSource, logger: log, onRefused: o.onSocketRefused });
      // One upgrade listener routes by path: a second WebSocketServer bound to the same HTTP
      // server would answer every path but its own with 400.
      const wss = new WebSocketServer({ noServer: true, maxPayload: maxBytes, verifyClient: gate.verifyClient });
      gate.attach(wss);
      const upgradeRoutes = o.upgradeRoutes ?? {};
      httpServer.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        const p = (req.url ?? '').split('?')[0];
        if (p === path) wss.handleUpgrade(req, socket, head, (client) => wss.emit('connection', client, req));
        else if (Object.hasOwn(upgradeRoutes, p)) upgradeRoutes[p](req, socket, head);
        else refuseUpgrade(socket);
      });
      const graphqlWs = attachGraphqlWs(wss, { schema, context, logger: log, ...limits, connectionLimits, onRefused: o.onSocketRefused, fanOut: o.fanOut, subscriberQueue: o.subscriberQueue });
      ws = graphqlWs;
      apollo = new ApolloServer<ApiContext>({
        schema,
        formatError: (formatted, error) => formatApiError(formatted, error, log),
        includeStacktraceInErrorResponses: false,
        // The app owns shutdown order (src/app/lifecycle.ts): Apollo must not stop itself on SIGINT/SIGTERM.
        stopOnTerminationSignals: false,
        introspection: limits.introspection,
        parseOptions: { maxTokens: limits.maxTokens },
        // Depth needs no variables: a validation rule. Cost reads the variables: a plugin.
        validationRules: [depthLimitRule(limits.maxDepth)],
        plugins: [
          costLimitPlugin(limits.maxCost),
          ApolloServerPluginDrainHttpServer({ httpServer, stopGracePeriodMillis: o.stopGracePeriodMs ?? 10_000 }),
          { serverWillStart: async () => ({ drainServer: async () => graphqlWs.dispose() }) },
          ApolloServerPluginLandingPageDisabled(),
        ],
      });
      await apollo.start();
      httpServer.on('request', createRequestListener({ apollo, context, logger: log, extraRoutes: o.extraRoutes ?? [], path, maxBodyBytes: maxBytes, origins }));
      await new Promise<void>((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(o.port, host, () => {
          httpServer.off('error', reject);
          resolve();
        });
      });
      address = httpServer.address() as AddressInfo;
      state = 'running';
      log.info({ url: this.url }, 'API listening');
    },

    async stop() {
      if (state !== 'running' && state !== 'starting') return;
      state = 'stopping';
      // apollo.stop() runs the drain plugins: sockets closed (1001), HTTP server closed and drained.
      if (apollo) await apollo.stop();
      if (httpServer.listening) await new Promise<void>((r) => httpServer.close(() => r()));
      state = 'stopped';
      log.info('API stopped');
    },
  };
}

/** What `ws` answers an upgrade to a path it does not serve. */
function refuseUpgrade(socket: Duplex): void {
  if (socket.writable) socket.write('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  socket.destroy();
}
