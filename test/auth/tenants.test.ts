/**
 * Tenant isolation end to end: a real API server (HTTP + graphql-ws on a free port) with the
 * real auth hook (jwt+apikey), a real SQLite store, hub and analytics stage; real graphql-ws
 * clients. A caller of tenant acme must not query, subscribe to, or infer globex's calls: by id,
 * by list, by search, by subscription with and without callId, by analytics and alerts. An
 * expired token's socket is closed with TOKEN_EXPIRED_CLOSE_CODE; bad credentials are refused.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import WebSocket from 'ws';
import { createClient, type Client } from 'graphql-ws';
import { alertId, createAnalytics, type Alert, type Analytics } from '../../src/analytics/index.js';
import { createAuth, hashApiKey, TOKEN_EXPIRED_CLOSE_CODE } from '../../src/auth/index.js';
import { createApiServer, type ApiServer } from '../../src/graphql/index.js';
import { ScoreHub } from '../../src/publish/hub.js';
import { SqliteScoreStore } from '../../src/store/sqlite-store.js';
import { makeCall, makeScore } from '../store/fixtures.js';
import { HS_SECRET, mint, rsaPair, unsignedToken } from './keys.js';
import { loadConfig } from '../../src/app/config.js';
import { analyticsSchema } from '../../src/graphql/resolvers/analytics.js';
/** The auth part of the one config (the schema parses AUTH_MODE, JWT_*, API_KEYS, DEV_TENANT). */
const loadAuthConfig = (env: NodeJS.ProcessEnv) => loadConfig(env).auth;

let api: ApiServer;
let store: SqliteScoreStore;
let hub: ScoreHub;
let analytics: Analytics;
const clients: Client[] = [];

function alert(tenant: string, callId: string, segmentIndex = 1): Alert {
  return {
    id: alertId(tenant, callId, 'customer', 'ROLLING_BELOW', segmentIndex), tenant, callId, channel: 'customer', rule: 'ROLLING_BELOW', segmentIndex,
    valence: -2, value: -1.8, threshold: -1, message: `${tenant} alert`, eventTimeMs: 1_700_000_010_000 + segmentIndex, raisedAt: '2024-05-01T12:00:00.000Z',
  };
}

before(async () => {
  store = new SqliteScoreStore({ path: ':memory:' });
  await store.start();
  hub = new ScoreHub();
  await hub.start();
  analytics = createAnalytics({ dbPath: ':memory:', scoreStore: store });
  await analytics.start();
  const auth = await createAuth(loadAuthConfig({
    AUTH_MODE: 'jwt+apikey', JWT_HS256_SECRET: HS_SECRET, JWT_CLOCK_TOLERANCE_S: '0',
    API_KEYS: `acme:${hashApiKey('acme-key')},globex:${hashApiKey('globex-key')}`,
  }));
  api = createApiServer({
    store, hub, port: 0, logger: pino({ level: 'silent' }), context: auth.context,
    scorerInfo: () => ({ modelVersion: 't', executionProvider: 'cpu', providerAttempts: [], workers: 1 }),
    health: () => ({ ok: true, source: 'test', store: 'sqlite' }),
    schemaExtensions: [analyticsSchema(analytics)],
  });
  await api.start();
  // Each tenant: its own call, plus one call id both tenants use ('shared').
  for (const [tenant, own] of [['acme', 'a-call'], ['globex', 'g-call']] as const) {
    for (const callId of [own, 'shared']) {
      await store.upsertCall(makeCall({ tenant, callId, meta: { owner: tenant } }));
      for (let i = 0; i < 3; i++) {
        const s = makeScore({ tenant, callId, segmentIndex: i, valence: tenant === 'acme' ? -2 : 2, label: tenant === 'acme' ? 'NEGATIVE' : 'POSITIVE' });
        await store.putScore(s);
        await analytics.service.onScored(s);
      }
      await analytics.store.putAlert(alert(tenant, callId));
    }
  }
});

after(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await api.stop();
  await hub.stop();
  await analytics.stop();
  await store.stop();
});

async function gql(query: string, headers: Record<string, string>, variables?: Record<string, unknown>) {
  const res = await fetch(api.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }) });
  return { status: res.status, body: (await res.json()) as { data?: any; errors?: any[] } };
}

