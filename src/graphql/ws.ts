/**
 * graphql-ws on a `ws` WebSocketServer that shares the API's http server (path /graphql).
 *
 * A failure closes the smallest thing: a bad query or a refused operation gets an `error`
 * message for that operation only (graphql-ws would otherwise close the whole socket when
 * `parse` throws); a refused connection (auth) closes that socket with 4401/4403; a tenant over
 * its socket bound is closed with 1013 (connection-limits.ts).
 *
 * A peer that goes away mid-send is not an error of the operation: the write fails with EPIPE or
 * ECONNRESET, and graphql-ws would hand that to onError as if the operation had failed (logged
 * at error level as "unexpected error", issue 13). Sends to such a peer are dropped and logged
 * at debug; the socket's close event then ends its operations as usual. Likewise a client that
 * breaks the WebSocket protocol (a message over the size limit, a bad frame) is the client's
 * fault: `ws` closes that socket (1009, 1002) and the server logs it at debug, where graphql-ws
 * would print "Internal error emitted on a WebSocket socket" to stderr for every such frame.
 */
import type { Disposable } from 'graphql-ws';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { type ExecutionArgs, GraphQLError, type GraphQLSchema, getOperationAST, NoSchemaIntrospectionCustomRule, parse, specifiedRules, validate } from 'graphql';
import type { Logger } from 'pino';
import type { WebSocket, WebSocketServer } from 'ws';
import { AppError, toAppError } from '../core/errors.js';
import { type ConnectionLimits, Counter, DEFAULT_CONNECTION_LIMITS, TOO_MANY_CONNECTIONS_CLOSE_CODE } from '../http/connection-limits.js';
import type { ApiContext, ContextFunction } from '../auth/api-context.js';
import { callAt, TOKEN_EXPIRED_CLOSE_CODE } from '../auth/expiry.js';
import { DocumentCache } from './document-cache.js';
import { formatErrors } from './errors.js';
import { costLimitRule, DEFAULT_QUERY_LIMITS, depthLimitRule, tokenLimitError } from './limits.js';
import type { FeedOptions } from '../core/ports.js';
import { type MultiplexStats, SubscriptionMultiplexer } from './multiplex.js';
import { contextKey, readsOwnPosition } from './shared-operations.js';

export interface WsOptions {
  schema: GraphQLSchema;
  context: ContextFunction;
  logger: Logger;
  /** Operations one socket may run at once. Default 100; more fail with TOO_MANY_SUBSCRIPTIONS. */
  maxOperationsPerConnection?: number;
  /** Deepest field nesting of an operation (limits.ts). Default 15. */
  maxDepth?: number;
  /** Largest cost of an operation, computed with its variables (limits.ts). Default 1_000_000. */
  maxCost?: number;
  /** Close a socket that sends no connection_init within this many ms. Default 3_000. */
  connectionInitWaitTimeoutMs?: number;
  /** Ping interval, ms; a socket that misses a pong is terminated. Default 12_000. */
  keepAliveMs?: number;
  /** Lexical tokens an operation may have (limits.ts). Default 5_000. */
  maxTokens?: number;
  /** Answer __schema / __type. Default true. */
  introspection?: boolean;
  /** Sockets and subscriptions per tenant (connection-limits.ts; the per-source bound is checked at the upgrade). */
  connectionLimits?: Partial<ConnectionLimits>;
  /** Told of each socket closed at connection_init because its tenant is at its socket limit. */
  onRefused?: (reason: 'tenant_limit') => void;
  /**
   * How subscription events are executed: 'shared' (default) executes and serialises each event
   * once per group of identical operations (multiplex.ts); 'per-subscriber' runs every operation
   * alone, as before issue 14 (kept for bench/fanout.ts --baseline).
   */
  fanOut?: 'shared' | 'per-subscriber';
  /** Queue bound and overflow policy of each shared subscriber. Default 256, 'drop-oldest' (the hub's). */
  subscriberQueue?: FeedOptions;
}

/** graphql-ws's handle plus the shared fan-out's counters. */
export interface GraphqlWs extends Disposable {
  /** Counters of the shared fan-out (all zero with fanOut 'per-subscriber'). */
  fanOutStats(): MultiplexStats;
}

interface ConnState {
  api?: ApiContext;
  operations: Set<string>;
}

