/**
 * graphql-ws on a `ws` WebSocketServer that shares the API's http server (path /graphql).
 *
 * A failure closes the smallest thing: a bad query or a refused operation gets an `error`
 * message for that operation only (graphql-ws would otherwise close the whole socket when
 * `parse` throws); a refused connection (auth) closes that socket with 4401/4403.
 */
import type { Disposable } from 'graphql-ws';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { GraphQLError, type GraphQLSchema, getOperationAST, parse, specifiedRules, validate } from 'graphql';
import type { Logger } from 'pino';
import type { WebSocketServer } from 'ws';
import { AppError, toAppError } from '../core/errors.js';
import type { ApiContext, ContextFunction } from './context.js';
import { formatErrors } from './errors.js';
import { costLimitRule, DEFAULT_QUERY_LIMITS, depthLimitRule } from './limits.js';

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
}

interface ConnState {
  api?: ApiContext;
  operations: Set<string>;
}

/**
 * Close code of a socket whose credential expired while it was open (docs/security.md). 4403,
 * not 4401: graphql-ws clients treat 4401 as fatal but retry 4403, calling a `connectionParams`
 * function again, so a client that refreshes its token reconnects by itself; a client that
 * sends the same expired token again gets 4401 (fatal) and stops.
 */
export const TOKEN_EXPIRED_CLOSE_CODE = 4403;

/** setTimeout caps delays at 2^31 - 1 ms (24.8 days); longer waits are chained. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Calls `fn` at wall-clock `atMs`; returns a cancel function. */
function callAt(atMs: number, fn: () => void): () => void {
  let timer: NodeJS.Timeout;
  const arm = () => {
    const wait = atMs - Date.now();
    if (wait <= 0) return fn();
    timer = setTimeout(arm, Math.min(wait, MAX_TIMER_MS));
    timer.unref();
  };
  arm();
  return () => clearTimeout(timer);
}

function appErrorToGraphQL(e: AppError): GraphQLError {
  return new GraphQLError(e.message, { originalError: e, extensions: { code: e.code } });
}

export function attachGraphqlWs(wss: WebSocketServer, opts: WsOptions): Disposable {
  const maxOps = opts.maxOperationsPerConnection ?? DEFAULT_QUERY_LIMITS.maxOperationsPerConnection;
  const depthRule = depthLimitRule(opts.maxDepth ?? DEFAULT_QUERY_LIMITS.maxDepth);
  const maxCost = opts.maxCost ?? DEFAULT_QUERY_LIMITS.maxCost;
  const state = new WeakMap<object, ConnState>();
  const conn = (ctx: object): ConnState => {
    let s = state.get(ctx);
    if (!s) state.set(ctx, (s = { operations: new Set() }));
    return s;
  };

  return useServer(
    {
      schema: opts.schema,
      connectionInitWaitTimeout: opts.connectionInitWaitTimeoutMs ?? 3_000,
      onConnect: async (ctx) => {
        try {
          const api = await opts.context({ transport: 'ws', headers: ctx.extra.request.headers, connectionParams: ctx.connectionParams });
          conn(ctx).api = api;
          if (api.expiresAtMs !== undefined) {
            const socket = ctx.extra.socket;
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
        if (c.operations.size >= maxOps) return [appErrorToGraphQL(new AppError('TOO_MANY_SUBSCRIPTIONS', { max: maxOps }))];
        let document;
        try {
          document = parse(payload.query);
        } catch (err) {
          const e = err instanceof GraphQLError ? err : new GraphQLError(String(err));
          return [new GraphQLError(e.message, { nodes: e.nodes, source: e.source, positions: e.positions, extensions: { code: 'GRAPHQL_PARSE_FAILED' } })];
        }
        const errors = validate(opts.schema, document, [...specifiedRules, depthRule, costLimitRule(maxCost, payload.variables)]);
        if (errors.length) {
          // Limit errors carry their AppError (QUERY_TOO_COMPLEX); the rest are schema mismatches.
          return errors.map((e) => e.originalError instanceof AppError ? e : new GraphQLError(e.message, { nodes: e.nodes, source: e.source, positions: e.positions, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }));
        }
        if (!getOperationAST(document, payload.operationName)) return [new GraphQLError('Unable to identify operation', { extensions: { code: 'BAD_REQUEST' } })];
        c.operations.add(id);
        return {
          schema: opts.schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: c.api,
        };
      },
      onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? { ...result, errors: formatErrors(result.errors, opts.logger) } : undefined),
      onError: (_ctx, _id, _payload, errors) => formatErrors(errors, opts.logger),
      onComplete: (ctx, id) => {
        conn(ctx).operations.delete(id);
      },
    },
    wss,
    opts.keepAliveMs ?? 12_000,
  );
}
