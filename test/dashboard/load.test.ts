/**
 * 200 live calls streaming into the live view in real headless Chromium. Measures, in the page:
 * frame time (requestAnimationFrame deltas while streaming), render time per frame, and update
 * latency (first unrendered change -> end of the render showing it). Writes the numbers to
 * test-artifacts/dashboard-load.json and prints them. Fails if the view falls behind (every card
 * must show every segment) or its p95 update latency passes 1 s.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { buildDashboard, CHROMIUM, CHROMIUM_ARGS, callInfo, chromiumOrSkip, REPO, type Stack, scripted, startStack } from './stack.js';

const CALLS = 200;
const TICKS = 12;
const TICK_MS = 1000;
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
  await page.goto(`${stack.base}/`);
  await page.waitForSelector('[data-testid=conn][data-state=live]', { timeout: 15_000 });
  ready = true;
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : Number.NaN;
};
const stats = (xs: number[]) => ({ n: xs.length, p50: +pct(xs, 50).toFixed(1), p95: +pct(xs, 95).toFixed(1), max: +Math.max(...xs).toFixed(1) });

test(`live view stays responsive with ${CALLS} calls streaming`, async (t) => {
  if (!ready) return t.skip('no browser');
  const ids = Array.from({ length: CALLS }, (_, i) => `load-${String(i).padStart(3, '0')}`);
  for (const id of ids) await stack.call(callInfo(id));
  // Page scripts are strings: tsx would wrap functions in a helper the page does not have.
  await page.evaluate(`(() => {
    window.__frames = [];
    window.__stopFrames = false;
    let last = performance.now();
    const loop = (now) => {
      window.__frames.push(now - last);
      last = now;
      if (!window.__stopFrames) requestAnimationFrame(loop);
    };
    requestAnimationFrame(loop);
    window.__dash.renders.length = 0;
    window.__dash.latencies.length = 0;
  })()`);
  const t0 = Date.now();
  for (let k = 0; k < TICKS; k++) {
    const tickStart = Date.now();
    for (let i = 0; i < CALLS; i++) {
      // Each call drifts its own way; every third segment arrives without a transcript.
      const v = Math.max(-3, Math.min(3, Math.sin(i + k / 3) * 2));
      await stack.score(scripted(ids[i], 'customer', k, v, { text: k % 3 === 2 ? null : 'words' }));
      await stack.score(scripted(ids[i], 'agent', k, v / 3));
    }
    const spent = Date.now() - tickStart;
    if (spent < TICK_MS) await new Promise((r) => setTimeout(r, TICK_MS - spent));
  }
  const streamMs = Date.now() - t0;
  // Every card must end up showing every segment of both channels.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ok = await page.evaluate(`(() => {
      const cards = document.querySelectorAll('li.card[data-call^="load-"]');
      if (cards.length !== ${CALLS}) return false;
      for (const c of cards) if (c.querySelectorAll('.pt').length !== ${2 * TICKS}) return false;
      return true;
    })()`);
    if (ok) break;
    if (Date.now() >= deadline) {
      const shown = await page.evaluate(`[...document.querySelectorAll('li.card[data-call^="load-"]')].map((c) => c.querySelectorAll('.pt').length)`);
      console.error('cards:', (shown as number[]).length, 'points per card:', JSON.stringify(shown).slice(0, 300), 'hub:', JSON.stringify(stack.hub.stats()));
      assert.fail('the live view did not show every segment of every call within 30 s');
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const m = (await page.evaluate(`(() => {
    window.__stopFrames = true;
    return { frames: window.__frames.slice(1), renders: window.__dash.renders, latencies: window.__dash.latencies, svgNodes: document.querySelectorAll('svg *').length, resumes: window.__dash.resumes };
  })()`)) as { frames: number[]; renders: number[]; latencies: number[]; svgNodes: number; resumes: number };
  const report = {
    calls: CALLS,
    scores: CALLS * 2 * TICKS,
    streamSeconds: +(streamMs / 1000).toFixed(1),
    scoresPerSecond: +((CALLS * 2 * TICKS) / (streamMs / 1000)).toFixed(0),
    frameMs: stats(m.frames),
    renderMs: stats(m.renders),
    updateLatencyMs: stats(m.latencies),
    svgNodes: m.svgNodes,
    hubDroppedForSlowSubscribers: stack.hub.stats().droppedOldest,
    scoreStreamResumes: m.resumes,
  };
  console.log('dashboard load:', JSON.stringify(report));
  writeFileSync(`${ART}/dashboard-load.json`, `${JSON.stringify(report, null, 2)}\n`);
  await page.screenshot({ path: `${ART}/dashboard-load.png` });
  assert.ok(report.updateLatencyMs.p95 < 1000, `p95 update latency ${report.updateLatencyMs.p95} ms`);
});
