/** PostgreSQL adapters: what the app imports. */
export { PostgresScoreStore, type PostgresStoreOptions } from './pg-store.js';
export { PostgresAlertStore, type PostgresAlertStoreOptions } from './alert-store.js';
export { migratePostgres, SCORE_STORE_LOCK_KEY } from './migrate.js';
export { POSTGRES_MIGRATIONS } from './migrations/index.js';
export type { PgPoolOptions } from './pool.js';
