/**
 * What a supervisor needs from the dashboard (issue 15 item 3, issue 12 item 3), in real
 * headless Chromium against a real API server fed scripted calls: ended calls leave the grid
 * for a bounded "Recently ended" strip; charts have a time axis, alert markers and a valence
 * scale that shows the spread; History lists recent calls before any search; display names;
 * one Link (ctrl/cmd- and middle-click open a new tab, a plain click routes); focus moves to
 * the view's heading; every point is reachable by screen readers (Chromium's own accessibility
 * tree, read over CDP); where a score's text came from, with the recognised words.
 * Screenshots go to test-artifacts/. Every wait is on a DOM condition.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { RECENTLY_ENDED } from '../../dashboard/src/model.js';
import type { CallInfo, SegmentScore } from '../../src/core/types.js';
import { buildDashboard, CHROMIUM, CHROMIUM_ARGS, callInfo, chromiumOrSkip, REPO, type Stack, scripted, startStack } from './stack.js';

const ART = `${REPO}test-artifacts`;
let stack: Stack;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let ready = false;

/** The API restarts as a version without Call.displayName while this is false (the last test). */
let serveDisplayName = true;

/** A call with a display name (CallInfo.displayName, sent by the producer with call_start). */
function named(callId: string, name: string, status: CallInfo['status'] = 'ACTIVE'): CallInfo {
  return { ...callInfo(callId, status), displayName: name };
}

