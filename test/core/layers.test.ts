/**
 * Imports run one way along the data path (scripts/check-layers.mjs): the real tree has none
 * running back, and the check catches one planted in a small tree (a stage importing a later
 * stage, a stage importing the wiring, a folder that is no stage), so it cannot pass vacuously.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const root = new URL('../../', import.meta.url).pathname;
const script = join(root, 'scripts', 'check-layers.mjs');
const { checkLayers, STAGES } = (await import(script)) as {
  checkLayers: (srcDir: string) => string[];
  STAGES: string[];
};

test('src/ has no import that runs back (the CLI exits 0)', async () => {
  assert.deepEqual(checkLayers(join(root, 'src')), []);
  const { stdout } = await promisify(execFile)('node', [script]);
  assert.match(stdout, /imports run one way/);
});

test('the stage table is the data path in order', () => {
  assert.deepEqual(STAGES.slice(0, 13), ['core', 'kafka', 'auth', 'http', 'ingest', 'window', 'score', 'store', 'publish', 'analytics', 'graphql', 'app', 'cli']);
});

test('a planted import that runs back is caught, and forward ones are not', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'layers-'));
  const put = async (rel: string, text: string) => {
    await mkdir(dirname(join(dir, rel)), { recursive: true });
    await writeFile(join(dir, rel), text);
  };
  try {
    await put('core/types.ts', 'export type A = 1;\n');
    await put('app/pipeline.ts', "import type { A } from '../core/types.js';\nexport type W = A;\n");
    await put('store/fencing.ts', "export const f = 1;\n");
    // forward: allowed
    await put('publish/ok.ts', "import { f } from '../store/fencing.js';\nimport type { A } from '../core/types.js';\nexport const g = [f] as A[] | number[];\n");
    assert.deepEqual(checkLayers(dir), []);
    // back: a stage importing the wiring (type-only counts), and an earlier stage importing a later one
    await put('window/partitioned.ts', "import type { W } from '../app/pipeline.js';\nconst m = await import('../store/fencing.js');\nexport type X = W | typeof m;\n");
    await put('elsewhere/x.ts', 'export const x = 1;\n');
    const problems = checkLayers(dir);
    assert.equal(problems.length, 3, problems.join('\n'));
    assert.ok(problems.some((p) => p.startsWith('window/partitioned.ts -> app/pipeline.js (window imports the later stage app)')));
    assert.ok(problems.some((p) => p.startsWith('window/partitioned.ts -> store/fencing.js (window imports the later stage store)')));
    assert.ok(problems.some((p) => p.includes("folder 'elsewhere' is not a stage")));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
