#!/usr/bin/env node
/**
 * Moves modules to the stage folders of issue 16 (docs/architecture.md) and rewrites every
 * relative import that resolves to a moved file, in src/, test/, bench/, scripts/, dashboard/
 * and bin/. Full-path mentions ("src/cluster/lag.ts") in tracked text files (comments, docs)
 * are rewritten too.
 *
 *   node scripts/dev/move-modules.mjs          move and rewrite
 *   node scripts/dev/move-modules.mjs --check  change nothing; exit 1 if anything would change
 *
 * Safe to run again: a file already at its new place is not moved, and an import already
 * pointing at it is left alone. On a tree merged from a branch that still imports old paths
 * (or added imports to a moved file relative to its old folder), a rerun fixes those imports.
 * How an import is resolved: from the importing file's folder; for a file this run just moved,
 * from its old folder; for a file moved earlier whose import no longer resolves, from its old
 * folder as a fallback. A target that is an old path of the map becomes its new path.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, posix, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** old path -> new path, from the repository root. null: removed (a barrel nothing needs). */
export const MOVES = {
  // src/cluster/ is distributed by role.
  'src/cluster/commit-hold.ts': 'src/window/commit-hold.ts',
  'src/cluster/partitioned-window.ts': 'src/window/partitioned-window.ts',
  'src/cluster/recovery.ts': 'src/window/recovery.ts',
  'src/cluster/ownership.ts': 'src/store/ownership.ts',
  'src/cluster/stale-calls.ts': 'src/store/stale-calls.ts',
  'src/cluster/lag.ts': 'src/kafka/lag.ts',
  'src/cluster/observe-assignment.ts': 'src/kafka/observe-assignment.ts',
  'src/cluster/outbox.ts': 'src/kafka/outbox.ts',
  'src/cluster/scores-bridge.ts': 'src/publish/scores-bridge.ts',
  'src/cluster/scores-codec.ts': 'src/publish/scores-codec.ts',
  'src/cluster/index.ts': null,
  // The score is finished by the score stage, not the wiring.
  'src/app/build-score.ts': 'src/score/build-score.ts',
  // The HTTP edge that ingest sockets and the API share.
  'src/graphql/origin.ts': 'src/http/origin.ts',
  'src/graphql/upgrade-gate.ts': 'src/http/upgrade-gate.ts',
  'src/graphql/connection-limits.ts': 'src/http/connection-limits.ts',
  // Who is calling: what auth yields, read by the API and the ingest sockets.
  'src/graphql/context.ts': 'src/auth/api-context.ts',
  // Resolvers belong to the API.
  'src/analytics/resolvers.ts': 'src/graphql/resolvers/analytics.ts',
  // Tests mirror src/.
  'test/cluster/commit-hold.test.ts': 'test/window/commit-hold.test.ts',
  'test/cluster/partitioned-window.test.ts': 'test/window/partitioned-window.test.ts',
  'test/cluster/partitioned-window.fence.test.ts': 'test/window/partitioned-window.fence.test.ts',
  'test/cluster/partitioned-window.replay.test.ts': 'test/window/partitioned-window.replay.test.ts',
  'test/cluster/ownership.test.ts': 'test/store/ownership.test.ts',
  'test/cluster/scores-bridge.test.ts': 'test/publish/scores-bridge.test.ts',
  'test/cluster/scores-codec.test.ts': 'test/publish/scores-codec.test.ts',
  'test/graphql/origin.test.ts': 'test/http/origin.test.ts',
  'test/graphql/connection-limits.test.ts': 'test/http/connection-limits.test.ts',
};

const ROOTS = ['src', 'test', 'bench', 'scripts', 'dashboard', 'bin'];
/** Files that hold old paths and planted imports on purpose (this map, its tests' fixtures). */
const SKIP = new Set(['scripts/dev/move-modules.mjs', 'test/core/move-modules.test.ts', 'test/core/layers.test.ts']);
const CODE = /\.(ts|tsx|mts|js|mjs|cjs)$/;
const TEXT = /\.(ts|tsx|mts|js|mjs|cjs|md|json|graphql|sh|py|yml|yaml|html)$|^\.ci\/run$|Dockerfile$/;
/** `from '...'`, `import('...')`, `import '...'`: relative specifiers only. */
const SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"\n]+)\2/g;
const EXTS = ['', '.ts', '.tsx', '.mts', '.js', '.mjs', '.d.ts', '/index.ts', '/index.js'];

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const check = process.argv.includes('--check');
const git = (...args) => execFileSync('git', args, { cwd: root, encoding: 'utf8' });
const abs = (p) => join(root, p);
const isFile = (p) => existsSync(abs(p)) && statSync(abs(p)).isFile();

