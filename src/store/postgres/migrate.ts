/**
 * The one PostgreSQL migrator: every table of the product (scores, calls, ownership, analytics)
 * from one ordered list (migrations/index.ts) into one version table, schema_migrations, in ONE
 * transaction that first takes a transaction-level advisory lock, so two instances starting
 * together never race: the second waits for the lock, then finds the versions recorded and
 * applies nothing. PostgreSQL DDL is transactional, so a failure leaves the database at the
 * version it had.
 */
import type pg from 'pg';
import { AppError } from '../../core/errors.js';
import { checkMigrationList, POSTGRES_LEGACY } from '../migrations/legacy.js';
import type { Migration } from '../migrations/types.js';

/** The advisory lock key of the migrations ('sentiment-stream schema' as an int). */
export const SCORE_STORE_LOCK_KEY = '7378416102915';

/**
 * The key the former analytics migrator locked. Taken too (after the main key, so never a
 * deadlock), so an instance of the previous release starting during a rolling upgrade cannot
 * migrate analytics tables while this one adopts their record.
 */
const LEGACY_ANALYTICS_LOCK_KEY = '7378416102916';

/** Returns the versions applied by this call (empty when the database was current). */
export async function migratePostgres(client: pg.ClientBase, migrations: readonly Migration[]): Promise<number[]> {
  try {
    checkMigrationList(migrations);
  } catch (e) {
    throw new AppError('INTERNAL', { reason: (e as Error).message });
  }
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [SCORE_STORE_LOCK_KEY]);
    await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [LEGACY_ANALYTICS_LOCK_KEY]);
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())');
    await adoptLegacy(client, migrations);
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
    const done = new Set(rows.map((r) => r.version));
    const unknown = [...done].filter((v) => v < 1 || v > migrations.length);
    if (unknown.length) {
      // A newer server migrated this database; running old code on it could corrupt it.
      throw new AppError('STORE_UNAVAILABLE', { reason: `database is at schema version ${Math.max(...unknown)}, this server knows ${migrations.length}` });
    }
    const applied: number[] = [];
    // Pending = not recorded (a database whose analytics were migrated first records 5 before 3, 4).
    for (const m of migrations.filter((x) => !done.has(x.version))) {
      await client.query(m.sql);
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied.push(m.version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

/** Moves the former analytics migrator's record into schema_migrations (see migrations/legacy.ts). */
async function adoptLegacy(client: pg.ClientBase, migrations: readonly Migration[]): Promise<void> {
  const { table, versions } = POSTGRES_LEGACY;
  const exists = await client.query('SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = $1', [table]);
  if (exists.rowCount === 0) return;
  const { rows } = await client.query<{ version: number; applied_at: Date }>(`SELECT version, applied_at FROM ${table}`);
  for (const r of rows) {
    const v = versions.get(r.version);
    if (v === undefined) throw new AppError('STORE_UNAVAILABLE', { reason: `${table} records version ${r.version}, which this server does not know` });
    await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3) ON CONFLICT (version) DO NOTHING', [v, migrations[v - 1].name, r.applied_at]);
  }
  await client.query(`DROP TABLE ${table}`);
}
