/**
 * Node 24 LTS (issue 16): the runtime the tests run on satisfies package.json's engines, and
 * scripts/setup-node.sh (which .ci/run puts first on PATH) yields a v24 binary with the headers
 * node-gyp needs, from its cache without the network on a second run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;

test('the running Node satisfies engines (>= 24)', () => {
  const engines = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
  assert.equal(engines, '>=24');
  assert.ok(Number(process.versions.node.split('.')[0]) >= 24, `tests run on Node ${process.version}; put scripts/setup-node.sh's bin first on PATH`);
});

test('setup-node.sh: a v24 binary and headers, and a second run needs no registry', { timeout: 180_000 }, async () => {
  const first = (await run('bash', [join(root, 'scripts/setup-node.sh')], { timeout: 170_000 })).stdout.trim();
  assert.match((await run(join(first, 'bin/node'), ['--version'])).stdout, /^v24\./);
  assert.ok(existsSync(join(first, 'include/node/node_api.h')), 'headers for node-gyp (npm_config_nodedir)');
  // cached: an unreachable registry must not matter
  const env = { ...process.env, npm_config_registry: 'http://127.0.0.1:9/' };
  const second = (await run('bash', [join(root, 'scripts/setup-node.sh')], { env, timeout: 30_000 })).stdout.trim();
  assert.equal(second, first);
});
