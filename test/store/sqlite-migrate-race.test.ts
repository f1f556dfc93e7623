/**
 * Several server processes starting together on one SQLite file (two instances sharing a
 * volume, or the fault tests' pair) must migrate it once between them: each process reads the
 * schema version under the write lock, so the losers of the race find it current. Before that,
 * both read version 0 and the second failed with 'table calls already exists' (seen in CI).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SQLITE_MIGRATIONS } from '../../src/store/migrations/sqlite/index.js';

const STARTER = `
import { SqliteScoreStore } from ${JSON.stringify(new URL('../../src/store/sqlite-store.ts', import.meta.url).pathname)};
const [file, at] = process.argv.slice(-2);
while (Date.now() < Number(at)) {} // every process opens the file in the same millisecond
const s = new SqliteScoreStore({ path: file });
try { await s.start(); await s.stop(); console.log('ok'); }
catch (e) { console.log('failed: ' + (e.details?.reason ?? e.message)); console.error(e.cause?.stack ?? e.stack); process.exitCode = 1; }
`;

function starter(file: string, at: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', STARTER, file, String(at)],
      { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.on('error', reject);
    p.on('close', () => resolve(out.trim()));
  });
}

test('four processes starting together on a fresh SQLite file migrate it once, none fails', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sqlite-race-'));
  try {
    for (let round = 0; round < 3; round++) {
      const file = join(dir, `r${round}.db`);
      const at = Date.now() + 2500; // time for every child to load tsx and the store
      const results = await Promise.all([0, 1, 2, 3].map(() => starter(file, at)));
      assert.deepEqual(results, ['ok', 'ok', 'ok', 'ok'], `round ${round}`);
      const db = new Database(file, { readonly: true });
      const versions = db.prepare('SELECT version FROM schema_migrations ORDER BY version').all()
        .map((r) => (r as { version: number }).version);
      db.close();
      assert.deepEqual(versions, SQLITE_MIGRATIONS.map((m) => m.version), 'each migration recorded once');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
