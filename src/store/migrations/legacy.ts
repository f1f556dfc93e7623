/**
 * Version tables of the analytics part's former migrators, which kept their own record next to
 * schema_migrations. The one migrator of each dialect adopts such a record once: it writes each
 * applied legacy version into schema_migrations under its number in the one list, then drops
 * the legacy table, in the transaction that migrates. Nothing is re-run and no row is touched.
 */
export interface LegacyVersionTable {
  /** The legacy table's name. */
  table: string;
  /** Legacy version -> version in the one list of this dialect. */
  versions: ReadonlyMap<number, number>;
}

/** SQLite: analytics_migrations (version, applied_at); its versions 1, 2 are now 5, 6. */
export const SQLITE_LEGACY: LegacyVersionTable = { table: 'analytics_migrations', versions: new Map([[1, 5], [2, 6]]) };

/** PostgreSQL: analytics_schema_migrations (version, name, applied_at); its version 1 is now 5. */
export const POSTGRES_LEGACY: LegacyVersionTable = { table: 'analytics_schema_migrations', versions: new Map([[1, 5]]) };

/** Checks a migration list: versions 1, 2, 3, ... in order (the runners rely on it). */
export function checkMigrationList(migrations: readonly { version: number; name: string }[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${m.name} has version ${m.version}, expected ${i + 1}`);
  });
}
