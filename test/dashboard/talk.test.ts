/**
 * Talk analytics on the call page (issue 15 item 4), in real headless Chromium against a real
 * API server: the committed fixture call (fixtures/talk/two-channel.wav and its transcript)
 * goes through the real decoder and window (VAD, talk measures); each segment is stored,
 * analysed and published as the pipeline does, with a callUpdated per stored segment. The
 * page's figures must equal what the API answers for the same call, first for the call's first
 * half, then (live, without a reload) for all of it, read at most once per 2 s meanwhile.
 * Scores' valences are scripted (the talk figures do not depend on them). Every wait is on a
 * DOM condition; screenshot in test-artifacts/.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { dbfs, percent, seconds, wpm } from '../../dashboard/src/format.js';
import type { TalkAnalytics } from '../../dashboard/src/types.js';
import type { MediaChunk, Segment, SegmentScore } from '../../src/core/types.js';
import { createDecoder } from '../../src/ingest/decode.js';
import { Windower } from '../../src/window/windower.js';
import { callRecords, T0 } from '../support/talk-fixture.js';
import { buildDashboard, CHROMIUM, CHROMIUM_ARGS, callInfo, chromiumOrSkip, REPO, type Stack, scripted, startStack, TENANT } from './stack.js';

const ART = `${REPO}test-artifacts`;
const CALL = 'talk-1';
let stack: Stack;
let browser: Browser;
let page: Page;
let ready = false;
/** Call-page reads the page sent (graphql-ws frames carrying the CallPage query). */
let reads = 0;

/** The fixture call's segments (all revisions, in the order the window emits them). */
function fixtureSegments(): Segment[] {
  const decode = createDecoder();
  const w = new Windower();
  const out: Segment[] = [];
  callRecords({ callId: CALL, tenant: TENANT, interims: true }).forEach((r, i) => {
    for (const ev of w.accept(decode(r) as MediaChunk, i)) if (ev.type === 'segment') out.push(ev.segment);
  });
  return out;
}

const toScore = (s: Segment): SegmentScore => ({
  ...scripted(CALL, s.channel, s.index, s.channel === 'customer' ? -0.4 : 0.3, { revision: s.revision, text: s.text }),
  startMs: s.startMs,
  endMs: s.endMs,
  utteranceIds: s.utteranceIds ?? [],
  talk: s.talk ?? null,
});

let segmentsStored = 0;
/** Stores, analyses and publishes a segment's score, then the call's new segment count. */
async function stream(segs: Segment[]): Promise<void> {
  for (const s of segs) {
    await stack.score(toScore(s));
    if (s.revision === 0) await stack.call({ ...callInfo(CALL, 'ACTIVE', T0), segmentCount: ++segmentsStored });
  }
}

