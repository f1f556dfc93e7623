/**
 * The dashboard's one gap-repair story (docs/api.md, Resume), in real headless Chromium: the
 * network under the page drops mid-call while the server keeps scoring; after the reconnect the
 * page resumes its scores operation through `segmentScored(since:)` and ends with every score of
 * the call exactly once, at its latest revision. What goes over the socket is checked too: one
 * resumed operation with a `since` before the first score it missed, and no re-query of scores.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { startSocketProxy, type SocketProxy } from './socket-proxy.js';
import { buildDashboard, CHROMIUM, CHROMIUM_ARGS, callInfo, chromiumOrSkip, type Stack, scripted, startStack } from './stack.js';

let stack: Stack;
let proxy: SocketProxy;
let browser: Browser;
let page: Page;
let ready = false;
/** Every graphql-ws message the page sent, parsed, in order. */
const sent: { type: string; payload?: { query?: string; variables?: Record<string, unknown> } }[] = [];

before(async (t) => {
  if (!chromiumOrSkip(t as never)) return;
  buildDashboard();
  stack = await startStack();
  proxy = await startSocketProxy(Number(new URL(stack.base).port));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on('pageerror', (e) => console.error('page error:', e.message));
  page.on('websocket', (ws) => ws.on('framesent', (f) => sent.push(JSON.parse(String(f.payload)))));
  await page.goto(`${proxy.base}/`);
  await page.waitForSelector('[data-testid=conn][data-state=live]', { timeout: 15_000 });
  // 'live' is the socket's state; the page opens its scores operation and reads the snapshot only
  // after probing the server's features. Scores stored before that operation opened reach the
  // page through the snapshot, never a live score carrying the server's clock, and then a
  // reconnect rightly re-reads the snapshot (score-stream.ts): wait for the first snapshot so
  // the first test's scores go through the stream, as it means to test.
  await page.waitForFunction(() => (window as unknown as { __dash: { snapshots: number } }).__dash.snapshots >= 1, undefined, { timeout: 15_000 });
  ready = true;
});

after(async () => {
  await browser?.close();
  await proxy?.close();
  await stack?.stop();
});

const CALL = 'call-resume';
const CHANNELS = ['customer', 'agent'];
const SEGMENTS = 15;
const valence = (channel: string, i: number) => +((channel === 'customer' ? 1 : -1) * Math.sin(i / 2) * 2).toFixed(2);
const points = (channel: string) => `li.card[data-call="${CALL}"] g.series[data-channel="${channel}"] .pt`;

async function scoreSegments(from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) for (const ch of CHANNELS) await stack.score(scripted(CALL, ch, i, valence(ch, i)));
}

test('a socket dropped mid-call: the dashboard resumes through segmentScored(since:) and shows every score exactly once', async (t) => {
  if (!ready) return t.skip('no browser');
  await stack.call(callInfo(CALL));
  await scoreSegments(0, 5);
  await page.waitForFunction((sel) => document.querySelectorAll(sel).length === 5, points('agent'), { timeout: 10_000 });

  proxy.cut();
  await page.waitForSelector('[data-testid=conn][data-state=reconnecting]', { timeout: 10_000 });
  const cutAt = sent.length;
  const missedFrom = Date.now();
  // Scored while the page has no socket: stored and published, but nobody here receives them.
  await scoreSegments(5, 10);
  await stack.score(scripted(CALL, 'customer', 2, 2.5, { revision: 1, text: 'a late transcript' }));
  proxy.restore();
  await page.waitForSelector('[data-testid=conn][data-state=live]', { timeout: 20_000 });
  await scoreSegments(10, SEGMENTS);

  await page.waitForFunction(
    ([sel, n]) => document.querySelectorAll(sel as string).length === n && document.querySelector(`${sel}[data-seg="2"][data-rev="1"]`) !== null,
    [points('customer'), SEGMENTS] as const,
    { timeout: 15_000 },
  );
  for (const ch of CHANNELS) {
    const shown = await page.$$eval(points(ch), (els) => els.map((e) => [Number(e.getAttribute('data-seg')), Number(e.getAttribute('data-rev')), e.getAttribute('data-valence')] as const));
    const want = Array.from({ length: SEGMENTS }, (_, i) => (ch === 'customer' && i === 2 ? [2, 1, '2.500'] : [i, 0, valence(ch, i).toFixed(3)]));
    assert.deepEqual([...shown].sort((a, b) => a[0] - b[0]), want, `${ch}: every segment once, at its latest revision`);
  }

  const afterCut = sent.slice(cutAt);
  const scoreOps = afterCut.filter((m) => m.type === 'subscribe' && /segmentScored/.test(m.payload?.query ?? ''));
  assert.equal(scoreOps.length, 1, 'one scores operation after the reconnect: the resumed one, not also graphql-ws re-sending the old');
  const since = scoreOps[0].payload?.variables?.since;
  assert.equal(typeof since, 'number');
  assert.ok((since as number) <= missedFrom, `since ${since} reaches back before the first missed score (${missedFrom})`);
  assert.ok((since as number) > missedFrom - 60_000, 'since is the last score received less the margin, not the start of time');
  assert.equal(afterCut.filter((m) => /segments\s*\(/.test(m.payload?.query ?? '')).length, 0, 'no re-query of scores: the resume brought them');
  assert.equal(await page.evaluate('window.__dash.resumes'), 1);
});

test('a dashboard that falls 4,096 scores behind is told (SUBSCRIBER_TOO_SLOW) and resumes: nothing is dropped silently', async (t) => {
  if (!ready) return t.skip('no browser');
  const CALLS = 60;
  const PER_CHANNEL = 40; // what a card draws: every point stays visible
  const ids = Array.from({ length: CALLS }, (_, i) => `burst-${String(i).padStart(2, '0')}`);
  for (const id of ids) await stack.call(callInfo(id));
  const burst = ids.flatMap((id, c) => Array.from({ length: PER_CHANNEL }, (_, i) => CHANNELS.map((ch) => scripted(id, ch, i, ((c + i) % 7) - 3))).flat());
  for (const s of burst) await stack.store.putScore(s);
  const opsBefore = sent.length;
  const tooSlowBefore = stack.hub.stats().closedTooSlow;
  // One synchronous burst (4,800 > the resumed operation's 4,096): the server's reader is busy
  // sending the first score while the rest arrive, so the queue overflows every time.
  for (const s of burst) stack.hub.deliverScore(s);
  assert.equal(stack.hub.stats().closedTooSlow, tooSlowBefore + 1, 'the hub ended the page\'s scores operation as too slow');

  await page.waitForFunction(
    ([n, per]) => {
      const cards = document.querySelectorAll('li.card[data-call^="burst-"]');
      return cards.length === n && Array.from(cards).every((c) => c.querySelectorAll('.pt').length === per);
    },
    [CALLS, 2 * PER_CHANNEL] as const,
    { timeout: 30_000 },
  );
  const segs = await page.$$eval('li.card[data-call^="burst-"] .pt', (els) => els.map((e) => `${e.closest('li')!.getAttribute('data-call')}/${e.closest('g.series')!.getAttribute('data-channel')}/${e.getAttribute('data-seg')}`));
  assert.equal(new Set(segs).size, burst.length, 'every score of the burst shown exactly once');
  const resumed = sent.slice(opsBefore).filter((m) => m.type === 'subscribe' && /segmentScored/.test(m.payload?.query ?? ''));
  assert.equal(resumed.length, 1, 'one resumed scores operation, on the same socket');
  assert.equal(await page.evaluate('window.__dash.resumes'), 2);
});
