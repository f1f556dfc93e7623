/**
 * The migrators of the release before the one persistence layer, frozen here (copied from
 * src/store/migrate-sqlite.ts, src/analytics/migrations.ts and src/store/postgres/migrate.ts as
 * they were) so test/store/upgrade-from-main.test.ts can build a database exactly as that
 * release left it: the score store's versions 1-4 in schema_migrations, and the analytics part's
 * versions in their own table (SQLite: analytics_migrations (version, applied_at); PostgreSQL:
 * analytics_schema_migrations under their own advisory lock). Their SQL is taken from today's
 * lists, which keep shipped migrations byte for byte (a test below checks the versions map).
 * Never edit this file to follow src/: it stands for what is deployed.
 */
import type Database from 'better-sqlite3';
import type pg from 'pg';
import { SQLITE_MIGRATIONS } from '../../src/store/migrations/sqlite/index.js';
import type { Migration } from '../../src/store/migrations/types.js';
import { POSTGRES_MIGRATIONS } from '../../src/store/postgres/migrations/index.js';

/** The score store's list of that release: versions 1-4, both dialects. */
export const MAIN_SQLITE_SCORE_MIGRATIONS = SQLITE_MIGRATIONS.slice(0, 4);
export const MAIN_POSTGRES_SCORE_MIGRATIONS = POSTGRES_MIGRATIONS.slice(0, 4);
/** The analytics part's lists of that release (SQLite versions 1, 2; PostgreSQL version 1). */
export const MAIN_SQLITE_ANALYTICS_MIGRATIONS = [SQLITE_MIGRATIONS[4], SQLITE_MIGRATIONS[5]].map((m, i) => ({ version: i + 1, sql: m.sql }));
export const MAIN_POSTGRES_ANALYTICS_MIGRATIONS: Migration[] = [{ version: 1, name: 'analytics-initial', sql: POSTGRES_MIGRATIONS[4].sql }];

/** That release's score-store SQLite migrator (MAX(version) + 1 onwards, one step per lock). */
export function mainMigrateSqlite(db: Database.Database, migrations: readonly Migration[]): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
  const current = db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations');
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  const applied: number[] = [];
  const step = db.transaction((): boolean => {
    const v = (current.get() as { v: number }).v;
    if (v > migrations.length) throw new Error(`database is at schema version ${v}, this server knows ${migrations.length}`);
    const m = migrations[v];
    if (!m) return false;
    db.exec(m.sql);
    record.run(m.version, m.name, new Date().toISOString());
    applied.push(m.version);
    return true;
  });
  while (step.immediate()) { /* next */ }
  return applied;
}

/** That release's analytics SQLite migrator (its own table, no names). */
export function mainMigrateAnalyticsSqlite(db: Database.Database, migrations = MAIN_SQLITE_ANALYTICS_MIGRATIONS): number[] {
  db.exec('CREATE TABLE IF NOT EXISTS analytics_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
  const done = new Set((db.prepare('SELECT version FROM analytics_migrations').all() as { version: number }[]).map((r) => r.version));
  const applied: number[] = [];
  for (const m of migrations) {
    if (done.has(m.version)) continue;
    const ran = db.transaction(() => {
      if (db.prepare('SELECT 1 FROM analytics_migrations WHERE version = ?').get(m.version)) return false;
      db.exec(m.sql);
      db.prepare('INSERT INTO analytics_migrations (version, applied_at) VALUES (?, ?)').run(m.version, new Date().toISOString());
      return true;
    }).immediate();
    if (ran) applied.push(m.version);
  }
  return applied;
}

/** That release's PostgreSQL migrator: one version table and lock key per part. */
export async function mainMigratePostgres(client: pg.ClientBase, migrations: readonly Migration[], opts: { table?: string; lockKey?: string } = {}): Promise<number[]> {
  const table = opts.table ?? 'schema_migrations';
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [opts.lockKey ?? '7378416102915']);
    await client.query(`CREATE TABLE IF NOT EXISTS ${table} (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ v: number }>(`SELECT COALESCE(MAX(version), 0)::int AS v FROM ${table}`);
    const applied: number[] = [];
    for (const m of migrations.slice(rows[0].v)) {
      await client.query(m.sql);
      await client.query(`INSERT INTO ${table} (version, name) VALUES ($1, $2)`, [m.version, m.name]);
      applied.push(m.version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

/** The analytics part's PostgreSQL run of that release. */
export const mainMigrateAnalyticsPostgres = (client: pg.ClientBase, migrations = MAIN_POSTGRES_ANALYTICS_MIGRATIONS) =>
  mainMigratePostgres(client, migrations, { table: 'analytics_schema_migrations', lockKey: '7378416102916' });
