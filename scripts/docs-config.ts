/**
 * Writes README.md's configuration table from the one config schema (src/app/config/schema.ts).
 *   npm run docs:config            rewrite the table
 *   npm run docs:config -- --check exit 1 when README.md is stale (what test/config/readme.test.ts checks)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withConfigTable } from '../src/app/config/table.js';
import { repoRoot } from '../src/app/paths.js';

const path = join(repoRoot(), 'README.md');
const before = readFileSync(path, 'utf8');
const after = withConfigTable(before);
if (process.argv.includes('--check')) {
  if (after !== before) {
    console.error('README.md configuration table is stale: run npm run docs:config');
    process.exit(1);
  }
} else if (after !== before) {
  writeFileSync(path, after);
  console.log('README.md: configuration table rewritten');
} else {
  console.log('README.md: configuration table already current');
}