/** The file a specifier names (repo-relative, .js read as .ts), or null when none exists. */
function resolveSpec(fromDir, spec) {
  const base = posix.normalize(posix.join(fromDir, spec));
  const stems = [base];
  if (/\.(js|mjs)$/.test(base)) stems.unshift(base.replace(/\.js$/, '.ts').replace(/\.mjs$/, '.mts'), base.replace(/\.js$/, '.tsx'));
  for (const s of stems) for (const e of EXTS) if (isFile(s + e)) return s + e;
  return null;
}

/** The path a specifier names if it named an old path of the map: that path's new place. */
function movedTarget(fromDir, spec) {
  const base = posix.normalize(posix.join(fromDir, spec));
  for (const cand of [base, base.replace(/\.js$/, '.ts'), `${base}.ts`]) {
    if (cand in MOVES && MOVES[cand]) return MOVES[cand];
  }
  return null;
}

/** A specifier for `target` from `fromDir`, in the style of this code base (.js for .ts). */
function specFor(fromDir, target, original) {
  let rel = posix.relative(fromDir, target);
  if (!rel.startsWith('.')) rel = `./${rel}`;
  if (/\.tsx?$/.test(target) && /\.js$/.test(original)) rel = rel.replace(/\.tsx?$/, '.js');
  else if (/\.ts$/.test(target) && !/\.\w+$/.test(original)) rel = rel.replace(/\.ts$/, '');
  return rel;
}

let changes = 0;
const note = (msg) => {
  changes++;
  console.log(msg);
};

// 1. Moves.
const justMoved = new Map(); // new path -> old path
const movedFrom = new Map(); // new path -> old path (every move of the map)
for (const [from, to] of Object.entries(MOVES)) {
  if (to) movedFrom.set(to, from);
  if (!isFile(from)) continue;
  if (to === null) {
    note(`remove ${from}`);
    if (!check) git('rm', '-q', from);
    continue;
  }
  if (isFile(to)) {
    console.error(`!! both ${from} and ${to} exist: merge them by hand, then rerun`);
    process.exitCode = 2;
    continue;
  }
  note(`move ${from} -> ${to}`);
  if (!check) {
    mkdirSync(dirname(abs(to)), { recursive: true });
    git('mv', from, to);
  }
  justMoved.set(to, from);
}

// 2. Imports. (--check with moves still to make stops here: imports are judged after the moves.)
if (check && changes > 0) {
  console.log(`move-modules: ${changes} move(s) needed`);
  process.exit(1);
}
const files = git('ls-files', '-z', '--cached', '--others', '--exclude-standard', ...ROOTS)
  .split('\0')
  .filter((p) => p && CODE.test(p) && !SKIP.has(p) && !p.includes('node_modules/') && !p.includes('/dist/') && isFile(p));
for (const path of files) {
  const src = readFileSync(abs(path), 'utf8');
  const dir = posix.dirname(path);
  const oldDir = movedFrom.has(path) ? posix.dirname(movedFrom.get(path)) : null;
  const out = src.replace(SPECIFIER, (whole, head, q, spec) => {
    const tryFrom = (d) => movedTarget(d, spec) ?? resolveSpec(d, spec);
    let target;
    if (justMoved.has(path)) target = tryFrom(oldDir);
    else {
      target = movedTarget(dir, spec);
      if (!target && !resolveSpec(dir, spec) && oldDir) target = tryFrom(oldDir);
    }
    if (!target) {
      if (!resolveSpec(dir, spec)) console.error(`?? ${path}: ${spec} resolves to nothing (not a moved file)`);
      return whole;
    }
    const next = specFor(dir, target, spec);
    return next === spec ? whole : `${head}${q}${next}${q}`;
  });
  if (out !== src) {
    note(`imports ${path}`);
    if (!check) writeFileSync(abs(path), out);
  }
}

// 3. Full-path mentions in text (comments, docs): "src/cluster/lag.ts" -> "src/kafka/lag.ts".
const mentions = Object.entries(MOVES).filter(([, to]) => to);
const texts = git('ls-files', '-z').split('\0').filter((p) => p && TEXT.test(p) && !p.includes('node_modules/') && p !== 'package-lock.json' && !SKIP.has(p));
for (const file of texts) {
  if (!isFile(file)) continue;
  const src = readFileSync(abs(file), 'utf8');
  let out = src;
  for (const [from, to] of mentions) out = out.split(from).join(to);
  if (out !== src) {
    note(`mentions ${file}`);
    if (!check) writeFileSync(abs(file), out);
  }
}

console.log(changes === 0 ? 'move-modules: nothing to do' : `move-modules: ${changes} change(s)${check ? ' needed' : ''}`);
if (check && changes > 0) process.exitCode = 1;
