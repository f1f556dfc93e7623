import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphQLError } from 'graphql';
import { AppError } from '../../src/core/errors.js';
import { findAppError, formatApiError } from '../../src/graphql/errors.js';

const logged: unknown[] = [];
const log = { error: (obj: unknown) => void logged.push(obj) } as never;

test('an AppError anywhere in the cause chain gives its code, message and retriable', () => {
  const app = new AppError('STORE_UNAVAILABLE', { reason: 'disk full' });
  const wrapped = new GraphQLError('outer', { originalError: new Error('middle', { cause: app }), path: ['segments'] });
  assert.equal(findAppError(wrapped), app);
  const out = formatApiError(wrapped.toJSON(), wrapped, log);
  assert.deepEqual(out, { message: 'score store is unavailable: disk full', path: ['segments'], extensions: { code: 'STORE_UNAVAILABLE', retriable: true } });
});

test('GraphQL layer codes map onto the catalogue and keep their message', () => {
  const e = new GraphQLError('Syntax Error: Expected Name', { extensions: { code: 'GRAPHQL_PARSE_FAILED' } });
  assert.deepEqual(formatApiError(e.toJSON(), e).extensions, { code: 'GRAPHQL_PARSE_FAILED' });
  const v = new GraphQLError('Variable "$n" got invalid value', { extensions: { code: 'BAD_USER_INPUT' } });
  assert.deepEqual(formatApiError(v.toJSON(), v).extensions, { code: 'BAD_REQUEST' });
  const untagged = new GraphQLError('Variable "$n" of required type "Int!" was not provided.');
  assert.deepEqual(formatApiError(untagged.toJSON(), untagged).extensions, { code: 'BAD_REQUEST' });
});

test('anything else is INTERNAL with a generic message, and the original is logged', () => {
  logged.length = 0;
  const secret = new TypeError('cannot read x of undefined at /srv/secret.ts');
  const e = new GraphQLError(secret.message, { originalError: secret, path: ['health'] });
  const out = formatApiError(e.toJSON(), e, log);
  assert.deepEqual(out, { message: 'internal error', path: ['health'], extensions: { code: 'INTERNAL', retriable: true } });
  assert.equal(logged.length, 1);
  // A non-null violation (path, no cause) is a server bug too.
  const nn = new GraphQLError('Cannot return null for non-nullable field Query.health.', { path: ['health'] });
  assert.equal(formatApiError(nn.toJSON(), nn, log).extensions!.code, 'INTERNAL');
  // A made-up code that is not in the catalogue is not passed through.
  const odd = new GraphQLError('x', { extensions: { code: 'SOMETHING_ELSE' }, originalError: new Error('y') });
  assert.equal(formatApiError(odd.toJSON(), odd, log).extensions!.code, 'INTERNAL');
});