/** What the API answers for the call's talk analytics (the same server the page reads). */
async function apiTalk(): Promise<TalkAnalytics> {
  const q = 'query($id: ID!) { call(id: $id) { analytics { talk { spanMs nonTalkShare overlapMs channels { channel talkTimeMs talkShare silenceShare overlapMs interruptions words wordsPerMinute meanDbfs peakDbfs } } } } }';
  const res = await fetch(`${stack.base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: q, variables: { id: CALL } }) });
  const body = (await res.json()) as { data?: { call: { analytics: { talk: TalkAnalytics } } }; errors?: unknown };
  assert.ok(body.data?.call, JSON.stringify(body.errors));
  return body.data.call.analytics.talk;
}

/** The figures as the page must show them for `t`, keyed like the page's data-field cells. */
function expected(t: TalkAnalytics): Record<string, string> {
  const out: Record<string, string> = { span: seconds(t.spanMs), 'non-talk': percent(t.nonTalkShare), overlap: seconds(t.overlapMs) };
  for (const c of t.channels) {
    out[`${c.channel}/talk-time`] = seconds(c.talkTimeMs);
    out[`${c.channel}/talk-share`] = percent(c.talkShare);
    out[`${c.channel}/silence`] = percent(c.silenceShare);
    out[`${c.channel}/overlap`] = seconds(c.overlapMs);
    out[`${c.channel}/interruptions`] = String(c.interruptions);
    out[`${c.channel}/wpm`] = c.wordsPerMinute === null ? wpm(null) : `${wpm(c.wordsPerMinute)} (${c.words} words)`;
    out[`${c.channel}/loudness`] = `${dbfs(c.meanDbfs)} / ${dbfs(c.peakDbfs)}`;
  }
  return out;
}

/** The figures the page shows now. */
function shown(): Promise<Record<string, string>> {
  // No helper functions inside: the test runner's transpiler would name them (__name), which the page lacks.
  return page.evaluate(() => {
    const out: Record<string, string> = {};
    for (const f of ['span', 'non-talk', 'overlap']) out[f] = (document.querySelector(`[data-field=call-talk] [data-field=${f}]`)?.textContent ?? '').replace(/\s+/g, ' ').trim();
    document.querySelectorAll('table.talk-table tbody tr').forEach((row) =>
      row.querySelectorAll('td[data-field]').forEach((cell) => {
        out[`${row.getAttribute('data-channel')}/${cell.getAttribute('data-field')}`] = (cell.textContent ?? '').replace(/\s+/g, ' ').trim();
      }),
    );
    return out;
  });
}

/** Waits until the page shows exactly `want`. */
async function waitShown(want: Record<string, string>): Promise<void> {
  await page.waitForFunction(
    (w) => document.querySelector('[data-field=call-talk] [data-field=span]')?.textContent === w.span && document.querySelectorAll('table.talk-table tbody tr').length > 0,
    want,
    { timeout: 15_000 },
  );
  assert.deepEqual(await shown(), want);
}

before(async (t) => {
  if (!chromiumOrSkip(t as never)) return;
  mkdirSync(ART, { recursive: true });
  buildDashboard();
  stack = await startStack();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  page = await (await browser.newContext({ viewport: { width: 1400, height: 1000 } })).newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  page.on('websocket', (ws) => ws.on('framesent', (f) => typeof f.payload === 'string' && f.payload.includes('query CallPage') && reads++));
  ready = true;
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

test('the call page shows the API talk figures of a streamed call, and follows it live', async (t) => {
  if (!ready) return t.skip('no browser');
  const segs = fixtureSegments();
  const half = Math.floor(segs.length / 2);
  assert.ok(segs.some((s) => s.talk && s.talk.speech.length > 0), 'the window measured speech');
  await stack.call(callInfo(CALL, 'ACTIVE', T0));
  await stream(segs.slice(0, half));
  await page.goto(`${stack.base}/call/${CALL}`);
  await page.waitForSelector('[data-testid=conn][data-state=live]', { timeout: 15_000 });
  const first = await apiTalk();
  await waitShown(expected(first));
  assert.match(await page.textContent('[data-field=call-talk]') ?? '', /Live: refreshed/);

  // The rest arrives while the page is open: the figures follow without a reload.
  const readsBefore = reads;
  const t0 = Date.now();
  await stream(segs.slice(half));
  const full = await apiTalk();
  assert.notEqual(full.spanMs, first.spanMs, 'the second half changes the figures');
  await waitShown(expected(full));
  const elapsed = Date.now() - t0;
  // The fixture's shape, so the comparison is not vacuous: both talk, each cuts in, the customer's words are known.
  const [cust, agent] = ['customer', 'agent'].map((ch) => full.channels.find((c) => c.channel === ch));
  assert.ok(cust && agent && cust.interruptions + agent.interruptions > 0 && cust.wordsPerMinute !== null && agent.wordsPerMinute === null, JSON.stringify(full));
  // Throttled: one read per 2 s at most (+1 for a trailing read), far fewer than the updates.
  const updates = segs.length - half + segs.slice(half).filter((s) => s.revision === 0).length;
  assert.ok(reads - readsBefore <= Math.floor(elapsed / 2000) + 2, `${reads - readsBefore} reads in ${elapsed} ms`);
  assert.ok(reads - readsBefore < updates, `${reads - readsBefore} reads for ${updates} updates`);
  console.log(`talk: ${segs.length} segments in the call, ${updates} live updates (scores + call updates) in the second half, ${reads - readsBefore} call-page reads in ${elapsed} ms`);
  await page.screenshot({ path: `${ART}/talk-call-page.png`, fullPage: true });

  // Ended: the same figures, no longer marked live.
  await stack.call({ ...callInfo(CALL, 'ENDED', T0), segmentCount: segmentsStored, endedAtMs: T0 + 60_000 });
  await page.waitForFunction(() => !/Live: refreshed/.test(document.querySelector('[data-field=call-talk]')?.textContent ?? ''), undefined, { timeout: 10_000 });
  assert.deepEqual(await shown(), expected(full));
});
