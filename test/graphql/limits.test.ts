/**
 * Query limits: depth and cost as computed (units), over HTTP and graphql-ws on a real server
 * (QUERY_TOO_COMPLEX, HTTP 400, the socket keeps serving), the env config, and the product's
 * own queries (dashboard, introspection) under the defaults.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSchema as buildSdl, getIntrospectionQuery, getOperationAST, parse, specifiedRules, validate } from 'graphql';
import type { Client } from 'graphql-ws';
import { costLimitRule, DEFAULT_QUERY_LIMITS, depthLimitRule, operationCost } from '../../src/graphql/limits.js';
import { buildSchema } from '../../src/graphql/schema.js';
import { analyticsTypeDefs } from '../../src/analytics/index.js';
import { CALL_PAGE, LIVE_SNAPSHOT, SEARCH, SCORES_SUB } from '../../dashboard/src/queries.js';
import { type Harness, startHarness, until } from './harness.js';
import { loadConfig } from '../../src/app/config.js';

/** The query-limits part of the one config (API_MAX_*, API_INTROSPECTION), with credentials so every auth mode starts. */
const loadQueryLimits = (env: NodeJS.ProcessEnv) => loadConfig({ JWT_HS256_SECRET: 'x'.repeat(32), API_KEYS: `t:${'0'.repeat(64)}`, ...env }).queryLimits;

// The full product schema (base + analytics), resolvers irrelevant: limits read only types.
const schema = buildSdl([
  (await import('node:fs')).readFileSync(new URL('../../schema/schema.graphql', import.meta.url), 'utf8'),
  analyticsTypeDefs,
].join('\n'));

const cost = (q: string, variables?: Record<string, unknown>) => {
  const doc = parse(q);
  return operationCost(schema, doc, getOperationAST(doc)!, variables);
};

const errorsOf = (q: string, rules: Parameters<typeof validate>[2]) => validate(schema, parse(q), rules);

test('cost: objects count 1, leaves 0, `first` multiplies, variables and defaults are read, fragments followed', () => {
  assert.equal(cost('{ health { ok } }'), 1);
  assert.equal(cost('{ segments(callId: "c", first: 100) { edges { node { valence modalities { text } } } } }'), 1 + 100 * 3);
  assert.equal(cost('{ segments(callId: "c") { totalCount } }'), 1, 'no object below: the multiplier has nothing to multiply');
  assert.equal(cost('{ segments(callId: "c") { edges { node { valence } } } }'), 1 + 100 * 2, 'schema default first = 100');
  assert.equal(cost('query($n: Int) { calls(first: $n) { edges { node { id } } } }', { n: 7 }), 1 + 7 * 2);
  assert.equal(cost('query($n: Int = 3) { calls(first: $n) { edges { node { id } } } }'), 1 + 3 * 2, 'variable default');
  assert.equal(cost('query($n: Int) { calls(first: $n) { edges { node { id } } } }'), 1 + 50 * 2, 'omitted variable: the argument default');
  assert.equal(cost('query($n: Int) { calls(first: $n) { edges { node { id } } } }', { n: null }), 1 + 1000 * 2, 'null: MAX_PAGE_SIZE');
  assert.equal(
    cost('{ calls(first: 10) { edges { node { ...C } } } } fragment C on Call { segments(first: 5) { edges { node { modalities { text } } } } }'),
    1 + 10 * (1 + 1 + (1 + 5 * (1 + 1 + 1))),
  );
  // Introspection is priced (issue 13: it cost 0, and 400 KB of aliased __schema trees ran 78 s):
  // each of its lists counts its longest length in this schema.
  const types = Object.keys(schema.getTypeMap()).length;
  assert.equal(cost('{ __schema { types { fields { name } } } }'), 1 + (1 + types * 1), 'fields costs 1 per type: an object list of leaves');
  assert.equal(cost('{ __typename }'), 0);
  assert.ok(cost('{ a: __schema { types { fields { type { fields { name } } } } } }') > 10 * types, 'nested introspection lists multiply');
});

