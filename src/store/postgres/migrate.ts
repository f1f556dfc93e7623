/**
 * Applies pending migrations to a PostgreSQL database in ONE transaction that first takes a
 * transaction-level advisory lock, so two instances starting together never race: the second
 * waits for the lock, then finds the versions recorded and applies nothing. PostgreSQL DDL is
 * transactional, so a failure leaves the database at the version it had.
 */
import type pg from 'pg';
import { AppError } from '../../core/errors.js';
import type { Migration } from '../migrations/types.js';

export interface MigrateOptions {
  /** Version table. Default 'schema_migrations' (the score store's); other stores name their own. */
  table?: string;
  /**
   * Advisory lock key (a bigint, as a decimal string or number). Default: the score store's key.
   * Every store of this product may share one key; that only serialises their starts.
   */
  lockKey?: string;
}

/** The advisory lock key of the score store's migrations ('sentiment-stream schema' as an int). */
export const SCORE_STORE_LOCK_KEY = '7378416102915';

/** Returns the versions applied by this call (empty when the database was current). */
export async function migratePostgres(client: pg.ClientBase, migrations: readonly Migration[], opts: MigrateOptions = {}): Promise<number[]> {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new AppError('INTERNAL', { reason: `migration ${m.name} has version ${m.version}, expected ${i + 1}` });
  });
  const table = opts.table ?? 'schema_migrations';
  if (!/^[a-z_][a-z0-9_]*$/.test(table)) throw new AppError('INTERNAL', { reason: `bad migrations table name ${table}` });
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [opts.lockKey ?? SCORE_STORE_LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS ${table} (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ v: number }>(`SELECT COALESCE(MAX(version), 0)::int AS v FROM ${table}`);
    const current = rows[0].v;
    if (current > migrations.length) {
      // A newer server migrated this database; running old code on it could corrupt it.
      throw new AppError('STORE_UNAVAILABLE', { reason: `database is at schema version ${current}, this server knows ${migrations.length}` });
    }
    const applied: number[] = [];
    for (const m of migrations.slice(current)) {
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
