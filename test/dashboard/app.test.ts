/**
 * End to end: the real product (createApp: in-process ingest -> window -> ONNX scorer -> store
 * -> analytics -> hub -> API + dashboard) streams a scripted demo call (fixtures/calls) while
 * headless Chromium watches the live view. Needs the exported model (models/CURRENT); without it
 * the test fails under CI=true and skips loudly otherwise.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { type Browser, chromium } from 'playwright-core';
import { type App, createApp } from '../../src/app/app.js';
import { loadConfig } from '../../src/app/config.js';
import { loadFixtureCalls } from '../../src/app/demo/fixtures.js';
import { runDemo } from '../../src/app/demo/player.js';
import { MemorySource } from '../../src/ingest/memory-source.js';
import { buildDashboard, CHROMIUM, CHROMIUM_ARGS, chromiumOrSkip, REPO } from './stack.js';

const ART = `${REPO}test-artifacts`;
let app: App | null = null;
let browser: Browser | null = null;
let dir = '';
const abort = new AbortController();

before(async (t) => {
  if (!chromiumOrSkip(t as never)) return;
  if (!existsSync(join(REPO, 'models', 'CURRENT'))) {
    if (process.env.CI === 'true') throw new Error('models/CURRENT is missing (CI=true)');
    console.warn('SKIPPING the end-to-end dashboard test: no exported model (models/CURRENT)');
    return;
  }
  mkdirSync(ART, { recursive: true });
  buildDashboard();
  dir = mkdtempSync(join(tmpdir(), 'dash-e2e-'));
  app = await createApp(loadConfig({ PORT: '0', DATA_DIR: dir, DEMO: '0', LOG_LEVEL: 'silent' }), pino({ level: 'silent' }));
  await app.start();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});

after(async () => {
  abort.abort();
  await browser?.close();
  await app?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a demo call streamed through the real pipeline shows up and grows in the live view, with its analytics', async (t) => {
  if (!app || !browser) return t.skip('no model or no browser');
  const base = app.api.url.replace(/\/graphql$/, '');
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`${base}/`);
  await page.waitForSelector('[data-testid=conn][data-state=live]', { timeout: 15_000 });
  const source = app.source as MemorySource;
  const fixtures = loadFixtureCalls(join(REPO, 'fixtures', 'calls')).slice(0, 1);
  let callId = '';
  const demo = runDemo({ fixtures, concurrent: 1, totalCalls: 1, speed: 4, tenant: app.config.devTenant, signal: abort.signal, send: (r) => source.push(r), onCallStart: (id) => (callId = id) }).catch(() => undefined);
  // The first scored segment creates the card; later ones add points to it.
  const cardPts = () => page.locator(`li.card[data-call="${callId}"] .pt`).count();
  await page.waitForFunction(() => document.querySelectorAll('li.card .pt').length > 0, undefined, { timeout: 60_000 });
  const first = await cardPts();
  assert.ok(first > 0, 'the live view shows the demo call');
  const deadline = Date.now() + 60_000;
  while ((await cardPts()) <= first && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
  assert.ok((await cardPts()) > first, 'the live view grew as the call streamed in');
  await page.screenshot({ path: `${ART}/dashboard-e2e-live.png`, fullPage: true });
  await demo;
  // The stored analytics agree with the stored scores (the call page reads both).
  const res = await fetch(app.api.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: `{ call(id: ${JSON.stringify(callId)}) { segments(first: 1000) { edges { node { channel valence } } } analytics { channels { channel segments meanValence } } } }` }),
  });
  const body = (await res.json()) as { data: { call: { segments: { edges: { node: { channel: string; valence: number } }[] }; analytics: { channels: { channel: string; segments: number; meanValence: number }[] } } } };
  const segs = body.data.call.segments.edges.map((e) => e.node);
  for (const c of body.data.call.analytics.channels) {
    const v = segs.filter((s) => s.channel === c.channel).map((s) => s.valence);
    assert.equal(c.segments, v.length);
    assert.ok(Math.abs(c.meanValence - v.reduce((a, b) => a + b, 0) / v.length) < 1e-9);
  }
  // The call has ended: its card left the grid for the "Recently ended" strip.
  await page.waitForSelector(`[data-testid=ended-strip] li[data-call="${callId}"]`, { timeout: 30_000 });
  assert.equal(await page.locator(`li.card[data-call="${callId}"]`).count(), 0, 'an ended call is not on the grid');
  await page.click(`[data-testid=ended-strip] li[data-call="${callId}"] a`);
  await page.waitForSelector('article.call-page table.segments tbody tr', { timeout: 10_000 });
  await page.screenshot({ path: `${ART}/dashboard-e2e-call.png`, fullPage: true });
  await page.close();
});
