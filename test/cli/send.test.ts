/**
 * `sentiment-stream send` (issue 15, second bar) against a running embedded server: the bin as
 * `npx` runs it, the fixture WAV and its transcript at full speed; it prints every score the
 * server stored for the call, and a summary with nothing refused. Needs the exported model.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../../src/app/paths.js';
import { callIdFor, storedScores } from '../integration/harness.js';
import { FIXTURE_WAV, requireModel, startEmbedded } from '../ingest/ws/support.js';

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(repoRoot(), 'bin', 'sentiment-stream.mjs'), ...args], { cwd: repoRoot() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('send streams the fixture call and prints the scores the server stored', async (t) => {
  if (!requireModel(t)) return;
  const e = await startEmbedded();
  try {
    const callId = callIdFor('cli');
    const r = await run(['send', FIXTURE_WAV, '--transcript', join(repoRoot(), 'fixtures', 'call', 'call.transcript.json'), '--url', `${e.wsBase}/ingest`, '--speed', '0', '--call-id', callId]);
    assert.equal(r.code, 0, `exit 0 (stderr: ${r.stderr})`);
    const stored = await storedScores(e.url, callId);
    assert.ok(stored.length >= 2, 'both speakers scored');
    const printed = r.stdout.split('\n').filter((l) => l.startsWith('score '));
    assert.equal(printed.length, stored.length, `one line per stored score:\n${r.stdout}`);
    for (const s of stored) {
      const line = printed.find((l) => l.includes(` ${s.channel}`) && l.includes(`#${s.segmentIndex}.${s.revision} `));
      assert.ok(line, `a line for ${s.channel} #${s.segmentIndex}.${s.revision}`);
      assert.ok(line.includes(`valence ${s.valence >= 0 ? '+' : ''}${s.valence.toFixed(3)} ${s.label}`), `${line} shows valence ${s.valence}`);
    }
    assert.match(r.stdout, /done: (\d+) records, \1 accepted, 0 refused/);
    assert.ok(stored.every((s) => s.modalities.text === 'PRESENT'), 'the transcript reached every segment');
    assert.ok(printed.every((l) => l.includes('(text platform)')), `every line says the platform's transcript was used:\n${r.stdout}`);
  } finally {
    await e.stop();
  }
});

test('send exits 2 with the usage on a file that is not a WAV', async () => {
  const r = await run(['send', join(repoRoot(), 'package.json'), '--url', 'ws://127.0.0.1:9/ingest']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /not a RIFF\/WAVE file/);
});

test('without a transcript each line says where the text came from, with the words heard when recognised', async (t) => {
  if (!requireModel(t)) return;
  const e = await startEmbedded();
  try {
    const callId = callIdFor('cli-audio');
    const r = await run(['send', FIXTURE_WAV, '--url', `${e.wsBase}/ingest`, '--speed', '0', '--call-id', callId]);
    assert.equal(r.code, 0, `exit 0 (stderr: ${r.stderr})`);
    const stored = await storedScores(e.url, callId);
    assert.ok(stored.length >= 2, 'both speakers scored');
    const printed = r.stdout.split('\n').filter((l) => l.startsWith('score '));
    for (const s of stored) {
      const line = printed.find((l) => l.includes(` ${s.channel}`) && l.includes(`#${s.segmentIndex}.${s.revision} `));
      assert.ok(line, `a line for ${s.channel} #${s.segmentIndex}.${s.revision}`);
      assert.notEqual(s.textSource, 'PLATFORM', 'no transcript was sent');
      // Before: every such line read "(text simulated)" (the modality flag), recognised words or not.
      assert.ok(line.includes(`(text ${s.textSource.toLowerCase()})`), `${line} says ${s.textSource}`);
      if (s.textSource === 'RECOGNISED' && s.recognisedText) assert.ok(line.includes(`"${s.recognisedText}"`), `${line} shows the words heard`);
    }
  } finally {
    await e.stop();
  }
});