/** Write errors that mean the peer is gone (closed, reset) rather than a fault of ours. */
const PEER_GONE = new Set(['EPIPE', 'ECONNRESET', 'ECONNABORTED', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_WRITE_AFTER_END']);

export function isPeerGone(err: unknown): boolean {
  return typeof err === 'object' && err !== null && PEER_GONE.has((err as { code?: string }).code ?? '');
}

/**
 * Wraps `socket.send` so a write to a peer that went away completes quietly (graphql-ws treats a
 * failed send as the operation's error); the socket is terminated, and its close event ends its
 * operations.
 */
function dropSendsToGonePeer(socket: WebSocket, logger: Logger): void {
  const send = socket.send.bind(socket) as (data: unknown, cb?: (err?: Error) => void) => void;
  (socket as { send: unknown }).send = (data: unknown, cb?: (err?: Error) => void) =>
    send(data, (err?: Error) => {
      if (err && isPeerGone(err)) {
        logger.debug({ code: (err as { code?: string }).code }, 'WebSocket peer went away mid-send');
        socket.terminate();
        return cb?.();
      }
      cb?.(err);
    });
}

/** `ws` errors caused by what the client sent (payload too big, bad frame, bad UTF-8...). */
export function isClientProtocolError(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('WS_ERR_');
}

/**
 * Keeps a client's protocol errors from reaching graphql-ws's 'error' listener (which prints
 * them as internal errors). `ws` has already decided to close the socket with the right code;
 * only the report changes.
 */
function quietClientProtocolErrors(socket: WebSocket, logger: Logger): void {
  const emit = socket.emit.bind(socket) as (event: string | symbol, ...args: unknown[]) => boolean;
  (socket as { emit: unknown }).emit = (event: string | symbol, ...args: unknown[]) => {
    if (event === 'error' && isClientProtocolError(args[0])) {
      logger.debug({ code: (args[0] as { code: string }).code }, 'WebSocket client broke the protocol; socket closed');
      return true;
    }
    return emit(event, ...args);
  };
}

function appErrorToGraphQL(e: AppError): GraphQLError {
  return new GraphQLError(e.message, { originalError: e, extensions: { code: e.code } });
}

export function attachGraphqlWs(wss: WebSocketServer, opts: WsOptions): GraphqlWs {
  const maxOps = opts.maxOperationsPerConnection ?? DEFAULT_QUERY_LIMITS.maxOperationsPerConnection;
  const depthRule = depthLimitRule(opts.maxDepth ?? DEFAULT_QUERY_LIMITS.maxDepth);
  const maxCost = opts.maxCost ?? DEFAULT_QUERY_LIMITS.maxCost;
  const maxTokens = opts.maxTokens ?? DEFAULT_QUERY_LIMITS.maxTokens;
  const rules = [...specifiedRules, depthRule, ...((opts.introspection ?? DEFAULT_QUERY_LIMITS.introspection) ? [] : [NoSchemaIntrospectionCustomRule])];
  const limits: ConnectionLimits = { ...DEFAULT_CONNECTION_LIMITS, ...opts.connectionLimits };
  const documents = new DocumentCache();
  const socketsByTenant = new Counter();
  const subscriptionsByTenant = new Counter();
  const state = new WeakMap<object, ConnState>();
  const shared = (opts.fanOut ?? 'shared') === 'shared';
  const mux = new SubscriptionMultiplexer({ logger: opts.logger, subscriber: opts.subscriberQueue });
  const conn = (ctx: object): ConnState => {
    let s = state.get(ctx);
    if (!s) state.set(ctx, (s = { operations: new Set() }));
    return s;
  };

  // Registered before useServer's own 'connection' listener: wraps send before graphql-ws uses it.
  wss.on('connection', (socket: WebSocket) => {
    dropSendsToGonePeer(socket, opts.logger);
    quietClientProtocolErrors(socket, opts.logger);
  });

  const server = useServer(
    {
      schema: opts.schema,
      ...(shared ? { subscribe: (args: ExecutionArgs) => mux.subscribe(args) } : {}),
      connectionInitWaitTimeout: opts.connectionInitWaitTimeoutMs ?? 3_000,
      onConnect: async (ctx) => {
        try {
          const api = await opts.context({ transport: 'ws', headers: ctx.extra.request.headers, connectionParams: ctx.connectionParams });
          const socket = ctx.extra.socket;
          if (socket.readyState !== socket.OPEN) return false; // closed while the context ran: count nothing
          if (!socketsByTenant.tryAdd(api.tenant, limits.maxSocketsPerTenant)) {
            const e = new AppError('TOO_MANY_CONNECTIONS', { scope: 'tenant', max: limits.maxSocketsPerTenant });
            opts.logger.debug({ tenant: api.tenant, principal: api.principal }, 'socket refused: tenant at its socket limit');
            opts.onRefused?.('tenant_limit');
            socket.close(TOO_MANY_CONNECTIONS_CLOSE_CODE, `${e.code}: ${e.message}`.slice(0, 120));
            return false;
          }
          const c = conn(ctx);
          c.api = api;
          socket.once('close', () => {
            socketsByTenant.release(api.tenant);
            // Operations still open when the socket goes: graphql-ws ends them; free their slots now.
            for (const _ of c.operations) subscriptionsByTenant.release(api.tenant);
            c.operations.clear();
          });
          if (api.expiresAtMs !== undefined) {
            const cancel = callAt(api.expiresAtMs, () => {
              opts.logger.info({ principal: api.principal, tenant: api.tenant }, 'credential expired; closing socket');
              socket.close(TOKEN_EXPIRED_CLOSE_CODE, 'UNAUTHENTICATED: token expired');
            });
            socket.once('close', cancel);
          }
          return true;
        } catch (err) {
          const e = toAppError(err);
          const closeCode = e.code === 'UNAUTHENTICATED' ? CloseCode.Unauthorized : e.code === 'FORBIDDEN' ? CloseCode.Forbidden : CloseCode.InternalServerError;
          if (closeCode === CloseCode.InternalServerError) opts.logger.error({ err }, 'graphql-ws context failed');
          ctx.extra.socket.close(closeCode, closeCode === CloseCode.InternalServerError ? 'Internal server error' : `${e.code}: ${e.message}`.slice(0, 120));
          return false;
        }
      },
      onSubscribe: (ctx, id, payload) => {
        const c = conn(ctx);
        if (c.operations.size >= maxOps) return [appErrorToGraphQL(new AppError('TOO_MANY_SUBSCRIPTIONS', { scope: 'connection', max: maxOps }))];
        const tenant = c.api!.tenant;
        if (subscriptionsByTenant.get(tenant) >= limits.maxSubscriptionsPerTenant) {
          return [appErrorToGraphQL(new AppError('TOO_MANY_SUBSCRIPTIONS', { scope: 'tenant', max: limits.maxSubscriptionsPerTenant }))];
        }
        let document;
        try {
          document = documents.get(payload.query, (q) => parse(q, { maxTokens }));
        } catch (err) {
          const e = err instanceof GraphQLError ? err : new GraphQLError(String(err));
          const tooLong = tokenLimitError(e);
          if (tooLong) return [appErrorToGraphQL(tooLong)];
          return [new GraphQLError(e.message, { nodes: e.nodes, source: e.source, positions: e.positions, extensions: { code: 'GRAPHQL_PARSE_FAILED' } })];
        }
        const errors = validate(opts.schema, document, [...rules, costLimitRule(maxCost, payload.variables)]);
        if (errors.length) {
          // Limit errors carry their AppError (QUERY_TOO_COMPLEX); the rest are schema mismatches.
          return errors.map((e) => e.originalError instanceof AppError ? e : new GraphQLError(e.message, { nodes: e.nodes, source: e.source, positions: e.positions, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }));
        }
        const operation = getOperationAST(document, payload.operationName);
        if (!operation) return [new GraphQLError('Unable to identify operation', { extensions: { code: 'BAD_REQUEST' } })];
        c.operations.add(id);
        subscriptionsByTenant.tryAdd(tenant, Number.POSITIVE_INFINITY);
        const args: ExecutionArgs = {
          schema: opts.schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: c.api,
        };
        if (shared && operation.operation === 'subscription' && !readsOwnPosition(operation, payload.variables)) {
          mux.register(args, { id, socket: ctx.extra.socket, contextKey: contextKey(c.api!), query: payload.query });
        }
        return args;
      },
      onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? { ...result, errors: formatErrors(result.errors, opts.logger) } : undefined),
      onError: (_ctx, _id, _payload, errors) => formatErrors(errors, opts.logger),
      onComplete: (ctx, id) => {
        const c = conn(ctx);
        if (c.operations.delete(id)) subscriptionsByTenant.release(c.api!.tenant);
      },
    },
    wss,
    opts.keepAliveMs ?? 12_000,
  );
  return { dispose: () => server.dispose(), fanOutStats: () => mux.stats() };
}
