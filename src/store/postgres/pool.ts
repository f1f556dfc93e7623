/**
 * A bounded node-postgres pool and the two ways stores use it: one query, or one transaction
 * on one client. Every driver failure (server down or restarting, connection cut, timeout)
 * becomes STORE_UNAVAILABLE, which is retriable: the pipeline retries and, because offsets are
 * committed only after a score is stored, nothing is lost while PostgreSQL restarts. The pool
 * reconnects by itself; a client whose connection broke is destroyed, not returned.
 */
import pg from 'pg';
import { AppError, isAppError } from '../../core/errors.js';

export interface PgPoolOptions {
  /** postgres://user:password@host:port/database (PG_URL). */
  url: string;
  /** Largest number of open connections. Default 10; callers beyond it wait in the pool's queue. */
  maxConnections?: number;
  /** How long to wait for a connection (new or from the pool), ms. Default 5_000. */
  connectionTimeoutMs?: number;
  /** Close connections idle this long, ms. Default 30_000. */
  idleTimeoutMs?: number;
  /** Server-side limit per statement, ms (statement_timeout). Default 30_000. */
  statementTimeoutMs?: number;
  /**
   * Server-side limit on a transaction left idle by its client, ms
   * (idle_in_transaction_session_timeout). Default 5_000. Our transactions never wait on anything
   * but the database, so an idle one is a paused or frozen process (GC, frozen VM, SIGSTOP)
   * holding row locks (a call's row, its alert summary, a partition's epoch): the server ends its
   * session so the instance that took its partitions over is not blocked for the whole pause.
   */
  idleInTransactionTimeoutMs?: number;
  /** Shown in pg_stat_activity. Default 'sentiment-stream'. */
  applicationName?: string;
  /** Told about errors of idle connections (e.g. the server restarted). Default: ignored. */
  onIdleError?: (err: Error) => void;
}

/** Wraps anything a driver threw into STORE_UNAVAILABLE; AppErrors pass through. */
export function storeError(e: unknown): AppError {
  if (isAppError(e)) return e;
  const reason = e instanceof Error ? e.message || e.name : String(e);
  const sqlstate = (e as { code?: unknown }).code;
  return new AppError('STORE_UNAVAILABLE', { reason, ...(typeof sqlstate === 'string' ? { sqlstate } : {}) }, { cause: e });
}

export function createPool(o: PgPoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: o.url,
    max: o.maxConnections ?? 10,
    connectionTimeoutMillis: o.connectionTimeoutMs ?? 5_000,
    idleTimeoutMillis: o.idleTimeoutMs ?? 30_000,
    statement_timeout: o.statementTimeoutMs ?? 30_000,
    idle_in_transaction_session_timeout: o.idleInTransactionTimeoutMs ?? 5_000,
    application_name: o.applicationName ?? 'sentiment-stream',
  });
  // An idle client's error (server restart) is emitted on the pool; unhandled, it would kill the
  // process. The pool has already discarded that client.
  pool.on('error', (err) => o.onIdleError?.(err));
  return pool;
}

/**
 * Opens a pool and runs `migrate` on one of its clients before anyone else uses it; on failure
 * the pool is closed and the error surfaces as storeError. The client listens for 'error' while
 * it is held (a server restart during start-up must fail start(), not kill the process).
 */
export async function openMigratedPool(o: PgPoolOptions, migrate: (c: pg.PoolClient) => Promise<unknown>): Promise<pg.Pool> {
  const pool = createPool(o);
  try {
    const client = await pool.connect();
    let broken: Error | undefined;
    const onError = (err: Error): void => {
      broken ??= err;
    };
    client.on('error', onError);
    try {
      await migrate(client);
    } finally {
      if (!broken) client.removeListener('error', onError);
      client.release(broken);
    }
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw storeError(e);
  }
  return pool;
}

/** Runs `fn` in a transaction on one client. Any failure rolls back and surfaces as storeError. */
export async function inTransaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (e) {
    throw storeError(e);
  }
  let broken: Error | undefined;
  // pg-pool takes its own 'error' listener off a checked-out client, and pg emits 'error' on the
  // client when the server ends the session (restart: 57P01, or the socket closing) even while a
  // query of ours is failing with it: without a listener that event ends the whole process.
  const onError = (err: Error): void => {
    broken ??= err;
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (e) {
    try {
      await client.query('ROLLBACK');
    } catch (rollbackError) {
      // The connection itself failed: do not hand it back to the pool.
      broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    }
    throw storeError(e);
  } finally {
    // A broken client is destroyed by the pool, and its socket may still emit 'error' while it
    // closes: keep our listener on it. A healthy one goes back idle, where the pool listens.
    if (!broken) client.removeListener('error', onError);
    client.release(broken);
  }
}

/** One statement on any pooled client. */
export async function query<R extends pg.QueryResultRow>(pool: pg.Pool, sql: string, params: unknown[] = []): Promise<R[]> {
  try {
    return (await pool.query<R>(sql, params)).rows;
  } catch (e) {
    throw storeError(e);
  }
}
