/**
 * The dashboard in real headless Chromium against a real API server (store, hub, GraphQL over
 * graphql-ws, analytics, static files), fed scripted calls. Screenshots go to test-artifacts/.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { buildDashboard, CHROMIUM, CHROMIUM_ARGS, callInfo, chromiumOrSkip, REPO, type Stack, scripted, startStack } from './stack.js';

const ART = `${REPO}test-artifacts`;
let stack: Stack;
let browser: Browser;
let page: Page;
let ready = false;

before(async (t) => {
  if (!chromiumOrSkip(t as never)) return;
  mkdirSync(ART, { recursive: true });
  buildDashboard();
  stack = await startStack();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(`${stack.base}/`);
  await page.waitForSelector('[data-testid=conn][data-state=live]', { timeout: 15_000 });
  ready = true;
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

const card = (id: string) => `li.card[data-call="${id}"]`;
const markers = (id: string, channel: string) => `${card(id)} g.series[data-channel="${channel}"] .pt`;
/** Waits until `sel` matches exactly n elements: points and alerts arrive over the socket, one render at a time. */
const untilCount = (sel: string, n: number) =>
  page.waitForFunction(([s, k]) => document.querySelectorAll(s as string).length === k, [sel, n] as const, { timeout: 5000 });

test('the live view shows a scripted call as it streams in, point by point, per channel', async (t) => {
  if (!ready) return t.skip('no browser');
  await stack.call(callInfo('call-live'));
  const v = [1.2, 0.8, 0.1, -0.2];
  for (let i = 0; i < v.length; i++) {
    await stack.score(scripted('call-live', 'customer', i, v[i]));
    await stack.score(scripted('call-live', 'agent', i, 0.5));
    await untilCount(markers('call-live', 'customer'), i + 1);
    const now = await page.textContent(`${card('call-live')} .now[data-channel=customer] .val`);
    assert.equal(now, (v[i] > 0 ? '+' : '') + v[i].toFixed(2));
  }
  await untilCount(markers('call-live', 'agent'), 4);
  const label = await page.getAttribute(`${card('call-live')} .now[data-channel=customer]`, 'data-label');
  assert.equal(label, 'NEUTRAL');
  await page.screenshot({ path: `${ART}/dashboard-live.png`, fullPage: true });
});

test('a revision replaces a provisional (text-missing) point', async (t) => {
  if (!ready) return t.skip('no browser');
  await stack.score(scripted('call-live', 'customer', 4, -0.3, { text: null }));
  const sel = `${markers('call-live', 'customer')}[data-seg="4"]`;
  await page.waitForSelector(`${sel}[data-provisional=true][data-rev="0"]`, { timeout: 5000 });
  assert.equal(await page.locator(`${card('call-live')} .now[data-channel=customer] .badge.nt`).count(), 1, 'text-missing badge shown');
  await page.locator(card('call-live')).screenshot({ path: `${ART}/dashboard-provisional.png` });
  await stack.score(scripted('call-live', 'customer', 4, 0.9, { revision: 1, text: 'oh that is great, thanks' }));
  await page.waitForSelector(`${sel}[data-provisional=false][data-rev="1"]`, { timeout: 5000 });
  assert.equal(await page.locator(sel).count(), 1, 'the revision replaced the point instead of adding one');
  assert.equal(await page.getAttribute(sel, 'data-valence'), '0.900');
  assert.equal(await page.locator(`${card('call-live')} .now[data-channel=customer] .badge.nt`).count(), 0);
});

test('an alert appears when a scripted call turns negative', async (t) => {
  if (!ready) return t.skip('no browser');
  await stack.call(callInfo('call-angry'));
  const v = [0.6, 0.4, -1.2, -1.8, -2.2, -2.5];
  for (let i = 0; i < v.length; i++) {
    await stack.score(scripted('call-angry', 'customer', i, v[i], { text: i < 2 ? 'fine' : 'this is unacceptable' }));
    await stack.score(scripted('call-angry', 'agent', i, 0.2));
  }
  await page.waitForSelector('.alert[data-call="call-angry"]', { timeout: 5000 });
  const texts = await page.locator('.alert[data-call="call-angry"]').allTextContents();
  assert.ok(texts.some((x) => /Sharp drop/.test(x)), texts.join(' | '));
  assert.ok(texts.some((x) => /Sustained negative/.test(x)), texts.join(' | '));
  await page.waitForSelector(`${card('call-angry')}.alerted .alert-badge`);
  const stored = await stack.analytics.store.listAlerts({ callId: 'call-angry', first: 50 });
  await untilCount('.alert[data-call="call-angry"]', stored.totalCount);
  await page.screenshot({ path: `${ART}/dashboard-alert.png`, fullPage: true });
});

