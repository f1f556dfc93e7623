/** The executable schema: schema/schema.graphql (the one SDL) plus this folder's resolvers. */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { GraphQLSchema } from 'graphql';
import type { ApiDeps } from './resolvers/deps.js';
import { callResolvers, queryResolvers } from './resolvers/query.js';
import { subscriptionResolvers } from './resolvers/subscription.js';
import { DateTimeScalar } from './scalars.js';
import { textSourceOf, type SegmentScore } from '../core/types.js';

/**
 * Finds schema/schema.graphql: next to the sources (tsx) or, from a build in dist/, in the
 * working directory.
 */
export function defaultSdlPath(): string {
  const candidates = [fileURLToPath(new URL('../../schema/schema.graphql', import.meta.url)), resolve('schema/schema.graphql')];
  return candidates.find((p) => existsSync(p)) ?? candidates[0];
}

/**
 * Another stage's part of the API (e.g. src/analytics): SDL that extends the base schema
 * (`extend type Query { ... }`) and its resolvers, merged after the base ones.
 */
type IResolvers = Record<string, unknown>;

export interface SchemaExtension {
  typeDefs: string;
  resolvers: IResolvers;
}

export function buildSchema(deps: ApiDeps, opts: { sdlPath?: string; extensions?: SchemaExtension[] } = {}): GraphQLSchema {
  const typeDefs = readFileSync(opts.sdlPath ?? defaultSdlPath(), 'utf8');
  const extensions = opts.extensions ?? [];
  return makeExecutableSchema({
    typeDefs: [typeDefs, ...extensions.map((e) => e.typeDefs)],
    resolvers: [
      {
        DateTime: DateTimeScalar,
        Query: queryResolvers(deps),
        Call: callResolvers(deps),
        Subscription: subscriptionResolvers(deps),
        // Scores made before textSource existed (an older instance's records) still answer.
        SegmentScore: {
          textSource: (s: SegmentScore) => textSourceOf(s),
          recognisedText: (s: SegmentScore) => s.recognisedText ?? null,
          utteranceIds: (s: SegmentScore) => s.utteranceIds ?? [],
        },
      },
      ...extensions.map((e) => e.resolvers),
    ] as Parameters<typeof makeExecutableSchema>[0]['resolvers'],
    // Every resolver named above must exist in the SDL, so a renamed field fails at start.
    resolverValidationOptions: { requireResolversToMatchSchema: 'error' },
  });
}
