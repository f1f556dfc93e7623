/** A versioned schema migration. Versions are 1, 2, 3, ... with no gaps; applied ones never change. */
export interface Migration {
  /** Positive integer, strictly increasing in the list. */
  version: number;
  /** Short name, recorded in schema_migrations for operators. */
  name: string;
  /** SQL run in one transaction together with its schema_migrations row. */
  sql: string;
}
