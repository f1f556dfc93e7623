/**
 * PostgresScoreStore: the same contract suite as SQLite, each test on a fresh database of the
 * real server (scripts/postgres.sh start), plus what only PostgreSQL has: migrations under an
 * advisory lock with two instances starting at once, the version guard, a bounded pool, and
 * driver failures (server unreachable, connections killed) as retriable STORE_UNAVAILABLE.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { PostgresScoreStore, POSTGRES_MIGRATIONS } from '../../src/store/postgres/index.js';
import { createPool } from '../../src/store/postgres/pool.js';
import { freshDatabase, requirePostgres } from '../support/postgres.js';
import { runStoreContract } from './contract.js';
import { runFencingContract } from './fencing-contract.js';
import { makeCall, makeScore } from './fixtures.js';

const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;

/** A store (not started) on a fresh database that is dropped after the test. */
async function freshStore(t: TestContext, opts: Partial<ConstructorParameters<typeof PostgresScoreStore>[0]> = {}): Promise<{ store: PostgresScoreStore; url: string } | null> {
  const base = await requirePostgres(t);
  if (!base) return null;
  const url = await freshDatabase(t, 'store', base);
  const store = new PostgresScoreStore({ url, maxConnections: 4, ...opts });
  // Tests stop their store in their own body; the database drop (DROP ... WITH (FORCE), on
  // t.after) ends whatever a failed test left open.
  return { store, url };
}

runStoreContract('postgresql', async (t) => (await freshStore(t))?.store ?? null);

async function sql<R extends pg.QueryResultRow>(url: string, text: string, params: unknown[] = []): Promise<R[]> {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => undefined); // a backend terminated by the test's own cleanup is not a failure
  await c.connect();
  try {
    return (await c.query<R>(text, params)).rows;
  } finally {
    await c.end();
  }
}

test('two instances starting together migrate once (advisory lock); data survives a restart', async (t) => {
  const f = await freshStore(t);
  if (!f) return;
  const twin = new PostgresScoreStore({ url: f.url, maxConnections: 2 });
  try {
    await Promise.all([f.store.start(), twin.start()]);
    const rows = await sql<{ version: number; name: string }>(f.url, 'SELECT version, name FROM schema_migrations ORDER BY version');
    assert.deepEqual(rows, POSTGRES_MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
    assert.equal(await f.store.putScore(makeScore()), 'inserted');
    assert.equal(await twin.putScore(makeScore()), 'duplicate', 'the other instance sees the same row');
    await f.store.stop();
    const again = new PostgresScoreStore({ url: f.url });
    await again.start();
    assert.equal(await again.putScore(makeScore()), 'duplicate', 'the row survived the restart');
    await again.stop();
  } finally {
    await twin.stop();
    await f.store.stop();
  }
});

test('a database migrated by a newer server is refused with STORE_UNAVAILABLE', async (t) => {
  const f = await freshStore(t);
  if (!f) return;
  await f.store.start();
  await f.store.stop();
  await sql(f.url, "INSERT INTO schema_migrations (version, name) VALUES (999, 'future')");
  const newer = new PostgresScoreStore({ url: f.url });
  await assert.rejects(newer.start(), (e: any) => e.code === 'STORE_UNAVAILABLE' && /schema version 999/.test(e.message));
  await newer.stop();
});

test('cursors sort text keys by byte order (COLLATE "C"), exactly like SQLite', async (t) => {
  const f = await freshStore(t);
  if (!f) return;
  await f.store.start();
  try {
    // In most locales 'a' < 'B'; in byte order 'B' (0x42) < 'a' (0x61) < 'é'.
    for (const channel of ['a', 'B', 'é', 'b']) await f.store.putScore(makeScore({ channel, startMs: 1000 }));
    const channels: string[] = [];
    let after: string | undefined;
    do {
      const p = await f.store.getSegments({ tenant: 'acme', callId: 'call-1', first: 1, after });
      channels.push(...p.items.map((i) => i.node.channel));
      after = p.hasNextPage ? p.endCursor! : undefined;
    } while (after);
    assert.deepEqual(channels, ['B', 'a', 'b', 'é']);
  } finally {
    await f.store.stop();
  }
});

test('an unreachable server is STORE_UNAVAILABLE (retriable) at start, quickly', async (t) => {
  if (!(await requirePostgres(t))) return;
  const store = new PostgresScoreStore({ url: 'postgres://nobody:x@127.0.0.1:1/none', connectionTimeoutMs: 1000 });
  const t0 = Date.now();
  await assert.rejects(store.start(), (e: any) => e.code === 'STORE_UNAVAILABLE' && e.retriable === true);
  assert.ok(Date.now() - t0 < 3000);
});

test('connections killed under the store (a server restart as the pool sees it): STORE_UNAVAILABLE, then it recovers', async (t) => {
  const f = await freshStore(t);
  if (!f) return;
  await f.store.start();
  try {
    await f.store.putScore(makeScore({ segmentIndex: 0 }));
    // Terminate every backend of this database, as a restart of PostgreSQL would.
    await sql(f.url, 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
    const outcomes: string[] = [];
    for (let i = 1; i <= 6; i++) {
      try {
        outcomes.push(await f.store.putScore(makeScore({ segmentIndex: i })));
      } catch (e: any) {
        assert.equal(e.code, 'STORE_UNAVAILABLE');
        assert.equal(e.retriable, true);
        outcomes.push('unavailable');
      }
    }
    assert.equal(outcomes[outcomes.length - 1], 'inserted', `the pool reconnected: ${outcomes.join(',')}`);
    // Every put that failed is retried, as the pipeline would; none is lost or doubled.
    for (let i = 1; i <= 6; i++) await f.store.putScore(makeScore({ segmentIndex: i }));
    const page = await f.store.getSegments({ tenant: 'acme', callId: 'call-1', first: 100 });
    assert.equal(page.totalCount, 7);
    assert.equal((await f.store.getCall('call-1', 'acme'))?.segmentCount, 7);
  } finally {
    await f.store.stop();
  }
});

test('the pool is bounded: 50 concurrent puts use at most maxConnections connections', async (t) => {
  const f = await freshStore(t, { maxConnections: 3 });
  if (!f) return;
  await f.store.start();
  try {
    let peak = 0;
    let running = true;
    const watcher = (async () => {
      while (running) {
        const r = await sql<{ n: string }>(f.url, "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'sentiment-stream'");
        peak = Math.max(peak, Number(r[0].n));
      }
    })();
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => f.store.putScore(makeScore({ segmentIndex: i, callId: `c${i % 5}` }))));
    running = false;
    await watcher;
    assert.ok(peak >= 1, 'the watcher saw the pool');
    assert.equal(results.filter((r) => r === 'inserted').length, 50);
    assert.ok(peak <= 3, `peak ${peak} connections`);
  } finally {
    await f.store.stop();
  }
});

