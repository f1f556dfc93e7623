import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteScoreStore } from '../../src/store/sqlite-store.js';
import { SQLITE_MIGRATIONS } from '../../src/store/migrations/sqlite/index.js';
import { runStoreContract } from './contract.js';
import { runFencingContract } from './fencing-contract.js';
import { makeScore } from './fixtures.js';

runStoreContract('sqlite :memory:', async () => new SqliteScoreStore({ path: ':memory:' }));

const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'sqlite-store-'));
}

test('a file database: folder created, WAL on, migrations recorded once, data survives a reopen', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'nested', 'scores.db');
    const a = new SqliteScoreStore({ path });
    await a.start();
    await a.putScore(makeScore());
    await a.stop();
    const b = new SqliteScoreStore({ path });
    await b.start();
    assert.equal(await b.putScore(makeScore()), 'duplicate', 'the row survived the reopen');
    await b.stop();
    const db = new Database(path, { readonly: true });
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    const rows = db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all();
    assert.deepEqual(rows, SQLITE_MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a database migrated by a newer server is refused with STORE_UNAVAILABLE', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'scores.db');
    const s = new SqliteScoreStore({ path });
    await s.start();
    await s.stop();
    const db = new Database(path);
    db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 'x')").run();
    db.close();
    await assert.rejects(new SqliteScoreStore({ path }).start(), code('STORE_UNAVAILABLE'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('driver failures are wrapped in STORE_UNAVAILABLE', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'is-a-folder');
    mkdirSync(path);
    await assert.rejects(new SqliteScoreStore({ path }).start(), code('STORE_UNAVAILABLE'));
    // A second process holding the write lock past the busy timeout is a driver failure too.
    const file = join(dir, 'locked.db');
    const s = new SqliteScoreStore({ path: file, busyTimeoutMs: 50 });
    await s.start();
    const other = new Database(file);
    other.exec('BEGIN IMMEDIATE');
    await assert.rejects(s.putScore(makeScore()), code('STORE_UNAVAILABLE'));
    other.exec('ROLLBACK');
    other.close();
    assert.equal(await s.putScore(makeScore()), 'inserted', 'works again once the lock is gone');
    await s.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

runFencingContract('sqlite :memory:', async (_t, now) => new SqliteScoreStore({ path: ':memory:', now }));
