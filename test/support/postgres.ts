/**
 * PostgreSQL for tests: where the server is, whether it answers, and a fresh database per
 * test (or per suite) so store tests never share tables.
 *
 * The server is the one `scripts/postgres.sh start` runs, or any PostgreSQL named by `PG_URL`
 * (default `postgres://sentiment:sentiment@127.0.0.1:5433/sentiment`, the script's default).
 * The role needs CREATEDB for `freshDatabase` (the script's role has it).
 */
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import pg from 'pg';
import { requireService, tcpReachable } from './services.js';

/** Default URL: what `scripts/postgres.sh start` prints with its default settings. */
export const DEFAULT_PG_URL = 'postgres://sentiment:sentiment@127.0.0.1:5433/sentiment';

/** The connection URL from `PG_URL`, else `DEFAULT_PG_URL`. */
export function pgUrl(): string {
  return process.env.PG_URL ?? DEFAULT_PG_URL;
}

/**
 * Reachability check + the CI rule of services.ts: TCP (1.5 s), then a login and `SELECT 1`
 * (3 s connect timeout), so a wrong password reads as "not running" with the URL in the
 * message. Returns the URL, or null after the test was skipped (outside CI only).
 */
export async function requirePostgres(t: TestContext): Promise<string | null> {
  const url = pgUrl();
  const ok = await requireService(t, {
    name: 'POSTGRESQL',
    hint: `bash scripts/postgres.sh start (looked for ${redact(url)}; set PG_URL to use another)`,
    probe: () => pgAnswers(url),
  });
  return ok ? url : null;
}

async function pgAnswers(url: string): Promise<boolean> {
  const u = new URL(url);
  if (!(await tcpReachable(u.hostname, Number(u.port || 5432)))) return false;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    const res = await client.query<{ one: number }>('SELECT 1 AS one');
    return res.rows[0]?.one === 1;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The URL with its password replaced by `***`, for messages and logs. */
export function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

/**
 * Creates an empty database with a unique name (`test_<prefix>_<epoch ms>_<6 hex>`) owned by the
 * URL's role, registers its removal on `t.after` (connections still open are terminated with
 * `DROP DATABASE ... WITH (FORCE)`), and returns its URL. Register your own pool's `end()`
 * before calling this, or end it in the test body, so it closes first.
 */
export async function freshDatabase(t: TestContext, prefix = 'db', baseUrl: string = pgUrl()): Promise<string> {
  const safe = prefix.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 30);
  const name = `test_${safe}_${Date.now()}_${randomBytes(3).toString('hex')}`;
  await admin(baseUrl, `CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  t.after(() => dropDatabase(baseUrl, name));
  const u = new URL(baseUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

/**
 * `DROP DATABASE ... WITH (FORCE)`, retried for a few seconds when PostgreSQL refuses because
 * a process the role may not signal (an autovacuum worker, on a server whose role lacks
 * pg_signal_backend) is in the database: such a worker leaves within moments.
 */
async function dropDatabase(baseUrl: string, name: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await admin(baseUrl, `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if ((code !== '42501' && code !== '55006') || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

async function admin(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
