/** The API over HTTP: real server on a free port, real SQLite store, fetch as the client. */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../../src/core/errors.js';
import { makeCall, makeScore } from '../store/fixtures.js';
import { type Harness, SCORE_FIELDS, scorerInfo, startHarness } from './harness.js';

let h: Harness;
const T0 = Date.parse('2024-05-01T10:00:00Z');

before(async () => {
  h = await startHarness();
  await h.store.upsertCall(makeCall({ callId: 'call-1', startedAtMs: T0 }));
  await h.store.upsertCall(makeCall({ callId: 'call-2', status: 'ENDED', startedAtMs: Date.parse('2024-05-01T11:00:00Z'), endedAtMs: Date.parse('2024-05-01T11:05:00Z') }));
  await h.store.upsertCall(makeCall({ callId: 'secret', tenant: 'globex' }));
  for (let i = 0; i < 5; i++) {
    for (const channel of ['agent', 'customer']) await h.store.putScore(makeScore({ callId: 'call-1', channel, segmentIndex: i, startMs: T0 + i * 2000 }));
  }
  await h.store.putScore(makeScore({ callId: 'call-1', channel: 'customer', segmentIndex: 2, startMs: T0 + 4000, revision: 1, text: 'ok then', textMissing: false, valence: 0.2, label: 'NEUTRAL', modalities: { text: 'PRESENT', audio: 'PRESENT', video: 'MISSING' } }));
  await h.store.putScore(makeScore({ callId: 'secret', tenant: 'globex' }));
});
after(() => h.close());

test('segments: every SegmentScore field, latest revision by default, pages by cursor', async () => {
  const q = `query($after: String) { segments(callId: "call-1", first: 4, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { ${SCORE_FIELDS} } } } }`;
  const seen: any[] = [];
  let cursor: string | null = null;
  for (;;) {
    const { status, body } = await h.gql(q, { after: cursor });
    assert.equal(status, 200, JSON.stringify(body));
    const conn = body.data!.segments;
    assert.equal(conn.totalCount, 10);
    seen.push(...conn.edges.map((e: any) => e.node));
    if (!conn.pageInfo.hasNextPage) break;
    cursor = conn.pageInfo.endCursor;
  }
  assert.equal(seen.length, 10);
  assert.deepEqual(new Set(seen.map((s) => `${s.channel}/${s.segmentIndex}`)).size, 10);
  const rev = seen.find((s) => s.channel === 'customer' && s.segmentIndex === 2);
  assert.deepEqual(rev, {
    ...makeScore({ callId: 'call-1', channel: 'customer', segmentIndex: 2, startMs: T0 + 4000 }),
    revision: 1, text: 'ok then', textMissing: false, valence: 0.2, label: 'NEUTRAL',
    modalities: { text: 'PRESENT', audio: 'PRESENT', video: 'MISSING' }, textSource: 'PLATFORM',
  });
  const all = await h.gql(`{ segments(callId: "call-1", channel: "customer", allRevisions: true) { totalCount edges { node { segmentIndex revision } } } }`);
  assert.equal(all.body.data!.segments.totalCount, 6);
});

test('call with nested segments, and calls with status and time filters', async () => {
  const { body } = await h.gql(`{ call(id: "call-1") { id tenant status startedAt endedAt channels segmentCount
    segments(channel: "agent", first: 2) { totalCount edges { node { channel segmentIndex } } } } }`);
  const call = body.data!.call;
  assert.equal(call.startedAt, '2024-05-01T10:00:00.000Z');
  assert.equal(call.endedAt, null);
  assert.equal(call.segmentCount, 10);
  assert.equal(call.segments.totalCount, 5);
  assert.deepEqual(call.segments.edges.map((e: any) => e.node.segmentIndex), [0, 1]);

  const ended = await h.gql(`{ calls(filter: { status: ENDED }) { totalCount edges { node { id endedAt } } } }`);
  assert.deepEqual(ended.body.data!.calls.edges.map((e: any) => e.node), [{ id: 'call-2', endedAt: '2024-05-01T11:05:00.000Z' }]);
  const window = await h.gql(`query($a: DateTime, $b: DateTime) { calls(filter: { startedAfter: $a, startedBefore: $b }) { totalCount edges { node { id } } } }`,
    { a: '2024-05-01T10:30:00Z', b: '2024-05-01T12:00:00Z' });
  assert.deepEqual(window.body.data!.calls.edges.map((e: any) => e.node.id), ['call-2']);
  const newestFirst = await h.gql(`{ calls { edges { node { id } } } }`);
  assert.deepEqual(newestFirst.body.data!.calls.edges.map((e: any) => e.node.id), ['call-2', 'call-1']);
});

test("another tenant's call is invisible: null call, empty segments, absent from calls", async () => {
  const { body } = await h.gql(`{ call(id: "secret") { id } segments(callId: "secret") { totalCount } calls { edges { node { id } } } }`);
  assert.equal(body.data!.call, null);
  assert.equal(body.data!.segments.totalCount, 0);
  assert.ok(!body.data!.calls.edges.some((e: any) => e.node.id === 'secret'));
});

test('modelInfo and health', async () => {
  const { body } = await h.gql(`{ modelInfo { version executionProvider providerAttempts { provider ok error } workers metrics } health { ok source store uptimeSeconds } }`);
  assert.equal(body.data!.modelInfo.version, scorerInfo.modelVersion);
  assert.deepEqual(body.data!.modelInfo.providerAttempts, [{ provider: 'webgpu', ok: false, error: 'no adapter' }, { provider: 'cpu', ok: true, error: null }]);
  assert.deepEqual(JSON.parse(body.data!.modelInfo.metrics), scorerInfo.metrics);
  assert.equal(body.data!.health.ok, true);
  assert.ok(body.data!.health.uptimeSeconds >= 0);
});