const bearer = async (claims: Record<string, unknown> = {}, expiresInS?: number) => ({ authorization: `Bearer ${await mint({ claims, expiresInS })}` });

function ws(connectionParams: Record<string, unknown> | undefined): Client {
  const c = createClient({ url: api.wsUrl, webSocketImpl: WebSocket, connectionParams, retryAttempts: 0, lazy: true });
  clients.push(c);
  return c;
}

interface Sub { events: any[]; error: any; done: Promise<void> }
function sub(client: Client, query: string, variables?: Record<string, unknown>): Sub {
  const s = { events: [] as any[], error: undefined as any } as Sub;
  s.done = new Promise((resolve) => {
    client.subscribe({ query, variables }, { next: (v) => s.events.push(v), error: (e) => { s.error = e; resolve(); }, complete: () => resolve() });
  });
  return s;
}

async function until(cond: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const CALL_Q = `query($id: ID!) { call(id: $id) { id tenant segmentCount segments(first: 10) { totalCount edges { node { tenant valence } } }
  analytics { channels { channel meanValence } alerts { id tenant } } } }`;
const SEGMENTS_Q = 'query($id: ID!) { segments(callId: $id, first: 10, allRevisions: true) { totalCount edges { node { tenant callId } } } }';

test("HTTP: another tenant's call is indistinguishable from a call that does not exist", async () => {
  const acme = await bearer();
  const other = await gql(CALL_Q, acme, { id: 'g-call' });
  const missing = await gql(CALL_Q, acme, { id: 'no-such-call' });
  assert.equal(other.status, 200);
  assert.deepEqual(other.body, { data: { call: null } });
  assert.deepEqual(other.body, missing.body, 'same answer as for a call that does not exist');
  const segs = await gql(SEGMENTS_Q, acme, { id: 'g-call' });
  assert.deepEqual(segs.body, (await gql(SEGMENTS_Q, acme, { id: 'no-such-call' })).body);
  assert.deepEqual(segs.body.data.segments, { totalCount: 0, edges: [] });
  // The colliding id is acme's own call, with acme's data only (analytics and alerts included).
  const shared = (await gql(CALL_Q, acme, { id: 'shared' })).body.data.call;
  assert.equal(shared.tenant, 'acme');
  assert.ok(shared.segments.edges.every((e: any) => e.node.tenant === 'acme' && e.node.valence === -2));
  assert.ok(shared.analytics.channels.every((c: any) => c.meanValence === -2));
  assert.ok(shared.analytics.alerts.length >= 1 && shared.analytics.alerts.every((a: any) => a.tenant === 'acme'), JSON.stringify(shared.analytics.alerts));
});

// The analytics stage keys calls by (tenant, callId): summaries, alert ids and alert counts of a
// call id both tenants use stay apart, and each tenant sees its own through every analytics field.
test('analytics keeps two tenants\' summaries and alerts of one colliding call id apart', async () => {
  const Q = `{ searchCalls(first: 50) { edges { node { callId tenant alertCount channels { meanValence } call { tenant } } } }
    alerts(callId: "shared", rule: ROLLING_BELOW, first: 10) { totalCount edges { node { id tenant message } } } }`;
  // acme's 'shared' also raised SUSTAINED_NEGATIVE live (three -2 segments); globex's (+2) raised nothing.
  for (const [headers, tenant, mean, count] of [[{ 'x-api-key': 'globex-key' }, 'globex', 2, 1], [await bearer(), 'acme', -2, 2]] as const) {
    const r = await gql(Q, headers);
    assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
    const shared = r.body.data.searchCalls.edges.map((e: any) => e.node).filter((n: any) => n.callId === 'shared');
    assert.equal(shared.length, 1, `${tenant}: exactly its own summary of 'shared'`);
    assert.deepEqual(shared[0], { callId: 'shared', tenant, alertCount: count, channels: [{ meanValence: mean }], call: { tenant } });
    const alerts = r.body.data.alerts;
    assert.equal(alerts.totalCount, 1, `${tenant}: its own alert on 'shared', not taken for the other tenant's repeat`);
    assert.deepEqual(alerts.edges[0].node, { id: alertId(tenant, 'shared', 'customer', 'ROLLING_BELOW', 1), tenant, message: `${tenant} alert` });
  }
});

test('HTTP: lists, search, alerts and alert rules hold only the caller\'s tenant', async () => {
  for (const [headers, tenant] of [[await bearer(), 'acme'], [{ 'x-api-key': 'globex-key' }, 'globex']] as const) {
    const r = await gql(`{ calls(first: 50) { totalCount edges { node { id tenant } } }
      searchCalls(first: 50) { totalCount edges { node { callId tenant call { tenant } } } }
      alerts(first: 50) { totalCount edges { node { tenant callId } } } }`, headers);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const d = r.body.data;
    assert.equal(d.calls.totalCount, 2);
    assert.ok(d.calls.edges.every((e: any) => e.node.tenant === tenant));
    assert.ok(d.searchCalls.edges.every((e: any) => e.node.tenant === tenant && (e.node.call === null || e.node.call.tenant === tenant)), JSON.stringify(d.searchCalls));
    assert.ok(d.alerts.edges.length > 0 && d.alerts.edges.every((e: any) => e.node.tenant === tenant));
    const filtered = await gql('{ alerts(callId: "g-call", first: 10) { totalCount } }', headers);
    assert.equal(filtered.body.data.alerts.totalCount, tenant === 'globex' ? 1 : 0);
  }
  // Rules are per tenant: acme changing its rules leaves globex's alone.
  await gql('mutation { setAlertRules(rules: { rollingBelow: { threshold: -2.5 } }) { rollingBelow { threshold } } }', await bearer());
  const g = await gql('{ alertRules { rollingBelow { threshold } } }', { 'x-api-key': 'globex-key' });
  assert.notEqual(g.body.data.alertRules.rollingBelow.threshold, -2.5);
});

test('HTTP refusals are 401 UNAUTHENTICATED: none, bad signature, wrong alg, alg none, no tenant claim, expired, unknown key, both', async () => {
  const pair = await rsaPair();
  const cases: Record<string, Record<string, string>> = {
    'no credentials': {},
    'bad signature': { authorization: `Bearer ${await mint({ key: new TextEncoder().encode('x'.repeat(40)) })}` },
    'wrong alg (RS256 not configured)': { authorization: `Bearer ${await mint({ alg: 'RS256', key: pair.privateKey })}` },
    'alg none': { authorization: `Bearer ${unsignedToken({ tenant: 'acme' })}` },
    'no tenant claim': { authorization: `Bearer ${await mint({ claims: { tenant: undefined } })}` },
    expired: await bearer({}, -30),
    'not a bearer': { authorization: 'Basic YWNtZTpwdw==' },
    'unknown API key': { 'x-api-key': 'guess' },
    'token and key': { ...(await bearer()), 'x-api-key': 'acme-key' },
  };
  for (const [name, headers] of Object.entries(cases)) {
    const r = await gql('{ calls(first: 1) { totalCount } }', headers);
    assert.equal(r.status, 401, name);
    assert.equal(r.body.errors?.[0].extensions.code, 'UNAUTHENTICATED', name);
    assert.equal(r.body.data, undefined, `${name}: nothing executed`);
  }
});

const SCORES = 'subscription($callId: ID) { segmentScored(callId: $callId) { tenant callId segmentIndex } }';

test('graphql-ws: subscriptions with and without callId, callUpdated and alerts deliver only the caller\'s tenant', async () => {
  const acme = ws({ authorization: `Bearer ${await mint()}` }); // connectionParams.authorization
  const globex = ws({ apiKey: 'globex-key' }); // connectionParams.apiKey
  const subs = {
    all: sub(acme, SCORES),
    theirs: sub(acme, SCORES, { callId: 'g-call' }),
    shared: sub(acme, SCORES, { callId: 'shared' }),
    calls: sub(acme, 'subscription { callUpdated { id tenant } }'),
    theirCall: sub(acme, 'subscription { callUpdated(callId: "g-call") { id tenant } }'),
    alerts: sub(acme, 'subscription { alerts { tenant callId } }'),
    theirAlerts: sub(acme, 'subscription { alerts(callId: "g-call") { tenant callId } }'),
    globexAll: sub(globex, SCORES),
  };
  await until(() => hub.stats().subscribers === 6, 3000, 'hub subscriptions');
  // globex events first, then acme sentinels: a subscriber sees events in publish order, so
  // once a sentinel arrived, any globex event it could have seen has arrived too.
  await hub.publishScore(makeScore({ tenant: 'globex', callId: 'g-call', segmentIndex: 10 }));
  await hub.publishScore(makeScore({ tenant: 'globex', callId: 'shared', segmentIndex: 10 }));
  await hub.publishCall(makeCall({ tenant: 'globex', callId: 'g-call' }));
  analytics.hub.publish(alert('globex', 'g-call', 10));
  await hub.publishScore(makeScore({ tenant: 'acme', callId: 'shared', segmentIndex: 11 }));
  await hub.publishCall(makeCall({ tenant: 'acme', callId: 'a-call' }));
  analytics.hub.publish(alert('acme', 'a-call', 11));
  await until(() => subs.all.events.length >= 1 && subs.shared.events.length >= 1 && subs.calls.events.length >= 1 && subs.alerts.events.length >= 1 && subs.globexAll.events.length >= 2);
  await new Promise((r) => setTimeout(r, 50));
  const brief = (s: Sub) => s.events.map((e) => { const v = Object.values(e.data)[0] as any; return `${v.tenant}/${v.callId ?? v.id}`; });
  assert.deepEqual(brief(subs.all), ['acme/shared']);
  assert.deepEqual(brief(subs.shared), ['acme/shared'], "globex's score on the colliding id is not delivered");
  assert.deepEqual(brief(subs.theirs), []);
  assert.deepEqual(brief(subs.calls), ['acme/a-call']);
  assert.deepEqual(brief(subs.theirCall), []);
  assert.deepEqual(brief(subs.alerts), ['acme/a-call']);
  assert.deepEqual(brief(subs.theirAlerts), []);
  assert.deepEqual(brief(subs.globexAll), ['globex/g-call', 'globex/shared']);
  for (const s of [subs.theirs, subs.theirCall, subs.theirAlerts]) assert.equal(s.error, undefined, 'no error either: nothing to infer');
  await Promise.all([acme.dispose(), globex.dispose()]);
  await until(() => hub.stats().subscribers === 0, 3000, 'subscriptions freed');
});

test('graphql-ws: bad credentials close the socket with 4401 before any operation runs', { timeout: 15_000 }, async () => {
  const pair = await rsaPair();
  for (const params of [undefined, {}, { authorization: `Bearer ${await mint({ key: new TextEncoder().encode('y'.repeat(40)) })}` },
    { authorization: await mint({ alg: 'RS256', key: pair.privateKey }) }, { authorization: await mint({ claims: { tenant: undefined } }) },
    { authorization: await mint({ expiresInS: -30 }) }, { apiKey: 'guess' }]) {
    const s = sub(ws(params), SCORES);
    await s.done;
    assert.equal(s.error?.code, 4401, JSON.stringify(params));
    assert.match(s.error?.reason, /^UNAUTHENTICATED/);
  }
});

test(`graphql-ws: a token that expires while its socket is open closes it with ${TOKEN_EXPIRED_CLOSE_CODE} at exp`, { timeout: 15_000 }, async () => {
  // exp is whole seconds: 2 s from now lands 1..2 s ahead.
  const token = await mint({ expiresInS: 2 });
  const exp = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).exp * 1000;
  const client = ws({ authorization: `Bearer ${token}` });
  const s = sub(client, SCORES);
  await until(() => hub.stats().subscribers === 1, 3000, 'subscribed');
  await hub.publishScore(makeScore({ tenant: 'acme', callId: 'a-call', segmentIndex: 20 }));
  await until(() => s.events.length === 1, 3000, 'a live event before expiry');
  await s.done;
  const closedAt = Date.now();
  assert.equal(s.error?.code, TOKEN_EXPIRED_CLOSE_CODE);
  assert.match(s.error?.reason, /token expired/);
  assert.ok(closedAt >= exp - 50 && closedAt < exp + 1500, `closed ${closedAt - exp} ms from exp`);
  await until(() => hub.stats().subscribers === 0, 3000, 'its hub subscription freed');
  // A client that reconnects with the same expired token is refused for good (4401).
  const again = sub(ws({ authorization: `Bearer ${token}` }), SCORES);
  await again.done;
  assert.equal(again.error?.code, 4401);
});
