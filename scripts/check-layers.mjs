#!/usr/bin/env node
/**
 * Imports point one way along the data path (issue 16; docs/architecture.md): a module of src/
 * may import only from its own stage or an earlier one in STAGES, so nothing reaches back into
 * a later stage, and no stage imports the wiring (app/) or the command line (cli/). Type-only
 * imports count: a port a later stage declares is still a dependency on that stage (ports live
 * in core/ports.ts).
 *
 *   node scripts/check-layers.mjs    exit 1 and one line per import that runs back
 *
 * test/core/layers.test.ts runs it (so scripts/test.sh and CI do) and checks that it catches a
 * planted violation.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The stages in data-path order: each may import from itself and those before it. */
export const STAGES = [
  'core', // ports, types, errors: no dependencies
  'kafka', // shared infrastructure: the Kafka adapter
  'auth', // who is calling
  'http', // the HTTP edge: origin allow-list, upgrade gate, connection limits, static files
  'ingest',
  'window',
  'score',
  'store',
  'publish',
  'analytics',
  'graphql',
  'app', // wiring only: builds the graph, one lifecycle
  'cli',
  'main.ts', // the process entry (src/main.ts)
];

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"\n]+)\1/g;

/** The stage of a path relative to src/ (its first segment; a file at the root is itself). */
function stageOf(rel) {
  return rel.split('/')[0];
}

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.(ts|tsx|mts)$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/**
 * Every import in `srcDir` that runs back, as "from -> to (stage a imports later stage b)", and
 * every module in a folder the table does not know.
 */
export function checkLayers(srcDir) {
  const problems = [];
  const rank = new Map(STAGES.map((s, i) => [s, i]));
  for (const file of walk(srcDir)) {
    const rel = relative(srcDir, file).split('\\').join('/');
    const from = stageOf(rel);
    if (!rank.has(from)) {
      problems.push(`${rel}: folder '${from}' is not a stage (add it to STAGES in scripts/check-layers.mjs)`);
      continue;
    }
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(SPECIFIER)) {
      const target = posix.normalize(posix.join(posix.dirname(rel), m[2]));
      if (target.startsWith('..')) continue; // outside src/ (schema/, generated code)
      const to = stageOf(target);
      if (!rank.has(to)) continue; // reported as its own module above
      if (rank.get(to) > rank.get(from)) problems.push(`${rel} -> ${target} (${from} imports the later stage ${to})`);
    }
  }
  return problems;
}

const self = fileURLToPath(import.meta.url);
if (process.argv[1] && resolve(process.argv[1]) === self) {
  const srcDir = resolve(dirname(self), '..', 'src');
  if (!existsSync(srcDir)) throw new Error(`no src/ at ${srcDir}`);
  const problems = checkLayers(srcDir);
  for (const p of problems) console.error(p);
  console.log(problems.length === 0 ? `check-layers: imports run one way (${STAGES.join(' -> ')})` : `check-layers: ${problems.length} import(s) run back`);
  if (problems.length > 0) process.exitCode = 1;
}
