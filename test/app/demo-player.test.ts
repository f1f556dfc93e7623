/** The demo plays phone calls: audio and transcript, no face stream unless asked (DEMO_VIDEO). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { H } from '../../schema/chunk.js';
import { loadConfig } from '../../src/app/config.js';
import { loadFixtureCalls } from '../../src/app/demo/fixtures.js';
import { runDemo } from '../../src/app/demo/player.js';
import type { WireRecord } from '../../src/ingest/encode.js';

const REPO = join(import.meta.dirname, '..', '..');
const fixtures = loadFixtureCalls(join(REPO, 'fixtures', 'calls')).slice(0, 1);

async function modalitiesSent(video?: boolean): Promise<Map<string, number>> {
  const sent = new Map<string, number>();
  const send = async (r: WireRecord) => {
    const m = String(r.headers[H.modality]);
    sent.set(m, (sent.get(m) ?? 0) + 1);
  };
  await runDemo({ fixtures, send, concurrent: 1, totalCalls: 1, speed: 1e6, video });
  return sent;
}

test('the fixture call carries face features, so the demo has something to leave out', () => {
  assert.ok(fixtures[0].channels.size > 0);
  assert.ok([...fixtures[0].channels.values()].some((c) => c.video !== null && c.video.length > 0));
});

test('by default a demo call is a phone call: audio and transcript, no video chunk', async () => {
  const sent = await modalitiesSent();
  assert.ok((sent.get('audio') ?? 0) > 10 && (sent.get('text') ?? 0) > 0, JSON.stringify([...sent]));
  assert.equal(sent.get('video') ?? 0, 0);
});

test('video: true (DEMO_VIDEO=on) streams the face features as well', async () => {
  const sent = await modalitiesSent(true);
  assert.ok((sent.get('video') ?? 0) > 0, JSON.stringify([...sent]));
});

test('DEMO_VIDEO is off by default, parsed like every boolean, and refused when malformed', () => {
  assert.equal(loadConfig({}).demoVideo, false);
  assert.equal(loadConfig({ DEMO_VIDEO: 'on' }).demoVideo, true);
  assert.throws(() => loadConfig({ DEMO_VIDEO: 'maybe' }), /DEMO_VIDEO="maybe"/);
});
