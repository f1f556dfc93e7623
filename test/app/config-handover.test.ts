/** The exact hand-over's bounds in loadConfig (src/window/commit-hold.ts): defaults, overrides, validation at start. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/app/config.js';

test('HANDOVER_REPLAY_MAX_MS and HANDOVER_HOLD_MAX_RECORDS: 15 min and 500,000 by default, read and validated at start', () => {
  assert.deepEqual(loadConfig({}).handover, { replayMaxMs: 900_000, holdMaxRecords: 500_000 });
  assert.deepEqual(loadConfig({ HANDOVER_REPLAY_MAX_MS: '0', HANDOVER_HOLD_MAX_RECORDS: '1000' }).handover, { replayMaxMs: 0, holdMaxRecords: 1000 });
  for (const [k, v] of [['HANDOVER_REPLAY_MAX_MS', '-1'], ['HANDOVER_REPLAY_MAX_MS', '15min'], ['HANDOVER_HOLD_MAX_RECORDS', '0'], ['HANDOVER_HOLD_MAX_RECORDS', '1e12']]) {
    assert.throws(() => loadConfig({ [k]: v }), (e: Error) => e.name === 'ConfigError' && e.message.includes(k), `${k}=${v}`);
  }
});
