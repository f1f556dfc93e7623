/**
 * PostgresAlertStore: the shared AlertStore contract on the real server (scripts/postgres.sh
 * start; PG_URL), each test on a fresh database, plus what only PostgreSQL has: two instances
 * migrating at once under the advisory lock, one version table shared with the score store,
 * data surviving a restart, and driver failures as retriable STORE_UNAVAILABLE.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import pg from 'pg';
import { createAlertStore } from '../../src/analytics/index.js';
import { DEFAULT_RULES, mergeRules } from '../../src/analytics/rules.js';
import { isAppError } from '../../src/core/errors.js';
import { POSTGRES_MIGRATIONS, PostgresAlertStore, PostgresScoreStore } from '../../src/store/postgres/index.js';
import { freshDatabase, requirePostgres } from '../support/postgres.js';
import { alert, ch, runAlertStoreContract } from './alert-store-contract.js';

const code = (c: string) => (e: unknown) => isAppError(e) && e.code === c;

/** A fresh database's URL (dropped after the test), or null when skipped. */
async function freshUrl(t: TestContext): Promise<string | null> {
  const base = await requirePostgres(t);
  return base ? freshDatabase(t, 'alerts', base) : null;
}

runAlertStoreContract('postgresql', async (t) => {
  const url = await freshUrl(t);
  return url ? new PostgresAlertStore({ url, maxConnections: 2 }) : null;
});

async function sql<R extends pg.QueryResultRow>(url: string, text: string): Promise<R[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<R>(text)).rows;
  } finally {
    await c.end();
  }
}

test('two instances starting together migrate once; the score store migrates beside it; data survives a restart', async (t) => {
  const url = await freshUrl(t);
  if (!url) return;
  const a = createAlertStore({ pgUrl: url, pool: { maxConnections: 2 } });
  const b = new PostgresAlertStore({ url, maxConnections: 2 });
  const scores = new PostgresScoreStore({ url, maxConnections: 2 });
  try {
    await Promise.all([a.start(), b.start(), scores.start()]);
    assert.deepEqual(await sql(url, 'SELECT version, name FROM schema_migrations ORDER BY version'), POSTGRES_MIGRATIONS.map((m) => ({ version: m.version, name: m.name })), 'one version table, each version once');
    assert.deepEqual(await sql(url, "SELECT tablename FROM pg_tables WHERE tablename LIKE '%migrations' ORDER BY tablename"), [{ tablename: 'schema_migrations' }]);
    assert.equal(await a.putAlert(alert('c', 1, 10, 'acme')), 'inserted');
    assert.equal(await b.putAlert(alert('c', 1, 10, 'acme')), 'duplicate', 'the other instance sees the same row');
    const r = mergeRules(DEFAULT_RULES, { sustainedNegative: { segments: 4 } });
    await b.setRules('acme', r);
    await b.putSummary({ callId: 'c', tenant: 'acme', firstMs: 1, lastMs: 2, channels: [ch('customer', -1)] });
    await a.stop();
    const again = new PostgresAlertStore({ url });
    await again.start();
    try {
      assert.deepEqual(await again.getRules('acme'), r);
      assert.equal((await again.getSummary('c', 'acme'))?.alertCount, 1);
      assert.equal((await again.alertsOfCall('c', 'acme')).length, 1);
    } finally {
      await again.stop();
    }
  } finally {
    await Promise.all([a.stop(), b.stop(), scores.stop()]);
  }
});

test('a database migrated by a newer server is refused, not used', async (t) => {
  const url = await freshUrl(t);
  if (!url) return;
  const s = new PostgresAlertStore({ url });
  await s.start();
  await s.stop();
  await sql(url, `INSERT INTO schema_migrations (version, name) VALUES (${POSTGRES_MIGRATIONS.length + 1}, 'from-the-future')`);
  await assert.rejects(new PostgresAlertStore({ url }).start(), (e) => code('STORE_UNAVAILABLE')(e) && /schema version/.test((e as Error).message + JSON.stringify((e as { details?: unknown }).details)));
});

test('an unreachable server and killed connections are STORE_UNAVAILABLE; the pool recovers', async (t) => {
  const url = await freshUrl(t);
  if (!url) return;
  const dead = new URL(url);
  dead.port = '1'; // nothing listens on port 1 of loopback
  await assert.rejects(new PostgresAlertStore({ url: dead.toString(), connectionTimeoutMs: 1000 }).start(), code('STORE_UNAVAILABLE'));
  const s = new PostgresAlertStore({ url, maxConnections: 1, applicationName: 'alert-store-kill-test' });
  await s.start();
  try {
    await s.putAlert(alert('k', 1, 1));
    await sql(url, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'alert-store-kill-test'`);
    // The killed connection fails whatever used it next (or the pool already dropped it); then the pool reconnects.
    let ok = false;
    for (let i = 0; i < 3 && !ok; i++) {
      try {
        assert.equal((await s.listAlerts({ tenant: 't1', first: 5 })).totalCount, 1);
        ok = true;
      } catch (e) {
        assert.ok(code('STORE_UNAVAILABLE')(e), String(e));
      }
    }
    assert.ok(ok, 'the pool reconnected');
  } finally {
    await s.stop();
  }
});
