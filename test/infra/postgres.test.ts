/**
 * The PostgreSQL the store tests use: it accepts the app role's login over TCP, is version 15+,
 * and freshDatabase gives an isolated database that is dropped afterwards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { freshDatabase, redact, requirePostgres } from '../support/postgres.js';

test('connects with the app role and runs a query', async (t) => {
  const url = await requirePostgres(t);
  if (!url) return;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  t.after(() => client.end());
  const res = await client.query<{ sum: number; v: string; user: string }>(
    'SELECT $1::int + $2::int AS sum, current_setting($3) AS v, current_user AS user',
    [40, 2, 'server_version_num'],
  );
  assert.equal(res.rows[0]?.sum, 42);
  assert.ok(Number(res.rows[0]?.v) >= 150000, `PostgreSQL 15+ expected, got ${res.rows[0]?.v}`);
  assert.equal(res.rows[0]?.user, new URL(url).username);
});

test('freshDatabase gives an empty, writable database that is dropped after the test', async (t) => {
  const base = await requirePostgres(t);
  if (!base) return;
  let name = '';
  await t.test('inside', async (st) => {
    const url = await freshDatabase(st, 'infra');
    name = new URL(url).pathname.slice(1);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const tables = await client.query(`SELECT 1 FROM pg_tables WHERE schemaname = 'public'`);
      assert.equal(tables.rowCount, 0);
      await client.query('CREATE TABLE t (id int PRIMARY KEY)');
      await client.query('INSERT INTO t VALUES (1), (2)');
      assert.equal((await client.query('SELECT count(*)::int AS n FROM t')).rows[0].n, 2);
    } finally {
      await client.end();
    }
  });
  const client = new pg.Client({ connectionString: base });
  await client.connect();
  t.after(() => client.end());
  const left = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  assert.ok(name.startsWith('test_infra_'), redact(base));
  assert.equal(left.rowCount, 0, `database ${name} was dropped`);
});
