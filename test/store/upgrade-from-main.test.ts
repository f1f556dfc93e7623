/**
 * Upgrading a database that the previous release migrated (two migrators per dialect: the score
 * store's and the analytics part's, each with its own version table; test/store/main-migrators.ts)
 * to the one migrator per dialect: it opens without re-running or losing anything, records every
 * version once in schema_migrations, drops the legacy version table, and ends with the same
 * schema as a database the one migrator built from nothing. On SQLite and on real PostgreSQL.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { alertId } from '../../src/analytics/alert.js';
import { DEFAULT_RULES } from '../../src/analytics/rules.js';
import { migrateSqlite } from '../../src/store/migrate-sqlite.js';
import { SQLITE_MIGRATIONS } from '../../src/store/migrations/sqlite/index.js';
import { migratePostgres, POSTGRES_MIGRATIONS, PostgresAlertStore, PostgresScoreStore } from '../../src/store/postgres/index.js';
import { SqliteAlertStore } from '../../src/store/sqlite-alert-store.js';
import { SqliteScoreStore } from '../../src/store/sqlite-store.js';
import { freshDatabase, requirePostgres } from '../support/postgres.js';
import { makeScore } from './fixtures.js';
import {
  MAIN_POSTGRES_SCORE_MIGRATIONS, MAIN_SQLITE_SCORE_MIGRATIONS, mainMigrateAnalyticsPostgres, mainMigrateAnalyticsSqlite, mainMigratePostgres, mainMigrateSqlite,
} from './main-migrators.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 16);

test('shipped migrations are byte for byte what the previous release ran (sha256 of each SQL text)', () => {
  // Computed from the previous release's own lists (score store 1-4, then analytics 1-2 / 1).
  assert.deepEqual(SQLITE_MIGRATIONS.map((m) => sha(m.sql)), ['7ff111a436b1e7bb', '17c4100d0b3d7e95', 'a3ea5726c50b5095', '34c88352323b0ccb', 'b0fc5214fcaffe60', '6b0ee12fa1c029b0']);
  assert.deepEqual(POSTGRES_MIGRATIONS.map((m) => sha(m.sql)), ['ee539ff3032c040d', 'ff46543613c7d5de', 'a3ea5726c50b5095', '403e363c26901ed4', 'efc5a987b5856c89']);
});

const ALERT = {
  id: alertId('acme', 'c1', 'customer', 'SHARP_DROP', 2), tenant: 'acme', callId: 'c1', channel: 'customer', rule: 'SHARP_DROP' as const,
  segmentIndex: 2, valence: -2, value: 2.5, threshold: 2, message: 'm', eventTimeMs: 1000, raisedAt: new Date(0).toISOString(),
};
const SCORE = makeScore({ tenant: 'acme', callId: 'c1', segmentIndex: 2 });

function tempFile(t: TestContext, name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'upgrade-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, name);
}

/** Every schema object's SQL text, migration bookkeeping left out. */
function sqliteSchema(db: Database.Database): unknown[] {
  return db.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE '%migrations' AND name NOT LIKE 'sqlite_%' ORDER BY type, name").all();
}

