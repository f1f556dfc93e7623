/**
 * Every environment variable src/ reads is in the one schema, and only the config loader touches
 * process.env: a module that reads a variable of its own fails here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CONFIG_VARS } from '../../src/app/config/schema.js';
import { repoRoot } from '../../src/app/paths.js';

/** The one file allowed to read process.env (loadConfig's default argument). */
const LOADER = 'src/app/config.ts';

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return /\.(ts|tsx|mts)$/.test(e.name) ? [p] : [];
  });
}

/** Variable names read as `env.NAME`, `env['NAME']` or `process.env.NAME` (any object called env). */
function envReads(source: string): string[] {
  return [...source.matchAll(/\benv(?:\?)?(?:\.([A-Z][A-Z0-9_]*)\b|\[\s*['"`]([A-Z][A-Z0-9_]*)['"`]\s*\])/g)].map((m) => m[1] ?? m[2]);
}

/** Reads of process.env itself (destructuring, passing it on) and of `env[someName]` (names the scan cannot see). */
function processEnvUses(source: string): number {
  return [...source.matchAll(/\bprocess\s*\.\s*env\b|\bprocess\s*\[\s*['"]env['"]\s*\]|\benv\s*\[\s*(?!['"`])/g)].length;
}

test('the scanner finds the reads it must (a scanner that cannot fail proves nothing)', () => {
  assert.deepEqual(envReads("const a = process.env.FOO_BAR; const b = env['BAZ']; const c = env?.QUX; opts.env.variables"), ['FOO_BAR', 'BAZ', 'QUX']);
  assert.equal(processEnvUses('const { PORT } = process.env; f(process["env"]); g(env[name]); h(env["PORT"]);'), 3);
});

test('every env read in src/ is a schema variable; only the config loader touches process.env', () => {
  const root = repoRoot();
  const known = new Set(Object.keys(CONFIG_VARS));
  const unknown: string[] = [];
  const direct: string[] = [];
  let reads = 0;
  for (const file of tsFiles(join(root, 'src'))) {
    const rel = relative(root, file);
    const source = readFileSync(file, 'utf8');
    for (const name of envReads(source)) {
      reads++;
      if (!known.has(name)) unknown.push(`${rel}: ${name}`);
    }
    if (rel !== LOADER && processEnvUses(source) > 0) direct.push(rel);
  }
  assert.deepEqual(unknown, [], 'variables read in src/ but missing from src/app/config/schema.ts');
  assert.deepEqual(direct, [], 'modules reading process.env themselves (take the value from AppConfig instead)');
  assert.ok(reads > 0, 'the scan saw the loader\'s own reads');
});
