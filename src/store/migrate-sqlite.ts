/**
 * Applies pending migrations to a SQLite database, each in its own transaction with its
 * schema_migrations row, so a crash mid-way leaves the database at a whole version.
 */
import type Database from 'better-sqlite3';
import { AppError } from '../core/errors.js';
import type { Migration } from './migrations/types.js';

/**
 * Returns the versions applied by this call (empty when the database was current). Each step
 * reads the schema version inside its own BEGIN IMMEDIATE transaction, i.e. under the write
 * lock: processes starting together on one file queue on the lock (busy_timeout) and the
 * later ones find the step already applied, instead of both reading version 0 and the second
 * failing on 'table ... already exists'.
 */
export function migrateSqlite(db: Database.Database, migrations: readonly Migration[]): number[] {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new AppError('INTERNAL', { reason: `migration ${m.name} has version ${m.version}, expected ${i + 1}` });
  });
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
  const current = db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations');
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  const applied: number[] = [];
  /** One step under the write lock: apply the next migration, or say there is none. */
  const step = db.transaction((): boolean => {
    const v = (current.get() as { v: number }).v;
    if (v > migrations.length) {
      // A newer server migrated this file; running old code on it could corrupt it.
      throw new AppError('STORE_UNAVAILABLE', { reason: `database is at schema version ${v}, this server knows ${migrations.length}` });
    }
    const m = migrations[v];
    if (!m) return false;
    db.exec(m.sql);
    record.run(m.version, m.name, new Date().toISOString());
    applied.push(m.version);
    return true;
  });
  while (step.immediate()) { /* next migration */ }
  return applied;
}
