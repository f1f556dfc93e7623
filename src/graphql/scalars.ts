/**
 * DateTime: ISO-8601 strings on the wire; resolvers hand it ms since the unix epoch (number),
 * an ISO string, or a Date. Inputs (filters) are parsed to ms since the unix epoch.
 */
import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';

function toMs(value: unknown): number {
  const ms = typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : value instanceof Date ? value.getTime() : Number.NaN;
  if (!Number.isFinite(ms)) throw new GraphQLError(`DateTime must be an ISO-8601 string or ms since the unix epoch, got ${JSON.stringify(value)}`, { extensions: { code: 'BAD_REQUEST' } });
  return ms;
}

export const DateTimeScalar = new GraphQLScalarType<number, string>({
  name: 'DateTime',
  description: 'ISO-8601 date-time (UTC). As an input, an ISO string or ms since the unix epoch.',
  serialize: (value) => new Date(toMs(value)).toISOString(),
  parseValue: (value) => toMs(value),
  parseLiteral: (ast) => {
    if (ast.kind === Kind.STRING) return toMs(ast.value);
    if (ast.kind === Kind.INT || ast.kind === Kind.FLOAT) return toMs(Number(ast.value));
    throw new GraphQLError('DateTime must be a string or a number', { extensions: { code: 'BAD_REQUEST' } });
  },
});
