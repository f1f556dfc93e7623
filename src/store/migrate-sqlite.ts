/**
 * Applies pending migrations to a SQLite database, each in its own transaction with its
 * schema_migrations row, so a crash mid-way leaves the database at a whole version.
 */
import type Database from 'better-sqlite3';
import { AppError } from '../core/errors.js';
import type { Migration } from './migrations/types.js';

/** Returns the versions applied by this call (empty when the database was current). */
export function migrateSqlite(db: Database.Database, migrations: readonly Migration[]): number[] {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new AppError('INTERNAL', { reason: `migration ${m.name} has version ${m.version}, expected ${i + 1}` });
  });
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
  const row = db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as { v: number };
  if (row.v > migrations.length) {
    // A newer server migrated this file; running old code on it could corrupt it.
    throw new AppError('STORE_UNAVAILABLE', { reason: `database is at schema version ${row.v}, this server knows ${migrations.length}` });
  }
  const applied: number[] = [];
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  for (const m of migrations.slice(row.v)) {
    db.transaction(() => {
      db.exec(m.sql);
      record.run(m.version, m.name, new Date().toISOString());
    })();
    applied.push(m.version);
  }
  return applied;
}