/** The SDL of a server from before Call.displayName: this one's with the field cut out. */
function sdlWithoutDisplayName(): string {
  const sdl = readFileSync(`${REPO}schema/schema.graphql`, 'utf8');
  const start = sdl.indexOf('type Call {');
  const end = sdl.indexOf('}', start);
  // The field and a one-line description above it, if it has one.
  const block = sdl.slice(start, end).replace(/(\n\s*"[^"\n]*")?\n\s*displayName\s*:\s*String!?[^\n]*/, '');
  if (!sdl.slice(start, end).includes('displayName') || block.includes('displayName')) throw new Error('cannot cut Call.displayName out of schema/schema.graphql: update sdlWithoutDisplayName');
  const path = join(mkdtempSync(join(tmpdir(), 'sdl-')), 'schema.graphql');
  writeFileSync(path, sdl.slice(0, start) + block + sdl.slice(end));
  return path;
}

before(async (t) => {
  if (!chromiumOrSkip(t as never)) return;
  mkdirSync(ART, { recursive: true });
  buildDashboard();
  stack = await startStack({ sdlPath: () => (serveDisplayName ? undefined : sdlWithoutDisplayName()) });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  page = await context.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(`${stack.base}/`);
  await page.waitForSelector('[data-testid=conn][data-state=live]', { timeout: 15_000 });
  ready = true;
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

const card = (id: string) => `ul.cards li.card[data-call="${id}"]`;
const strip = (id: string) => `[data-testid=ended-strip] li[data-call="${id}"]`;

/** Scores `values` as segments 0, 1, ... of a channel; `t0`: event time of segment 0. */
async function play(callId: string, values: number[], channel = 'customer', o: (i: number) => Partial<SegmentScore> = () => ({}), t0?: number): Promise<void> {
  for (let i = 0; i < values.length; i++) await stack.score({ ...scripted(callId, channel, i, values[i], { t0 }), ...o(i) });
}

test('ended calls leave the grid for a bounded "Recently ended" strip, newest first', async (t) => {
  if (!ready) return t.skip('no browser');
  const ids = Array.from({ length: RECENTLY_ENDED + 3 }, (_, i) => `fold-${String(i).padStart(2, '0')}`);
  for (const id of ids) {
    await stack.call(callInfo(id));
    await play(id, [0.2, -0.1]);
  }
  await page.waitForFunction((n) => document.querySelectorAll('ul.cards li.card').length === n, ids.length, { timeout: 10_000 });
  // All but the last two end, one after the other (later end = newer).
  const ending = ids.slice(0, -2);
  for (let i = 0; i < ending.length; i++) await stack.call({ ...callInfo(ending[i], i % 2 ? 'TIMED_OUT' : 'ENDED'), endedAtMs: 1_700_000_100_000 + i * 1000 });
  await page.waitForFunction((n) => document.querySelectorAll('ul.cards li.card').length === n, 2, { timeout: 10_000 });
  const grid = await page.locator('ul.cards li.card').evaluateAll((els) => els.map((e) => [e.getAttribute('data-call'), e.getAttribute('data-status')]));
  assert.deepEqual(grid, ids.slice(-2).map((id) => [id, 'ACTIVE']));
  assert.equal(await page.textContent('[data-testid=active-count]'), '2');
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=ended-strip] li').length === n, RECENTLY_ENDED, { timeout: 10_000 });
  const listed = await page.locator('[data-testid=ended-strip] li').evaluateAll((els) => els.map((e) => e.getAttribute('data-call')));
  assert.deepEqual(listed, ending.slice(-RECENTLY_ENDED).reverse(), 'the newest ends, newest first; older ones fall off');
  assert.match((await page.textContent(strip(ending.at(-1) as string))) ?? '', /ended|timed out/);
  await page.screenshot({ path: `${ART}/supervisor-folded.png`, fullPage: true });
  // A page opened now lists the calls that ended before it opened, the same newest first.
  const fresh = await context.newPage();
  await fresh.goto(`${stack.base}/`);
  await fresh.waitForFunction((n) => document.querySelectorAll('[data-testid=ended-strip] li').length === n, RECENTLY_ENDED, { timeout: 10_000 });
  assert.deepEqual(await fresh.locator('[data-testid=ended-strip] li').evaluateAll((els) => els.map((e) => e.getAttribute('data-call'))), listed);
  // How each ended: seen live, the last valence (-0.10); loaded after the end, without scores,
  // the mean of the last segments (of 0.2 and -0.1), said so.
  const last = ending.at(-1) as string;
  assert.match((await page.textContent(`${strip(last)} [data-channel=customer][data-last=segment]`)) ?? '', /customer\s*▼?●?\s*-0\.10/);
  assert.match((await fresh.textContent(`${strip(last)} [data-channel=customer][data-last=rolling]`)) ?? '', /customer\s*●\s*\+0\.05 \(mean of last 2\)/);
  await fresh.screenshot({ path: `${ART}/supervisor-ended-on-open.png`, fullPage: true });
  assert.equal(await fresh.locator('ul.cards li.card').count(), 2);
  await fresh.close();
});

test('a chart has a time axis, an alert marker at the alerted segment, and a scale that shows the spread', async (t) => {
  if (!ready) return t.skip('no browser');
  await stack.call(callInfo('chart-1'));
  // Small swings, as real calls have: a fixed -3..+3 axis drew these almost flat.
  await play('chart-1', [0.4, 0.3, -0.2, -0.6, -0.7, -0.8]);
  await play('chart-1', [0.1, 0.1, 0.0, 0.1, 0.2, 0.1], 'agent');
  const stored = await stack.analytics.store.listAlerts({ callId: 'chart-1', first: 50 });
  assert.ok(stored.totalCount > 0, 'the scripted dip raises an alert');
  const alert = stored.items[0].node;
  const svg = `${card('chart-1')} svg.timeline`;
  await page.waitForSelector(`${svg} .alert-mark[data-seg="${alert.segmentIndex}"][data-channel="${alert.channel}"]`, { timeout: 5000 });
  const title = await page.textContent(`${svg} .alert-mark[data-seg="${alert.segmentIndex}"] title`);
  assert.match(title ?? '', /^Alert: /);
  // The point the alert sits on says so too.
  assert.match((await page.textContent(`${svg} g.series[data-channel="${alert.channel}"] .pt[data-seg="${alert.segmentIndex}"] title`)) ?? '', /alert/);
  // Time axis: m:ss ticks counted from the call start.
  const ticks = await page.locator(`${svg} text.x-tick`).allTextContents();
  assert.ok(ticks.length >= 2, ticks.join(' '));
  assert.equal(ticks[0], '0:00');
  for (const x of ticks) assert.match(x, /^\d+:\d\d$/);
  // Valence scale: the labelled range stays near the data, and the points use the plot's height.
  const yLabels = (await page.locator(`${svg} .y-axis text`).allTextContents()).map(Number);
  assert.ok(Math.max(...yLabels) < 1 && Math.min(...yLabels) > -1.5, yLabels.join(' '));
  const ys = await page.locator(`${svg} g.series[data-channel=customer] .pt`).evaluateAll((els) => els.map((e) => (e as SVGGraphicsElement).getBBox()).map((b) => b.y + b.height / 2));
  const height = Number(await page.getAttribute(svg, 'height'));
  // -0.8..+0.4 on a fixed -3..+3 axis spanned a fifth of the chart; on the fitted one, most of it.
  assert.ok((Math.max(...ys) - Math.min(...ys)) / height > 0.45, `points span ${Math.max(...ys) - Math.min(...ys)} of ${height} px`);
  await page.locator(card('chart-1')).screenshot({ path: `${ART}/supervisor-chart-card.png` });
});

test('the time axis counts from the call start, not from its first scored segment', async (t) => {
  if (!ready) return t.skip('no browser');
  const t0 = 1_700_000_000_000;
  await stack.call(callInfo('late-1', 'ACTIVE', t0));
  // The first words come 7 s into the call.
  await play('late-1', [0.2, 0.3], 'customer', () => ({}), t0 + 7000);
  const pt = `${card('late-1')} g.series[data-channel=customer] .pt[data-seg="0"] title`;
  await page.waitForSelector(pt, { state: 'attached', timeout: 5000 });
  assert.match((await page.textContent(pt)) ?? '', /segment 0 at 0:07/);
  assert.match((await page.textContent(`${card('late-1')} svg.timeline text.x-tick`)) ?? '', /^0:(0[5-9]|10)$/);
});

test('a plain click on a Link routes in the page and focus moves to the new view heading', async (t) => {
  if (!ready) return t.skip('no browser');
  const pages = context.pages().length;
  await page.click(`${card('chart-1')} a.card-link`);
  await page.waitForSelector('article.call-page[data-call="chart-1"]');
  assert.equal(new URL(page.url()).pathname, '/call/chart-1');
  assert.equal(context.pages().length, pages, 'no new tab');
  await page.waitForFunction(() => document.activeElement?.matches('main h2[data-route-heading]') && /^Call chart-1/.test(document.activeElement.textContent ?? ''));
  // The call page's chart: the same axis and alert marker, larger.
  await page.waitForSelector('article.call-page svg.timeline .alert-mark');
  await page.screenshot({ path: `${ART}/supervisor-call-chart.png`, fullPage: true });
  await page.goBack();
  await page.waitForFunction(() => document.activeElement?.id === 'calls-h');
  await page.click('nav a[href="/history"]');
  await page.waitForFunction(() => document.activeElement?.id === 'history-h');
  await page.click('nav a[href="/"]');
  await page.waitForFunction(() => document.activeElement?.id === 'calls-h');
});

for (const how of ['ctrl/cmd-click', 'middle-click'] as const) {
  test(`${how} on a Link opens the call in a new tab and leaves this one where it was`, async (t) => {
    if (!ready) return t.skip('no browser');
    assert.equal(new URL(page.url()).pathname, '/');
    const opened = context.waitForEvent('page', { timeout: 10_000 });
    const link = page.locator(`${card('chart-1')} a.card-link`);
    if (how === 'middle-click') await link.click({ button: 'middle' });
    else await link.click({ modifiers: ['ControlOrMeta'] });
    const tab = await opened;
    await tab.waitForURL(`${stack.base}/call/chart-1`, { timeout: 10_000 });
    await tab.waitForSelector('article.call-page[data-call="chart-1"] svg.timeline .pt', { timeout: 10_000 });
    assert.equal(new URL(page.url()).pathname, '/', 'the first tab did not route');
    assert.equal(await page.locator(card('chart-1')).count(), 1);
    await tab.close();
  });
}

test('every point of a chart is in the accessibility tree with its title, and the keyboard walks them', async (t) => {
  if (!ready) return t.skip('no browser');
  await page.goto(`${stack.base}/call/chart-1`);
  await page.waitForSelector('article.call-page svg.timeline .pt');
  const cdp = await context.newCDPSession(page);
  const { nodes } = (await cdp.send('Accessibility.getFullAXTree')) as { nodes: { ignored: boolean; role?: { value: string }; name?: { value: string } }[] };
  const named = nodes.filter((n) => !n.ignored).map((n) => `${n.role?.value}: ${n.name?.value ?? ''}`);
  const points = named.filter((n) => /^image: (customer|agent) segment \d+ at \d+:\d\d: /.test(n));
  assert.equal(points.length, 12, points.join('\n'));
  assert.ok(points.some((n) => /^image: customer segment 3 at 0:09: -0\.60 negative; transcript from the call platform/.test(n)), points.join('\n'));
  assert.ok(named.some((n) => /^image: Alert: /.test(n)), 'the alert marker is named too');
  await cdp.detach();
  // One Tab stop for the chart; arrows move in time order.
  assert.equal(await page.locator('article.call-page svg.timeline .pt[tabindex="0"]').count(), 1);
  await page.focus('article.call-page svg.timeline .pt[tabindex="0"]');
  const focused = () => page.evaluate(() => (document.activeElement as SVGElement | null)?.querySelector('title')?.textContent ?? '');
  assert.match(await focused(), /segment 0 at 0:00/);
  await page.keyboard.press('ArrowRight');
  assert.match(await focused(), /segment 0 at 0:00/, 'the agent point of the same moment comes next');
  await page.keyboard.press('End');
  assert.match(await focused(), /segment 5 at 0:15/);
  await page.keyboard.press('ArrowLeft');
  assert.match(await focused(), /segment 5 at 0:15/);
  await page.keyboard.press('Home');
  assert.match(await focused(), /segment 0/);
  await page.goto(`${stack.base}/`);
  await page.waitForSelector('[data-testid=conn][data-state=live]');
});

test('a segment shows where its text came from, with the words recognised here', async (t) => {
  if (!ready) return t.skip('no browser');
  await stack.call(callInfo('words-1'));
  const speech: Partial<SegmentScore>[] = [
    {},
    { text: null, textMissing: true, modalities: { text: 'SIMULATED', audio: 'PRESENT', video: 'MISSING' }, textSource: 'SIMULATED', recognisedText: null },
    { text: null, textMissing: true, modalities: { text: 'SIMULATED', audio: 'PRESENT', video: 'MISSING' }, textSource: 'RECOGNISED', recognisedText: 'i want my money back' },
  ];
  // Later in event time than the other calls (History's "most recent" is by last scored segment).
  await play('words-1', [0.3, -0.2, -1.1], 'customer', (i) => speech[i], 1_700_000_600_000);
  const now = `${card('words-1')} .now[data-channel=customer]`;
  await page.waitForSelector(`${now} .badge.recognised`, { timeout: 5000 });
  assert.match((await page.getAttribute(`${now} .badge.recognised`, 'title')) ?? '', /i want my money back/);
  await page.click(`${card('words-1')} a.card-link`);
  await page.waitForSelector('article.call-page table.segments tbody tr');
  const cell = (seg: number) => page.textContent(`table.segments tr[data-channel=customer][data-seg="${seg}"] td[data-field=text]`);
  assert.match((await cell(0)) ?? '', /customer says something 0.*platform transcript/);
  assert.match((await cell(1)) ?? '', /text simulated from audio, no words/);
  assert.match((await cell(2)) ?? '', /words recognised here.*i want my money back/);
  assert.match((await page.textContent('article.call-page svg.timeline .pt[data-seg="2"] title')) ?? '', /words recognised here: “i want my money back”/);
  await page.screenshot({ path: `${ART}/supervisor-text-source.png`, fullPage: true });
  await page.click('nav a[href="/"]');
});

test('History lists the most recent calls before any search', async (t) => {
  if (!ready) return t.skip('no browser');
  await page.click('nav a[href="/history"]');
  await page.waitForSelector('table.results tbody tr', { timeout: 5000 });
  assert.equal(await page.getAttribute('[data-testid=result-count]', 'data-searched'), 'false');
  const rows = await page.locator('table.results tbody tr').evaluateAll((els) => els.map((e) => e.getAttribute('data-call')));
  // The server's order: latest event time first; words-1's segments are the latest.
  assert.equal(rows[0], 'words-1');
  assert.ok(rows.includes('chart-1') && rows.includes('fold-00'), rows.join(' '));
  await page.screenshot({ path: `${ART}/supervisor-history-recent.png`, fullPage: true });
  await page.click('nav a[href="/"]');
});

test('a call shows its display name where the API has Call.displayName', async (t) => {
  if (!ready) return t.skip('no browser');
  await stack.call(named('named-1', 'Acme support · Jane Doe'));
  await play('named-1', [0.5]);
  await page.waitForFunction((sel) => document.querySelector(sel)?.textContent?.includes('Acme support · Jane Doe'), `${card('named-1')} .call-id`, { timeout: 5000 });
  assert.equal(await page.textContent(`${card('named-1')} .call-raw-id`), 'named-1');
  await stack.call({ ...named('named-1', 'Acme support · Jane Doe', 'ENDED'), endedAtMs: Date.now() });
  await page.waitForFunction((sel) => document.querySelector(sel)?.textContent?.includes('Acme support · Jane Doe'), strip('named-1'), { timeout: 5000 });
  await page.click('nav a[href="/history"]');
  await page.waitForSelector('table.results tr[data-call="named-1"]');
  assert.equal(await page.textContent('table.results tr[data-call="named-1"] td a'), 'Acme support · Jane Doe');
  await page.click('table.results tr[data-call="named-1"] a');
  await page.waitForFunction(() => /^Call Acme support · Jane Doe/.test(document.querySelector('#call-h')?.textContent ?? ''));
  await page.click('nav a[href="/"]');
});

test('a server restarted as another version (the field gone, then back) is followed: the page reloads with matching queries', async (t) => {
  if (!ready) return t.skip('no browser');
  await stack.call(named('named-2', 'Globex · Sam'));
  await play('named-2', [0.1]);
  await page.waitForFunction((sel) => document.querySelector(sel)?.textContent === 'Globex · Sam', `${card('named-2')} .call-id`, { timeout: 5000 });
  const mark = () => page.evaluate(() => ((window as unknown as { __mark?: number }).__mark = 1));
  const reloaded = () => page.waitForFunction(() => (window as unknown as { __mark?: number }).__mark === undefined, undefined, { timeout: 30_000 });
  // Rolled back to a version without Call.displayName: queries asking for it would all fail.
  await mark();
  await stack.stopApi();
  serveDisplayName = false;
  await stack.startApi();
  await reloaded();
  await page.waitForSelector('[data-testid=conn][data-state=live]', { timeout: 20_000 });
  await page.waitForFunction((sel) => document.querySelector(sel)?.textContent === 'named-2', `${card('named-2')} .call-id`, { timeout: 10_000 });
  // Live updates flow on the new queries.
  await stack.score(scripted('named-2', 'customer', 1, -0.9));
  await page.waitForSelector(`${card('named-2')} .pt[data-seg="1"]`, { timeout: 5000 });
  // And forward again.
  await mark();
  await stack.stopApi();
  serveDisplayName = true;
  await stack.startApi();
  await reloaded();
  await page.waitForFunction((sel) => document.querySelector(sel)?.textContent === 'Globex · Sam', `${card('named-2')} .call-id`, { timeout: 20_000 });
});