test('cost and depth follow each fragment once: a fragment bomb is priced in linear time (issue 13)', () => {
  // F_i spreads F_{i-1} twice: 2^300 paths. Before, both rules walked every path (hung).
  const frags = ['fragment F0 on Query { modelInfo { modelVersion } }'];
  for (let i = 1; i <= 300; i++) frags.push(`fragment F${i} on Query { ...F${i - 1} a${i}: modelInfo { modelVersion } ...F${i - 1} }`);
  const q = `{ ...F300 }\n${frags.join('\n')}`;
  const t0 = performance.now();
  const errors = errorsOf(q, [costLimitRule(1_000_000), depthLimitRule(15)]);
  assert.ok(performance.now() - t0 < 1_000, `took ${performance.now() - t0} ms`);
  assert.deepEqual(errors.map((e) => e.extensions.code), ['QUERY_TOO_COMPLEX']);
});

test('depth: root field is 1, __typename is free, fragments count where they are spread', () => {
  const q = '{ calls { edges { node { segments { edges { node { modalities { text __typename } } } } } } } }'; // depth 8
  assert.equal(errorsOf(q, [depthLimitRule(8)]).length, 0);
  const [e] = errorsOf(q, [depthLimitRule(7)]);
  assert.equal(e.extensions.code, 'QUERY_TOO_COMPLEX');
  assert.match(e.message, /depth limit \(8 > 7\)/);
  const viaFragment = '{ calls { ...A } } fragment A on CallConnection { edges { node { id } } }'; // depth 4
  assert.equal(errorsOf(viaFragment, [depthLimitRule(4)]).length, 0);
  assert.equal(errorsOf(viaFragment, [depthLimitRule(3)]).length, 1);
});

test("the defaults admit the product's own queries: dashboard snapshot, call page, search, subscriptions, introspection", () => {
  const rules = [...specifiedRules, depthLimitRule(DEFAULT_QUERY_LIMITS.maxDepth), costLimitRule(DEFAULT_QUERY_LIMITS.maxCost, { first: 200, filter: null })];
  for (const [name, q] of Object.entries({ LIVE_SNAPSHOT, CALL_PAGE, SEARCH, SCORES_SUB, introspection: getIntrospectionQuery() })) {
    assert.deepEqual(validate(schema, parse(q), rules).map((e) => e.message), [], name);
  }
  const snapshot = cost(LIVE_SNAPSHOT, { first: 200 });
  assert.ok(snapshot > 700_000 && snapshot < DEFAULT_QUERY_LIMITS.maxCost, `snapshot cost ${snapshot}`);
  // ...and refuse what is clearly abusive: introspection nested past the standard query, and
  // every call with every segment, 1000 x 1000.
  const nested = '{ __schema { types { ' + 'fields { type { '.repeat(7) + 'name' + ' } }'.repeat(7) + ' } } }'; // depth 17
  assert.equal(validate(schema, parse(nested), rules)[0]?.extensions.code, 'QUERY_TOO_COMPLEX');
  assert.ok(cost(LIVE_SNAPSHOT, { first: 1000 }) > DEFAULT_QUERY_LIMITS.maxCost);
});

test('loadQueryLimits: defaults, env overrides, CONFIG_INVALID naming the variable', () => {
  assert.deepEqual(loadQueryLimits({}), DEFAULT_QUERY_LIMITS);
  assert.deepEqual(loadQueryLimits({ API_MAX_DEPTH: '6', API_MAX_COST: '500', API_MAX_SUBSCRIPTIONS_PER_CONNECTION: '3' }), { ...DEFAULT_QUERY_LIMITS, maxDepth: 6, maxCost: 500, maxOperationsPerConnection: 3 });
  assert.equal(loadQueryLimits({ API_MAX_TOKENS: '900' }).maxTokens, 900);
  assert.equal(loadQueryLimits({}).introspection, true, 'dev mode (the default auth mode): introspection on');
  assert.equal(loadQueryLimits({ AUTH_MODE: 'jwt' }).introspection, false, 'other modes: off by default');
  assert.equal(loadQueryLimits({ AUTH_MODE: 'apikey', API_INTROSPECTION: 'on' }).introspection, true);
  assert.equal(loadQueryLimits({ API_INTROSPECTION: 'off' }).introspection, false);
  for (const [k, v] of [['API_MAX_DEPTH', '0'], ['API_MAX_COST', 'lots'], ['API_MAX_SUBSCRIPTIONS_PER_CONNECTION', '2.5'], ['API_MAX_TOKENS', '-1'], ['API_INTROSPECTION', 'maybe']]) {
    assert.throws(() => loadQueryLimits({ [k]: v }), (e: any) => e.code === 'CONFIG_INVALID' && e.message.includes(k));
  }
});

