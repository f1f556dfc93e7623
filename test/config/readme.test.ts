/** README.md's configuration table is the schema's: generated, never hand-edited (npm run docs:config). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CONFIG_VARS } from '../../src/app/config/schema.js';
import { renderConfigTable, TABLE_BEGIN, TABLE_END, withConfigTable } from '../../src/app/config/table.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

test('README.md holds the table generated from the schema (run npm run docs:config when this fails)', () => {
  assert.equal(withConfigTable(readme), readme);
});

test('the table has one row per schema variable, and a stale README is detected', () => {
  const section = readme.slice(readme.indexOf(TABLE_BEGIN), readme.indexOf(TABLE_END));
  const documented = [...section.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]);
  assert.deepEqual([...documented].sort(), Object.keys(CONFIG_VARS).sort());
  const stale = readme.replace('| `PORT` | server | integer 0..65535 | `4000` |', '| `PORT` | server | integer 0..65535 | `8080` |');
  assert.notEqual(stale, readme, 'the PORT row is where this test expects it');
  assert.notEqual(withConfigTable(stale), stale);
  assert.throws(() => withConfigTable('# no markers'), /lacks the markers/);
});

test('every variable is documented: group, type, default and a one-line description', () => {
  for (const [name, spec] of Object.entries(CONFIG_VARS)) {
    assert.ok(spec.description.length > 5 && !spec.description.includes('\n'), `${name}: description`);
    assert.ok(spec.type.length > 0, `${name}: type`);
    assert.ok(spec.default.length > 0, `${name}: default`);
    assert.ok(spec.schema.safeParse(undefined).success, `${name}: unset must parse to its default`);
  }
  assert.ok(renderConfigTable().split('\n').length === Object.keys(CONFIG_VARS).length + 2);
});