runFencingContract('postgresql', async (t, now) => {
  const base = await requirePostgres(t);
  if (!base) return null;
  return new PostgresScoreStore({ url: await freshDatabase(t, 'fence', base), maxConnections: 4, now });
});

test('a claim ends the session of a writer paused mid-write under the old epoch; its retry is fenced', async (t) => {
  const fresh = await freshStore(t, { claimWaitMs: 300 });
  if (!fresh) return;
  const { store, url } = fresh;
  await store.start();
  const paused = new pg.Client({ connectionString: url });
  paused.on('error', () => undefined); // its session is ended by the claim
  try {
    const old = { partition: 'chunks/0', epoch: (await store.claimPartitions('a', [{ partition: 'chunks/0' }])).get('chunks/0')! };
    // The paused owner: a write transaction that took the epoch row FOR SHARE and never finishes.
    await paused.connect();
    await paused.query('BEGIN');
    await paused.query('SELECT epoch FROM partition_owners WHERE partition = $1 FOR SHARE', ['chunks/0']);
    const t0 = Date.now();
    const epoch = (await store.claimPartitions('b', [{ partition: 'chunks/0' }])).get('chunks/0');
    assert.equal(epoch, 2);
    assert.ok(Date.now() - t0 < 10_000, `the claim did not wait for the paused writer (${Date.now() - t0} ms)`);
    assert.equal(store.stalledWritersEnded, 1);
    await assert.rejects(paused.query('SELECT 1'), 'the paused session was ended');
    await assert.rejects(store.putScore(makeScore(), old), code('STORE_FENCED'));
  } finally {
    await paused.end().catch(() => undefined);
    await store.stop();
  }
});

test('a transaction left idle by a paused client is ended by the server (idle_in_transaction_session_timeout), releasing its row locks', async (t) => {
  const fresh = await freshStore(t, { idleInTransactionTimeoutMs: 300 });
  if (!fresh) return;
  const { store } = fresh;
  await store.start();
  const pool = createPool({ url: fresh.url, idleInTransactionTimeoutMs: 300 });
  pool.on('error', () => undefined);
  try {
    await store.upsertCall(makeCall());
    const paused = await pool.connect();
    paused.on('error', () => undefined);
    await paused.query('BEGIN');
    await paused.query(`SELECT 1 FROM calls WHERE call_id = 'call-1' FOR UPDATE`);
    // the paused process holds the call's row; another writer gets it once the server ends the session
    const t0 = Date.now();
    await store.upsertCall(makeCall({ status: 'ENDED', endedAtMs: 1_700_000_009_000 }));
    assert.ok(Date.now() - t0 < 10_000, `waited ${Date.now() - t0} ms`);
    await assert.rejects(paused.query('SELECT 1'), 'the idle transaction\'s session was ended');
    paused.release(true);
    assert.equal((await store.getCall('call-1', 'acme'))?.status, 'ENDED');
  } finally {
    await pool.end().catch(() => undefined);
    await store.stop();
  }
});
