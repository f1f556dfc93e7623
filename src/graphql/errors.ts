/**
 * Every GraphQL error leaves the server with an `extensions.code` from the one catalogue
 * (src/core/errors.ts), over HTTP and over graphql-ws alike:
 * - an AppError anywhere in the error's cause chain: its code, message and `retriable`;
 * - errors the GraphQL layer makes itself (parse, validation, variable coercion): mapped below,
 *   message kept (it tells the client what to fix);
 * - anything else is a bug or a driver leaking through: code INTERNAL, message 'internal error',
 *   the original logged with its stack and never sent.
 */
import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { Logger } from 'pino';
import { AppError, ERROR_CATALOGUE } from '../core/errors.js';
import { tokenLimitError } from './limits.js';

/** Codes of Apollo Server and graphql-ws errors -> catalogue codes. */
const GRAPHQL_CODE_MAP: Record<string, string> = {
  GRAPHQL_PARSE_FAILED: 'GRAPHQL_PARSE_FAILED',
  GRAPHQL_VALIDATION_FAILED: 'GRAPHQL_VALIDATION_FAILED',
  INTROSPECTION_DISABLED: 'GRAPHQL_VALIDATION_FAILED',
  MAX_RECURSIVE_SELECTIONS_EXCEEDED: 'GRAPHQL_VALIDATION_FAILED',
  BAD_USER_INPUT: 'BAD_REQUEST',
  BAD_REQUEST: 'BAD_REQUEST',
  OPERATION_RESOLUTION_FAILURE: 'BAD_REQUEST',
  PERSISTED_QUERY_NOT_FOUND: 'BAD_REQUEST',
  PERSISTED_QUERY_NOT_SUPPORTED: 'BAD_REQUEST',
};

/** Walks originalError / cause links (bounded) looking for an AppError. */
export function findAppError(error: unknown): AppError | null {
  let e: unknown = error;
  for (let depth = 0; depth < 8 && e; depth++) {
    if (e instanceof AppError) return e;
    const next: unknown = e instanceof GraphQLError ? e.originalError ?? (e as { cause?: unknown }).cause : (e as { cause?: unknown }).cause;
    e = next ?? unwrapResolverError(e);
    if (e === error) break;
  }
  return null;
}

function isCatalogued(code: unknown): code is string {
  return typeof code === 'string' && (code in ERROR_CATALOGUE || Object.values(GRAPHQL_CODE_MAP).includes(code));
}

/** Apollo's `formatError` shape; also used for graphql-ws (`formatted` = error.toJSON()). */
export function formatApiError(formatted: GraphQLFormattedError, error: unknown, log?: Pick<Logger, 'error'>): GraphQLFormattedError {
  const base = { message: formatted.message, ...(formatted.locations ? { locations: formatted.locations } : {}), ...(formatted.path ? { path: formatted.path } : {}) };
  const app = findAppError(error);
  if (app) return { ...base, message: app.message, extensions: { code: app.code, retriable: app.retriable } };
  const given = formatted.extensions?.code;
  // Apollo parses with maxTokens (limits.ts); its refusal is a parse error, but it is a limit.
  const tokens = given === 'GRAPHQL_PARSE_FAILED' ? tokenLimitError(formatted) : null;
  if (tokens) return { message: tokens.message, extensions: { code: tokens.code, retriable: tokens.retriable } };
  const mapped = typeof given === 'string' ? GRAPHQL_CODE_MAP[given] ?? given : undefined;
  const original = error instanceof GraphQLError ? error.originalError : undefined;
  // A GraphQLError that wraps no thrown error and carries a catalogued code was made on purpose.
  if (mapped && isCatalogued(mapped) && (!original || original instanceof GraphQLError)) return { ...base, extensions: { code: mapped } };
  // graphql-js request errors (variable coercion, unknown operation) have neither a path nor a
  // cause; over HTTP Apollo tags them BAD_USER_INPUT, over graphql-ws they arrive untagged.
  if (!given && error instanceof GraphQLError && !original && !error.path) return { ...base, extensions: { code: 'BAD_REQUEST' } };
  log?.error({ err: original ?? error, path: formatted.path }, 'unexpected error in a GraphQL operation');
  return { ...base, message: ERROR_CATALOGUE.INTERNAL.message, extensions: { code: 'INTERNAL', retriable: ERROR_CATALOGUE.INTERNAL.retriable } };
}

/** Formats the errors of one graphql-ws result. */
export function formatErrors(errors: readonly GraphQLError[], log?: Pick<Logger, 'error'>): GraphQLFormattedError[] {
  return errors.map((e) => formatApiError(e.toJSON(), e, log));
}
