/**
 * The HTTP side: node's http module feeding Apollo's executeHTTPGraphQLRequest (no framework).
 * Requests go to `extraRoutes` first (static dashboard, /metrics, /healthz: whatever the app
 * adds), then /graphql to Apollo, then 404.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ApolloServer, HeaderMap } from '@apollo/server';
import { GraphQLError } from 'graphql';
import type { Logger } from 'pino';
import { AppError, toAppError } from '../core/errors.js';
import type { ApiContext, ContextFunction } from '../auth/api-context.js';
import { type OriginPolicy, originRefusal } from '../http/origin.js';

/** Handles a request and returns true, or returns false to let the next route try. */
export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;

export interface HttpOptions {
  apollo: ApolloServer<ApiContext>;
  context: ContextFunction;
  logger: Logger;
  extraRoutes: RequestHandler[];
  /** Path of the GraphQL endpoint. Default '/graphql'. */
  path: string;
  /** Largest request body, bytes. Default 1 MiB; more is answered 413. */
  maxBodyBytes: number;
  /** Pages allowed to call /graphql (origin.ts): a browser on another site gets 403 FORBIDDEN. */
  origins: OriginPolicy;
}

function sendError(res: ServerResponse, e: AppError): void {
  if (res.headersSent) return void res.end();
  res.writeHead(e.status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify({ errors: [{ message: e.message, extensions: { code: e.code } }] }));
}

/** Reads the body up to `limit` bytes; more fails with REQUEST_TOO_LARGE (and the connection is closed). */
async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw new AppError('REQUEST_TOO_LARGE', { bytes: declared, limit });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new AppError('REQUEST_TOO_LARGE', { bytes: `more than ${limit}`, limit });
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function headerMap(req: IncomingMessage): HeaderMap {
  const headers = new HeaderMap();
  for (const [key, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
  }
  return headers;
}

export function createRequestListener(o: HttpOptions): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(o, req, res).catch((err) => {
      o.logger.error({ err, url: req.url }, 'http request failed');
      sendError(res, new AppError('INTERNAL'));
    });
  };
}

async function handle(o: HttpOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  for (const route of o.extraRoutes) if (await route(req, res)) return;
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname !== o.path) return sendError(res, new AppError('NOT_FOUND', { what: `route ${url.pathname}` }));
  const refusal = originRefusal(o.origins, req.headers);
  if (refusal) {
    res.setHeader('connection', 'close'); // the body is not read
    return sendError(res, refusal);
  }

  let body: unknown;
  try {
    const raw = req.method === 'POST' ? await readBody(req, o.maxBodyBytes) : '';
    if (raw && /json/i.test(req.headers['content-type'] ?? '')) body = JSON.parse(raw);
    else body = raw || undefined;
  } catch (err) {
    const e = err instanceof SyntaxError ? new AppError('BAD_REQUEST', { reason: 'request body is not valid JSON' }) : toAppError(err, 'BAD_REQUEST');
    // Do not read the rest of an oversized body: answer and close the connection.
    if (e.code === 'REQUEST_TOO_LARGE') res.setHeader('connection', 'close');
    return sendError(res, e);
  }

  const response = await o.apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: req.method ?? 'GET', headers: headerMap(req), search: url.search, body },
    context: async () => {
      try {
        return await o.context({ transport: 'http', headers: req.headers });
      } catch (err) {
        // Apollo answers context failures with the status in extensions.http (else 500).
        const e = toAppError(err);
        throw new GraphQLError(e.message, { originalError: e, extensions: { code: e.code, http: { status: e.status } } });
      }
    },
  });
  for (const [key, value] of response.headers) res.setHeader(key, value);
  res.statusCode = response.status ?? 200;
  if (response.body.kind === 'complete') return void res.end(response.body.string);
  for await (const chunk of response.body.asyncIterator) res.write(chunk);
  res.end();
}