test('the history search finds the call, and its page shows timeline, summary and transcripts', async (t) => {
  if (!ready) return t.skip('no browser');
  await stack.call(callInfo('call-angry', 'ENDED'));
  await page.click('nav >> text=History');
  await page.selectOption('select[name=sentiment]', 'NEGATIVE');
  await page.selectOption('select[name=alerts]', 'yes');
  await page.click('form.search button[type=submit]');
  await page.waitForSelector('table.results tr[data-call="call-angry"]', { timeout: 5000 });
  assert.equal(await page.locator('table.results tr[data-call="call-live"]').count(), 0, 'a positive call without alerts is filtered out');
  assert.match((await page.textContent('[data-testid=result-count]')) ?? '', /^1 call found/);
  await page.screenshot({ path: `${ART}/dashboard-history.png`, fullPage: true });
  await page.click('table.results tr[data-call="call-angry"] a');
  await page.waitForSelector('article.call-page table.segments tbody tr', { timeout: 5000 });
  assert.equal(await page.locator('article.call-page table.segments tbody tr').count(), 12);
  const row = page.locator('article.call-page table.segments tr[data-channel=customer][data-seg="3"]');
  assert.match((await row.textContent()) ?? '', /this is unacceptable/);
  const mean = (0.6 + 0.4 - 1.2 - 1.8 - 2.2 - 2.5) / 6;
  assert.equal(await page.textContent('table.summary tr[data-channel=customer] td[data-field=mean]'), mean.toFixed(2));
  assert.equal(await page.locator('article.call-page svg.timeline .pt').count(), 12);
  await page.screenshot({ path: `${ART}/dashboard-call.png`, fullPage: true });
  await page.click('nav >> text=Live');
});

test('after a server restart the dashboard reconnects, keeps what it showed and resumes the scores it missed', async (t) => {
  if (!ready) return t.skip('no browser');
  await stack.call(callInfo('call-gap'));
  await stack.score(scripted('call-gap', 'customer', 0, 0.3));
  await page.waitForSelector(`${markers('call-gap', 'customer')}[data-seg="0"]`);
  await stack.stopApi();
  await page.waitForSelector('[data-testid=conn][data-state=reconnecting]', { timeout: 10_000 });
  assert.equal(await page.locator(card('call-live')).count(), 1, 'still shows what it had');
  // Scored while no API was up: nobody received these live.
  await stack.score(scripted('call-gap', 'customer', 1, -0.4), false);
  await stack.score(scripted('call-gap', 'customer', 2, -0.9), false);
  await stack.startApi();
  await page.waitForSelector('[data-testid=conn][data-state=live]', { timeout: 20_000 });
  await page.waitForFunction((sel) => document.querySelectorAll(sel).length === 3, markers('call-gap', 'customer'), { timeout: 10_000 });
  // And live updates flow again on the re-established subscription.
  await stack.score(scripted('call-gap', 'customer', 3, 1.5));
  await page.waitForSelector(`${markers('call-gap', 'customer')}[data-seg="3"]`, { timeout: 5000 });
});

test('keyboard: tab reaches navigation and call cards; Enter opens a call', async (t) => {
  if (!ready) return t.skip('no browser');
  await page.goto(`${stack.base}/`);
  await page.waitForSelector(card('call-live'));
  const seen: string[] = [];
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press('Tab');
    seen.push(await page.evaluate(() => (document.activeElement as HTMLElement | null)?.textContent?.trim().slice(0, 40) ?? ''));
    if (seen.at(-1)?.startsWith('call-live')) break;
  }
  assert.ok(seen.includes('Live') && seen.includes('History'), seen.join(' | '));
  assert.ok(seen.at(-1)?.startsWith('call-live'), seen.join(' | '));
  await page.keyboard.press('Enter');
  await page.waitForSelector('article.call-page[data-call="call-live"]');
  // A labelled group whose points are named images (an svg role=img would hide them from readers).
  assert.equal(await page.getAttribute('svg.timeline', 'role'), 'group');
  assert.match((await page.getAttribute('svg.timeline', 'aria-label')) ?? '', /call-live/);
  await page.goBack();
  await page.waitForSelector(card('call-live'));
});