test('a syntax error is GRAPHQL_PARSE_FAILED, an unknown field GRAPHQL_VALIDATION_FAILED (HTTP 400)', async () => {
  const parse = await h.gql('{ segments(callId: "x" { totalCount } }');
  assert.equal(parse.status, 400);
  assert.equal(parse.body.errors![0].extensions!.code, 'GRAPHQL_PARSE_FAILED');
  const invalid = await h.gql('{ segments(callId: "x") { nope } }');
  assert.equal(invalid.status, 400);
  assert.equal(invalid.body.errors![0].extensions!.code, 'GRAPHQL_VALIDATION_FAILED');
  const badVar = await h.gql('query($n: Int!) { segments(callId: "x", first: $n) { totalCount } }', { n: 'ten' });
  assert.equal(badVar.body.errors![0].extensions!.code, 'BAD_REQUEST');
  const badDate = await h.gql('query($a: DateTime) { calls(filter: { startedAfter: $a }) { totalCount } }', { a: 'yesterday-ish' });
  assert.equal(badDate.body.errors![0].extensions!.code, 'BAD_REQUEST');
});

test('AppErrors from the store surface as extensions.code: BAD_CURSOR, BAD_REQUEST', async () => {
  const cursor = await h.gql('{ segments(callId: "call-1", after: "garbage") { totalCount } }');
  assert.equal(cursor.status, 200);
  assert.equal(cursor.body.errors![0].extensions!.code, 'BAD_CURSOR');
  assert.deepEqual(cursor.body.errors![0].extensions!.retriable, false);
  const first = await h.gql('{ calls(first: 0) { totalCount } }');
  assert.equal(first.body.errors![0].extensions!.code, 'BAD_REQUEST');
  assert.match(first.body.errors![0].message, /first must be an integer/);
});

test('unknown errors are INTERNAL with their message hidden; a store outage is STORE_UNAVAILABLE', async () => {
  const local = await startHarness({
    health: () => {
      throw new TypeError('secret connection string postgres://u:p@db');
    },
  });
  try {
    const { body } = await local.gql('{ health { ok } }');
    assert.equal(body.errors![0].extensions!.code, 'INTERNAL');
    assert.equal(body.errors![0].message, 'internal error');
    assert.doesNotMatch(JSON.stringify(body), /secret|postgres|stack/);
    await local.store.stop();
    const down = await local.gql('{ segments(callId: "call-1") { totalCount } }');
    assert.equal(down.body.errors![0].extensions!.code, 'STORE_UNAVAILABLE');
    assert.equal(down.body.errors![0].extensions!.retriable, true);
  } finally {
    await local.close();
  }
});

test('the context hook decides the tenant and can refuse with UNAUTHENTICATED (401)', async () => {
  const local = await startHarness({
    context: ({ headers }) => {
      const auth = headers.authorization;
      if (auth !== 'Bearer globex-key') throw new AppError('UNAUTHENTICATED', { reason: 'missing or unknown API key' });
      return { tenant: 'globex', principal: 'api-key:test' };
    },
  });
  try {
    await local.store.putScore(makeScore({ callId: 'g1', tenant: 'globex' }));
    await local.store.putScore(makeScore({ callId: 'g1', tenant: 'acme' }));
    const denied = await local.gql('{ segments(callId: "g1") { totalCount } }');
    assert.equal(denied.status, 401);
    assert.equal(denied.body.errors![0].extensions!.code, 'UNAUTHENTICATED');
    const ok = await local.gql('{ segments(callId: "g1") { edges { node { tenant } } } }', undefined, { authorization: 'Bearer globex-key' });
    assert.deepEqual(ok.body.data!.segments.edges.map((e: any) => e.node.tenant), ['globex']);
  } finally {
    await local.close();
  }
});

test('extraRoutes run first; unknown paths are 404 NOT_FOUND; oversize and non-JSON bodies are refused', async () => {
  const local = await startHarness({
    maxRequestBytes: 2048,
    extraRoutes: [
      (req, res) => {
        if (req.url !== '/hello') return false;
        res.writeHead(200, { 'content-type': 'text/plain' }).end('hi');
        return true;
      },
    ],
  });
  try {
    const base = local.api.url.replace(/\/graphql$/, '');
    assert.equal(await (await fetch(`${base}/hello`)).text(), 'hi');
    const missing = await fetch(`${base}/nope`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as any).errors[0].extensions.code, 'NOT_FOUND');
    const big = await fetch(local.api.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: `{ health { ok } } #${'x'.repeat(4096)}` }) });
    assert.equal(big.status, 413);
    assert.equal(((await big.json()) as any).errors[0].extensions.code, 'REQUEST_TOO_LARGE');
    const notJson = await fetch(local.api.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{ nope' });
    assert.equal(notJson.status, 400);
    assert.equal(((await notJson.json()) as any).errors[0].extensions.code, 'BAD_REQUEST');
    const get = await fetch(`${local.api.url}?query=${encodeURIComponent('{ health { ok } }')}`, { headers: { 'apollo-require-preflight': '1' } });
    assert.equal(((await get.json()) as any).data.health.ok, true);
  } finally {
    await local.close();
  }
});
