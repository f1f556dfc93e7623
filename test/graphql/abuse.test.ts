/**
 * One abusive query must not hold the server (issue 13, finding 5): a 400 KB query of aliased
 * `__schema` trees ran 78 s, took 3.7 GB and blocked /healthz, because introspection cost 0 and
 * nothing bounded the document. Real server; /healthz is an extra route, as the app adds it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import WebSocket from 'ws';
import { getIntrospectionQuery, parse } from 'graphql';
import { DEFAULT_QUERY_LIMITS } from '../../src/graphql/limits.js';
import { CALL_PAGE, LIVE_SNAPSHOT, SEARCH, SCORES_SUB } from '../../dashboard/src/queries.js';
import { type Harness, startHarness } from './harness.js';

const TREE = '__schema { types { fields { type { fields { name type { name } } } } } }';
/** `n` aliased introspection trees: each alias ~70 bytes, ~20 tokens. */
const aliased = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: ${TREE}`).join('\n')} }`;

const healthz = (req: IncomingMessage, res: ServerResponse): boolean => {
  if (req.url !== '/healthz') return false;
  res.writeHead(200);
  res.end('ok');
  return true;
};

async function withHarness(opts: Parameters<typeof startHarness>[0], fn: (h: Harness) => Promise<void>): Promise<void> {
  const h = await startHarness({ extraRoutes: [healthz], ...opts });
  try {
    await fn(h);
  } finally {
    await h.close();
  }
}

/** Milliseconds /healthz takes, sampled every 20 ms until `done` settles. */
async function healthLatencies(url: string, done: Promise<unknown>): Promise<number[]> {
  let finished = false;
  void done.finally(() => (finished = true));
  const out: number[] = [];
  while (!finished) {
    const t = performance.now();
    const res = await fetch(url);
    await res.text();
    assert.equal(res.status, 200);
    out.push(performance.now() - t);
    await new Promise((r) => setTimeout(r, 20));
  }
  return out;
}

test('a 400 KB query of aliased __schema trees is refused fast (tokens); /healthz answers meanwhile', () =>
  withHarness({}, async (h) => {
    const query = aliased(5_800);
    assert.ok(query.length > 400_000);
    const t0 = performance.now();
    const abusive = Promise.all([1, 2, 3].map(() => h.gql(query)));
    const lat = await healthLatencies(new URL('/healthz', h.api.url).href, abusive);
    const answers = await abusive;
    const ms = performance.now() - t0;
    for (const a of answers) {
      assert.equal(a.status, 400);
      assert.equal(a.body.errors![0].extensions!.code, 'QUERY_TOO_COMPLEX');
      assert.match(a.body.errors![0].message, /tokens limit/);
    }
    // Generous bounds for a shared 2-core box; before the fix the query ran for minutes.
    assert.ok(ms < 5_000, `three abusive queries took ${ms.toFixed(0)} ms`);
    assert.ok(Math.max(...lat) < 1_000, `/healthz took up to ${Math.max(...lat).toFixed(0)} ms`);
  }));

test('under the token limit, aliased introspection trees are priced: QUERY_TOO_COMPLEX (cost), over HTTP and graphql-ws', () =>
  withHarness({}, async (h) => {
    const query = aliased(100); // ~2,000 tokens; cost 100 x (types x fields x fields ...)
    const t0 = performance.now();
    const r = await h.gql(query);
    assert.equal(r.status, 400);
    assert.equal(r.body.errors![0].extensions!.code, 'QUERY_TOO_COMPLEX');
    assert.match(r.body.errors![0].message, /cost limit/);
    assert.ok(performance.now() - t0 < 3_000);
    const ws = new WebSocket(h.api.wsUrl, 'graphql-transport-ws');
    const msgs: any[] = [];
    ws.on('message', (m) => msgs.push(JSON.parse(String(m))));
    await new Promise((res) => ws.once('open', res));
    ws.send(JSON.stringify({ type: 'connection_init' }));
    while (!msgs.some((m) => m.type === 'connection_ack')) await new Promise((res) => setTimeout(res, 5));
    ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query } }));
    ws.send(JSON.stringify({ id: '2', type: 'subscribe', payload: { query: aliased(5_800) } }));
    ws.send(JSON.stringify({ id: '3', type: 'subscribe', payload: { query: '{ __typename }' } }));
    const deadline = Date.now() + 5_000;
    while (!msgs.some((m) => m.id === '3' && m.type === 'complete') && Date.now() < deadline) await new Promise((res) => setTimeout(res, 10));
    const err = (id: string) => msgs.find((m) => m.id === id && m.type === 'error')?.payload[0];
    assert.equal(err('1').extensions.code, 'QUERY_TOO_COMPLEX');
    assert.equal(err('2').extensions.code, 'QUERY_TOO_COMPLEX');
    assert.match(err('2').message, /tokens limit/);
    assert.ok(msgs.some((m) => m.id === '3' && m.type === 'next'), 'the socket keeps serving');
    ws.close();
  }));

test('introspection off (the default outside dev mode): __schema and __type refused over HTTP and graphql-ws; __typename works', () =>
  withHarness({ limits: { introspection: false } }, async (h) => {
    for (const q of ['{ __schema { queryType { name } } }', '{ __type(name: "Call") { name } }']) {
      const r = await h.gql(q);
      assert.equal(r.status, 400);
      assert.equal(r.body.errors![0].extensions!.code, 'GRAPHQL_VALIDATION_FAILED');
    }
    assert.equal((await h.gql('{ __typename }')).status, 200);
    const client = h.wsClient();
    const error = await new Promise<any>((resolve) => client.subscribe({ query: '{ __schema { queryType { name } } }' }, { next: () => {}, error: resolve, complete: () => resolve(null) }));
    assert.equal(error[0].extensions.code, 'GRAPHQL_VALIDATION_FAILED');
  }));

test("the token limit admits the product's own queries and graphql-js's standard introspection query", () => {
  for (const q of [CALL_PAGE, LIVE_SNAPSHOT, SEARCH, SCORES_SUB, getIntrospectionQuery()]) parse(q, { maxTokens: DEFAULT_QUERY_LIMITS.maxTokens });
});
