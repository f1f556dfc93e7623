/**
 * The one SQLite migrator: every table of the product (scores, calls, ownership, analytics)
 * from one ordered list (migrations/sqlite/index.ts) into one version table, schema_migrations.
 * Each migration runs in its own transaction with its schema_migrations row, so a crash mid-way
 * leaves the database at a whole version.
 */
import type Database from 'better-sqlite3';
import { AppError } from '../core/errors.js';
import { checkMigrationList, SQLITE_LEGACY } from './migrations/legacy.js';
import type { Migration } from './migrations/types.js';

/**
 * Returns the versions applied by this call (empty when the database was current). Each step
 * reads the applied versions inside its own BEGIN IMMEDIATE transaction, i.e. under the write
 * lock: processes starting together on one file queue on the lock (busy_timeout) and the
 * later ones find the step already applied, instead of both applying it and the second
 * failing on 'table ... already exists'. A version is pending when it is not recorded (not
 * "above the highest"): a file whose analytics tables were migrated by the former analytics
 * migrator records 5 and 6 before 3 and 4.
 */
export function migrateSqlite(db: Database.Database, migrations: readonly Migration[]): number[] {
  try {
    checkMigrationList(migrations);
  } catch (e) {
    throw new AppError('INTERNAL', { reason: (e as Error).message });
  }
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
  db.transaction(() => adoptLegacy(db, migrations)).immediate();
  const recorded = db.prepare('SELECT version FROM schema_migrations ORDER BY version');
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  const applied: number[] = [];
  /** One step under the write lock: apply the next pending migration, or say there is none. */
  const step = db.transaction((): boolean => {
    const done = new Set((recorded.all() as { version: number }[]).map((r) => r.version));
    const unknown = [...done].filter((v) => v < 1 || v > migrations.length);
    if (unknown.length) {
      // A newer server migrated this file; running old code on it could corrupt it.
      throw new AppError('STORE_UNAVAILABLE', { reason: `database is at schema version ${Math.max(...unknown)}, this server knows ${migrations.length}` });
    }
    const m = migrations.find((x) => !done.has(x.version));
    if (!m) return false;
    db.exec(m.sql);
    record.run(m.version, m.name, new Date().toISOString());
    applied.push(m.version);
    return true;
  });
  while (step.immediate()) { /* next migration */ }
  return applied;
}

/** Moves the former analytics migrator's record into schema_migrations (see migrations/legacy.ts). */
function adoptLegacy(db: Database.Database, migrations: readonly Migration[]): void {
  const { table, versions } = SQLITE_LEGACY;
  if (!db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table)) return;
  const rows = db.prepare(`SELECT version, applied_at FROM ${table}`).all() as { version: number; applied_at: string }[];
  const record = db.prepare('INSERT OR IGNORE INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  for (const r of rows) {
    const v = versions.get(r.version);
    if (v === undefined) throw new AppError('STORE_UNAVAILABLE', { reason: `${table} records version ${r.version}, which this server does not know` });
    record.run(v, migrations[v - 1].name, r.applied_at);
  }
  db.exec(`DROP TABLE ${table}`);
}
