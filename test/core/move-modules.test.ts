/**
 * scripts/dev/move-modules.mjs, which the coordinator reruns after merging branches: on a small
 * git tree it moves a file, rewrites its importers (and the moved file's own imports), and a
 * rerun is a no-op; a file added later that still imports the old path is fixed by a rerun.
 * On this repository it has nothing left to do.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;
const SCRIPT = join(root, 'scripts', 'dev', 'move-modules.mjs');

test('this tree: nothing left to move or rewrite', async () => {
  const { stdout } = await run('node', [SCRIPT, '--check'], { cwd: root });
  assert.match(stdout, /nothing to do/);
});

test('moves, rewrites importers and the moved file, and a rerun fixes a late importer of the old path', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'move-modules-'));
  const put = async (rel: string, text: string) => {
    await mkdir(dirname(join(dir, rel)), { recursive: true });
    await writeFile(join(dir, rel), text);
  };
  try {
    await put('scripts/dev/move-modules.mjs', '');
    await copyFile(SCRIPT, join(dir, 'scripts/dev/move-modules.mjs'));
    await put('src/core/types.ts', 'export type T = 1;\n');
    await put('src/cluster/lag.ts', "import type { T } from '../core/types.js';\nexport const lag = 1 as T;\n");
    await put('src/analytics/resolvers.ts', "import { lag } from '../cluster/lag.js';\nexport const r = lag;\n");
    await put('src/app/app.ts', "// see src/cluster/lag.ts\nimport { lag } from '../cluster/lag.js';\nconst m = await import('../cluster/lag.js');\nexport const a = [lag, m];\n");
    const git = (...args: string[]) => run('git', args, { cwd: dir });
    await git('init', '-q');
    await git('add', '-A');
    await git('-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-qm', 'base');

    await run('node', ['scripts/dev/move-modules.mjs'], { cwd: dir });
    assert.ok(!existsSync(join(dir, 'src/cluster/lag.ts')));
    assert.equal(await readFile(join(dir, 'src/kafka/lag.ts'), 'utf8'), "import type { T } from '../core/types.js';\nexport const lag = 1 as T;\n");
    assert.equal(await readFile(join(dir, 'src/app/app.ts'), 'utf8'), "// see src/kafka/lag.ts\nimport { lag } from '../kafka/lag.js';\nconst m = await import('../kafka/lag.js');\nexport const a = [lag, m];\n");
    // One folder deeper: its own imports now climb one more level.
    assert.equal(await readFile(join(dir, 'src/graphql/resolvers/analytics.ts'), 'utf8'), "import { lag } from '../../kafka/lag.js';\nexport const r = lag;\n");
    const again = await run('node', ['scripts/dev/move-modules.mjs'], { cwd: dir });
    assert.match(again.stdout, /nothing to do/);

    // A branch merged later: a new importer of the old path.
    await put('src/store/late.ts', "import { lag } from '../cluster/lag.js';\nexport const l = lag;\n");
    const check = await run('node', ['scripts/dev/move-modules.mjs', '--check'], { cwd: dir }).catch((e: { code: number; stdout: string }) => e);
    assert.equal((check as { code?: number }).code, 1);
    await run('node', ['scripts/dev/move-modules.mjs'], { cwd: dir });
    assert.equal(await readFile(join(dir, 'src/store/late.ts'), 'utf8'), "import { lag } from '../kafka/lag.js';\nexport const l = lag;\n");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
