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
import { GraphQLError, type GraphQLSchema, getOperationAST, parse, validate } from 'graphql';
import type { Logger } from 'pino';
import type { WebSocketServer } from 'ws';
import { AppError, toAppError } from '../core/errors.js';
import type { ApiContext, ContextFunction } from './context.js';
import { formatErrors } from './errors.js';

export interface WsOptions {
  schema: GraphQLSchema;
  context: ContextFunction;
  logger: Logger;
  /** Operations one socket may run at once. Default 100; more fail with TOO_MANY_SUBSCRIPTIONS. */
  maxOperationsPerConnection?: number;
  /** Close a socket that sends no connection_init within this many ms. Default 3_000. */
  connectionInitWaitTimeoutMs?: number;
  /** Ping interval, ms; a socket that misses a pong is terminated. Default 12_000. */
  keepAliveMs?: number;
}

interface ConnState {
  api?: ApiContext;
  operations: Set<string>;
}

function appErrorToGraphQL(e: AppError): GraphQLError {
  return new GraphQLError(e.message, { originalError: e, extensions: { code: e.code } });
}

export function attachGraphqlWs(wss: WebSocketServer, opts: WsOptions): Disposable {
  const maxOps = opts.maxOperationsPerConnection ?? 100;
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
          conn(ctx).api = await opts.context({ transport: 'ws', headers: ctx.extra.request.headers, connectionParams: ctx.connectionParams });
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
        const errors = validate(opts.schema, document);
        if (errors.length) return errors.map((e) => new GraphQLError(e.message, { nodes: e.nodes, source: e.source, positions: e.positions, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }));
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