async function withHarness(fn: (h: Harness) => Promise<void>): Promise<void> {
  const h = await startHarness({ limits: { maxDepth: 5, maxCost: 300, maxOperationsPerConnection: 2 } });
  try {
    await fn(h);
  } finally {
    await h.close();
  }
}

const DEEP = '{ calls { edges { node { segments { edges { node { valence } } } } } } }'; // depth 7
const PRICEY = 'query($n: Int) { segments(callId: "c1", first: $n) { edges { node { valence modalities { text } } } } }'; // 1 + 3n

test('over HTTP: too deep or too costly is QUERY_TOO_COMPLEX with status 400; cost uses the variables', () =>
  withHarness(async (h) => {
    const deep = await h.gql(DEEP);
    assert.equal(deep.status, 400);
    assert.equal(deep.body.errors?.[0].extensions?.code, 'QUERY_TOO_COMPLEX');
    assert.match(deep.body.errors![0].message, /depth/);
    const ok = await h.gql(PRICEY, { n: 99 }); // 298
    assert.equal(ok.status, 200);
    assert.equal(ok.body.errors, undefined);
    assert.deepEqual(ok.body.data, { segments: { edges: [] } });
    const over = await h.gql(PRICEY, { n: 100 }); // 301
    assert.equal(over.status, 400);
    assert.equal(over.body.errors?.[0].extensions?.code, 'QUERY_TOO_COMPLEX');
    assert.match(over.body.errors![0].message, /cost limit \(301 > 300\)/);
    assert.equal(over.body.data, undefined, 'nothing was executed');
  }));

function once(client: Client, query: string, variables?: Record<string, unknown>): Promise<{ data?: any; errors?: any[] }> {
  return new Promise((resolve) => {
    let last: any = {};
    client.subscribe({ query, variables }, { next: (v) => (last = v), error: (e: any) => resolve({ errors: Array.isArray(e) ? e : [e] }), complete: () => resolve(last) });
  });
}

test('over graphql-ws: the refused operation alone fails with QUERY_TOO_COMPLEX; the socket keeps serving; ops per socket are capped', () =>
  withHarness(async (h) => {
    const client = h.wsClient();
    const deep = await once(client, DEEP);
    assert.equal(deep.errors?.[0].extensions.code, 'QUERY_TOO_COMPLEX');
    const over = await once(client, PRICEY, { n: 100 });
    assert.equal(over.errors?.[0].extensions.code, 'QUERY_TOO_COMPLEX');
    const sub = `subscription($n: Int) { callUpdated { segments(first: $n) { edges { node { valence } } } } }`; // 1 + 1 + n*2
    const costly = await once(client, sub, { n: 200 });
    assert.equal(costly.errors?.[0].extensions.code, 'QUERY_TOO_COMPLEX', 'subscriptions are limited too');
    const ok = await once(client, PRICEY, { n: 10 });
    assert.deepEqual(ok, { data: { segments: { edges: [] } } });
    // maxOperationsPerConnection from `limits`: 2 live subscriptions, the third is refused.
    const stops = [0, 1].map(() => client.subscribe({ query: 'subscription { segmentScored { valence } }' }, { next: () => {}, error: () => {}, complete: () => {} }));
    await until(() => h.api.fanOutStats().members === 2); // identical operations share one hub subscription
    const third = await once(client, 'subscription { segmentScored { valence } }');
    assert.equal(third.errors?.[0].extensions.code, 'TOO_MANY_SUBSCRIPTIONS');
    stops.forEach((s) => s());
  }));
