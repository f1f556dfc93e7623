/**
 * The one lifecycle (src/app/lifecycle.ts): parts start in order and stop backwards, once; a
 * failed start leaves exactly the started parts for `stop`; a part whose stop fails does not
 * keep the parts before it open, and its error still reaches the caller.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Lifecycle, type Part } from '../../src/app/lifecycle.js';

const silent = pino({ level: 'silent' });

function recorder(names: string[], opts: { failStart?: string; failStop?: string } = {}) {
  const log: string[] = [];
  const parts: Part[] = names.map((name) => ({
    name,
    ...(name.startsWith('open:') ? {} : {
      start: async () => {
        if (name === opts.failStart) throw new Error(`${name} would not start`);
        log.push(`start ${name}`);
      },
    }),
    stop: async () => {
      log.push(`stop ${name}`);
      if (name === opts.failStop) throw new Error(`${name} would not stop`);
    },
  }));
  return { log, lifecycle: new Lifecycle(parts, silent) };
}

test('start in order, stop backwards, once', async () => {
  const { log, lifecycle } = recorder(['open:producer', 'store', 'scorer', 'api', 'sources']);
  assert.deepEqual(lifecycle.order(), ['open:producer', 'store', 'scorer', 'api', 'sources']);
  await lifecycle.start();
  await lifecycle.stop();
  await lifecycle.stop();
  assert.deepEqual(log, ['start store', 'start scorer', 'start api', 'start sources', 'stop sources', 'stop api', 'stop scorer', 'stop store', 'stop open:producer']);
  await assert.rejects(lifecycle.start(), /cannot start: stopped/);
});

test('a failed start leaves the started parts, and stop stops exactly those', async () => {
  const { log, lifecycle } = recorder(['open:producer', 'store', 'scorer', 'api'], { failStart: 'scorer' });
  await assert.rejects(lifecycle.start(), /scorer would not start/);
  await lifecycle.stop();
  assert.deepEqual(log, ['start store', 'stop store', 'stop open:producer']);
});

test('never started: only the parts open since building stop', async () => {
  const { log, lifecycle } = recorder(['open:producer', 'store']);
  await lifecycle.stop();
  assert.deepEqual(log, ['stop open:producer']);
});

test('a part that fails to stop does not keep earlier parts open; its error is thrown at the end', async () => {
  const { log, lifecycle } = recorder(['store', 'hub', 'api'], { failStop: 'hub' });
  await lifecycle.start();
  await assert.rejects(lifecycle.stop(), /hub would not stop/);
  assert.deepEqual(log.filter((l) => l.startsWith('stop')), ['stop api', 'stop hub', 'stop store']);
});