/** A SQLite file as the previous release left it: score store at `scoreVersion`, analytics at `analyticsVersion`, one row of each kind. */
function mainSqliteFile(path: string, scoreVersion: number, analyticsVersion: number): void {
  const db = new Database(path);
  mainMigrateSqlite(db, MAIN_SQLITE_SCORE_MIGRATIONS.slice(0, scoreVersion));
  mainMigrateAnalyticsSqlite(db, [{ version: 1, sql: SQLITE_MIGRATIONS[4].sql }, { version: 2, sql: SQLITE_MIGRATIONS[5].sql }].slice(0, analyticsVersion));
  db.prepare(`INSERT INTO calls (tenant, call_id, status, started_at_ms, channels, segment_count, updated_at_ms) VALUES ('acme', 'c1', 'ENDED', 5, '["customer"]', 1, 7)`).run();
  db.prepare(`INSERT INTO analytics_alerts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
    .run(ALERT.id, ALERT.tenant, ALERT.callId, ALERT.channel, ALERT.rule, ALERT.segmentIndex, ALERT.valence, ALERT.value, ALERT.threshold, ALERT.message, ALERT.eventTimeMs, ALERT.raisedAt);
  db.prepare('INSERT INTO analytics_alert_rules VALUES (?, ?, ?)').run('acme', JSON.stringify(DEFAULT_RULES), new Date(0).toISOString());
  db.close();
}

test('SQLite: a file the previous release migrated fully opens with the one migrator: nothing re-runs, nothing lost, same schema as a fresh file', async (t) => {
  const path = tempFile(t, 'main.db');
  mainSqliteFile(path, 4, 2);
  const before = new Database(path);
  const legacyAppliedAt = (before.prepare('SELECT applied_at FROM analytics_migrations ORDER BY version').all() as { applied_at: string }[]).map((r) => r.applied_at);
  before.close();

  const db = new Database(path);
  assert.deepEqual(migrateSqlite(db, SQLITE_MIGRATIONS), [], 'no migration runs again');
  assert.deepEqual(db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all(), SQLITE_MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
  assert.deepEqual((db.prepare('SELECT applied_at FROM schema_migrations WHERE version >= 5 ORDER BY version').all() as { applied_at: string }[]).map((r) => r.applied_at), legacyAppliedAt, 'the legacy record moves with its times');
  assert.equal(db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'analytics_migrations'").get(), undefined, 'one version table');
  const fresh = new Database(':memory:');
  migrateSqlite(fresh, SQLITE_MIGRATIONS);
  assert.ok(sqliteSchema(db).length >= 15, 'the comparison sees every table and index');
  assert.deepEqual(sqliteSchema(db), sqliteSchema(fresh), 'every table and index as the one migrator builds it');
  fresh.close();
  db.close();

  const scores = new SqliteScoreStore({ path });
  const alerts = new SqliteAlertStore({ path });
  await scores.start();
  await alerts.start();
  try {
    assert.equal((await scores.getCall('c1', 'acme'))?.status, 'ENDED');
    assert.deepEqual(await alerts.alertsOfCall('c1', 'acme'), [ALERT]);
    assert.deepEqual(await alerts.getRules('acme'), DEFAULT_RULES);
    assert.equal(await alerts.putAlert(ALERT), 'duplicate', 'the stored alert is the same row');
    assert.equal(await scores.putScore(SCORE), 'inserted');
  } finally {
    await alerts.stop();
    await scores.stop();
  }
});

test('SQLite: a file whose score tables lag its analytics tables (2 and 2) gets only 3 and 4', (t) => {
  const path = tempFile(t, 'partial.db');
  mainSqliteFile(path, 2, 2);
  const db = new Database(path);
  try {
    assert.deepEqual(migrateSqlite(db, SQLITE_MIGRATIONS), [3, 4]);
    assert.deepEqual((db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[]).map((r) => r.version), [1, 2, 3, 4, 5, 6]);
    assert.equal((db.prepare('SELECT COUNT(*) AS n FROM analytics_alerts').get() as { n: number }).n, 1);
    assert.deepEqual(migrateSqlite(db, SQLITE_MIGRATIONS), [], 'and then nothing');
  } finally {
    db.close();
  }
});

test('SQLite: analytics at version 1 only gets 6 (the tenant keys) with its rows rewritten', (t) => {
  const path = tempFile(t, 'v1.db');
  const db = new Database(path);
  mainMigrateSqlite(db, MAIN_SQLITE_SCORE_MIGRATIONS);
  mainMigrateAnalyticsSqlite(db, [{ version: 1, sql: SQLITE_MIGRATIONS[4].sql }]);
  try {
    assert.deepEqual(migrateSqlite(db, SQLITE_MIGRATIONS), [6]);
    assert.ok(db.prepare("SELECT 1 FROM pragma_table_info('analytics_channel_summary') WHERE name = 'tenant'").get(), 'version 6 ran');
  } finally {
    db.close();
  }
});

async function sql<R extends pg.QueryResultRow>(url: string, text: string, params: unknown[] = []): Promise<R[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<R>(text, params)).rows;
  } finally {
    await c.end();
  }
}

/** Runs `fn` on one client of `url`. */
async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Columns, indexes and constraints of every table but the migration bookkeeping. */
async function pgSchema(url: string): Promise<unknown[]> {
  const cols = await sql(url, `SELECT table_name, column_name, data_type, collation_name, is_nullable, column_default, is_identity FROM information_schema.columns
    WHERE table_schema = current_schema() AND table_name NOT LIKE '%migrations' ORDER BY table_name, column_name`);
  const idx = await sql(url, "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename NOT LIKE '%migrations' ORDER BY indexname");
  const cons = await sql(url, `SELECT conrelid::regclass::text AS tbl, conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
    WHERE connamespace = current_schema()::regnamespace AND conrelid::regclass::text NOT LIKE '%migrations' ORDER BY tbl, conname`);
  return [cols, idx, cons];
}

async function mainPostgres(url: string, scoreVersion: number): Promise<void> {
  await withClient(url, async (c) => {
    await mainMigratePostgres(c, MAIN_POSTGRES_SCORE_MIGRATIONS.slice(0, scoreVersion));
    await mainMigrateAnalyticsPostgres(c);
    await c.query(`INSERT INTO calls (tenant, call_id, status, started_at_ms, channels, segment_count, updated_at_ms) VALUES ('acme', 'c1', 'ENDED', 5, '["customer"]', 1, 7)`);
    await c.query('INSERT INTO analytics_alerts VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)',
      [ALERT.id, ALERT.tenant, ALERT.callId, ALERT.channel, ALERT.rule, ALERT.segmentIndex, ALERT.valence, ALERT.value, ALERT.threshold, ALERT.message, ALERT.eventTimeMs, ALERT.raisedAt]);
    await c.query('INSERT INTO analytics_alert_rules (tenant, rules) VALUES ($1, $2)', ['acme', JSON.stringify(DEFAULT_RULES)]);
  });
}

test('PostgreSQL: a database the previous release migrated fully opens with the one migrator: nothing re-runs, nothing lost, same schema as a fresh one', async (t) => {
  const base = await requirePostgres(t);
  if (!base) return;
  const url = await freshDatabase(t, 'upgrade', base);
  const freshUrl = await freshDatabase(t, 'upgrade_fresh', base);
  await mainPostgres(url, 4);
  const legacyAppliedAt = (await sql<{ applied_at: Date }>(url, 'SELECT applied_at FROM analytics_schema_migrations')).map((r) => r.applied_at.toISOString());

  assert.deepEqual(await withClient(url, (c) => migratePostgres(c, POSTGRES_MIGRATIONS)), [], 'no migration runs again');
  assert.deepEqual(await sql(url, 'SELECT version, name FROM schema_migrations ORDER BY version'), POSTGRES_MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
  assert.deepEqual((await sql<{ applied_at: Date }>(url, 'SELECT applied_at FROM schema_migrations WHERE version = 5')).map((r) => r.applied_at.toISOString()), legacyAppliedAt);
  assert.deepEqual(await sql(url, "SELECT tablename FROM pg_tables WHERE tablename LIKE '%migrations'"), [{ tablename: 'schema_migrations' }], 'one version table');
  await withClient(freshUrl, (c) => migratePostgres(c, POSTGRES_MIGRATIONS));
  const schema = await pgSchema(url);
  assert.ok(schema.every((part) => (part as unknown[]).length >= 8), 'the comparison sees columns, indexes and constraints');
  assert.deepEqual(schema, await pgSchema(freshUrl), 'every column, index and constraint as the one migrator builds them');

  const scores = new PostgresScoreStore({ url, maxConnections: 2 });
  const alerts = new PostgresAlertStore({ url, maxConnections: 2 });
  await scores.start();
  await alerts.start();
  try {
    assert.equal((await scores.getCall('c1', 'acme'))?.status, 'ENDED');
    assert.deepEqual(await alerts.alertsOfCall('c1', 'acme'), [ALERT]);
    assert.deepEqual(await alerts.getRules('acme'), DEFAULT_RULES);
    assert.equal(await alerts.putAlert(ALERT), 'duplicate');
    assert.equal(await scores.putScore(SCORE), 'inserted');
  } finally {
    await Promise.all([alerts.stop(), scores.stop()]);
  }
});

test('PostgreSQL: score tables at 2 beside analytics at 1 get only 3 and 4; an unknown legacy version is refused', async (t) => {
  const base = await requirePostgres(t);
  if (!base) return;
  const url = await freshDatabase(t, 'upgrade_partial', base);
  await mainPostgres(url, 2);
  assert.deepEqual(await withClient(url, (c) => migratePostgres(c, POSTGRES_MIGRATIONS)), [3, 4]);
  assert.deepEqual((await sql<{ version: number }>(url, 'SELECT version FROM schema_migrations ORDER BY version')).map((r) => r.version), [1, 2, 3, 4, 5]);

  const future = await freshDatabase(t, 'upgrade_future', base);
  await withClient(future, (c) => mainMigrateAnalyticsPostgres(c, [{ version: 1, name: 'a', sql: 'SELECT 1' }, { version: 2, name: 'b', sql: 'SELECT 1' }]));
  await assert.rejects(withClient(future, (c) => migratePostgres(c, POSTGRES_MIGRATIONS)), (e) => (e as { code?: string }).code === 'STORE_UNAVAILABLE');
  assert.deepEqual(await sql(future, "SELECT tablename FROM pg_tables WHERE tablename LIKE '%migrations' ORDER BY tablename"), [{ tablename: 'analytics_schema_migrations' }], 'refused in one transaction: nothing changed');
});
