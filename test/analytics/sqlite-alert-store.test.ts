/**
 * SqliteAlertStore: the shared AlertStore contract, plus what only SQLite has: reopening a file,
 * and migration 0006 (calls keyed by tenant) over data written by the analytics tables' version 1.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { createAlertStore } from '../../src/analytics/index.js';
import { DEFAULT_RULES, mergeRules } from '../../src/analytics/rules.js';
import { SQLITE_MIGRATIONS } from '../../src/store/migrations/sqlite/index.js';
import { SqliteAlertStore } from '../../src/store/sqlite-alert-store.js';
import { alert, ch, runAlertStoreContract } from './alert-store-contract.js';

runAlertStoreContract('sqlite', async () => new SqliteAlertStore());

test('createAlertStore picks SQLite for dbPath or an open connection', async () => {
  assert.ok(createAlertStore({ dbPath: ':memory:' }) instanceof SqliteAlertStore);
  const db = new Database(':memory:');
  const s = createAlertStore({ db });
  await s.start();
  await s.putAlert(alert('c', 1, 1));
  await s.stop();
  assert.equal((db.prepare('SELECT COUNT(*) AS n FROM analytics_alerts').get() as { n: number }).n, 1, 'the shared connection holds the row and stays open');
  db.close();
});

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'alerts-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('rules and alerts survive a reopen of the same file; migrations run once', async (t) => {
  const path = join(tempDir(t), 'a.db');
  const s1 = new SqliteAlertStore({ path });
  await s1.start();
  const r = mergeRules(DEFAULT_RULES, { sharpDrop: { drop: 1.5 } });
  await s1.setRules('t1', r);
  await s1.putAlert(alert('c', 1, 10));
  await s1.stop();
  const s2 = new SqliteAlertStore({ path });
  await s2.start();
  assert.deepEqual(await s2.getRules('t1'), r);
  assert.equal(await s2.putAlert(alert('c', 1, 10)), 'duplicate');
  await s2.stop();
  const db = new Database(path, { readonly: true });
  assert.deepEqual(db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all(), SQLITE_MIGRATIONS.map((m) => ({ version: m.version, name: m.name })), 'one version table, each version once');
  db.close();
});

test('migration 0006 keeps version-1 data readable: summaries take their tenant, alert ids gain it, and another tenant can use the call id', async (t) => {
  const path = join(tempDir(t), 'v1.db');
  const db = new Database(path);
  // A database exactly as version 1 left it, with rows written by the version-1 code.
  db.exec('CREATE TABLE analytics_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
  db.exec(SQLITE_MIGRATIONS.find((m) => m.name === 'analytics-initial')!.sql);
  db.prepare('INSERT INTO analytics_migrations VALUES (1, ?)').run(new Date(0).toISOString());
  const v1Alert = (tenant: string, callId: string, i: number) =>
    db.prepare(`INSERT INTO analytics_alerts VALUES (?, ?, ?, 'customer', 'SHARP_DROP', ?, -2, 2.5, 2, 'm', ?, ?)`).run(`${callId}:customer:SHARP_DROP:${i}`, tenant, callId, i, 100 + i, new Date(0).toISOString());
  v1Alert('acme', 'shared', 2);
  v1Alert('acme', 'a:b', 3); // a colon in the call id: escaped in the new id
  db.prepare('INSERT INTO analytics_call_summary VALUES (?, ?, ?, ?, ?)').run('shared', 'acme', 0, 100, 1);
  db.prepare('INSERT INTO analytics_call_summary VALUES (?, ?, ?, ?, ?)').run('a:b', 'acme', 5, 50, 1);
  const c = ch('customer', -2, 0.5);
  db.prepare('INSERT INTO analytics_channel_summary VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run('shared', 'customer', c.segments, c.meanValence, c.minValence, c.maxValence, c.rollingValence, c.trend, c.textMissingShare);
  db.close();

  const s = new SqliteAlertStore({ path });
  await s.start();
  try {
    assert.deepEqual(await s.getSummary('shared', 'acme'), { callId: 'shared', tenant: 'acme', firstMs: 0, lastMs: 100, alertCount: 1, channels: [c] });
    assert.deepEqual((await s.alertsOfCall('shared', 'acme')).map((a) => a.id), ['acme:shared:customer:SHARP_DROP:2']);
    assert.deepEqual((await s.alertsOfCall('a:b', 'acme')).map((a) => a.id), ['acme:a%3Ab:customer:SHARP_DROP:3']);
    // The rewritten id is the one the engine computes now, so a replay of the old alert is a repeat.
    assert.equal(await s.putAlert(alert('shared', 2, 102, 'acme')), 'duplicate');
    // globex's call of the same id no longer collides with acme's.
    assert.equal(await s.putAlert(alert('shared', 2, 102, 'globex')), 'inserted');
    await s.putSummary({ callId: 'shared', tenant: 'globex', firstMs: 0, lastMs: 90, channels: [ch('customer', 2)] });
    assert.equal((await s.getSummary('shared', 'acme'))?.channels[0].meanValence, -2);
    assert.equal((await s.getSummary('shared', 'globex'))?.channels[0].meanValence, 2);
    assert.equal((await s.searchCalls({ first: 10 })).totalCount, 3);
  } finally {
    await s.stop();
  }
});
