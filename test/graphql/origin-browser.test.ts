/**
 * Cross-site WebSocket hijacking in a real browser (issue 13, finding 6): Debian chromium driven
 * by playwright-core, as test/dashboard does. A page on another site (evil.example, resolved to
 * 127.0.0.1 by the browser) opens the dev-mode API's socket: it must get no socket, while the
 * same page from a loopback origin does. A DNS-rebinding page (evil.example on the API's own
 * port) must get neither a socket nor a same-origin GET answer.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Browser, chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, chromiumOrSkip } from '../dashboard/stack.js';
import { type Harness, startHarness } from './harness.js';

/** The page: opens the socket at `ws`, sends connection_init, and GETs `get`; reports both. */
const PAGE = `<!doctype html><script>
window.result = new Promise((resolve) => {
  const p = new URLSearchParams(location.search);
  const out = { socket: 'pending', get: null };
  const ws = new WebSocket(p.get('ws'), 'graphql-transport-ws');
  ws.onopen = () => ws.send(JSON.stringify({ type: 'connection_init' }));
  ws.onmessage = (m) => { out.socket = JSON.parse(m.data).type; ws.close(); };
  ws.onclose = (e) => {
    if (out.socket === 'pending') out.socket = 'closed ' + e.code;
    fetch(p.get('get'), { headers: { 'apollo-require-preflight': '1' } })
      .then((r) => { out.get = r.status; resolve(out); }, (err) => { out.get = 'failed'; resolve(out); });
  };
});
</script>`;

const serve = (req: IncomingMessage, res: ServerResponse): boolean => {
  if (!req.url?.startsWith('/page.html')) return false;
  res.writeHead(200, { 'content-type': 'text/html' });
  res.end(PAGE);
  return true;
};

let browser: Browser | null = null;
let h: Harness;
let site: Server;

before(async (t) => {
  if (!chromiumOrSkip(t as never)) return;
  h = await startHarness({ extraRoutes: [serve] });
  site = createServer((req, res) => void (serve(req, res) || res.end()));
  await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, '--host-resolver-rules=MAP evil.example 127.0.0.1'] });
});

after(async () => {
  await browser?.close();
  if (site) await new Promise((r) => site.close(r));
  await h?.close();
});

async function visit(pageUrl: string, ws: string, get: string): Promise<{ socket: string; get: number | string }> {
  const page = await browser!.newPage();
  try {
    await page.goto(`${pageUrl}?ws=${encodeURIComponent(ws)}&get=${encodeURIComponent(get)}`);
    return await page.evaluate(() => (window as unknown as { result: Promise<{ socket: string; get: number | string }> }).result);
  } finally {
    await page.close();
  }
}

test('a page on another site gets no socket from the dev-mode API; the same page on a loopback origin does', async (t) => {
  if (!browser) return t.skip('no browser');
  const apiPort = new URL(h.api.url).port;
  const sitePort = (site.address() as AddressInfo).port;
  const ws = `ws://127.0.0.1:${apiPort}/graphql`;
  const get = `/page.html`; // a same-site GET, only to finish the page's script
  const foreign = await visit(`http://evil.example:${sitePort}/page.html`, ws, get);
  assert.equal(foreign.socket, 'closed 1006', 'the upgrade was refused: the socket never opened');
  const loopback = await visit(`http://127.0.0.1:${sitePort}/page.html`, ws, get);
  assert.equal(loopback.socket, 'connection_ack');
});

test('a DNS-rebinding page (evil.example on the API port) gets neither a socket nor a same-origin GET answer', async (t) => {
  if (!browser) return t.skip('no browser');
  const apiPort = new URL(h.api.url).port;
  const query = `/graphql?query=${encodeURIComponent('{ health { ok } }')}`;
  const rebound = await visit(`http://evil.example:${apiPort}/page.html`, `ws://evil.example:${apiPort}/graphql`, query);
  assert.deepEqual(rebound, { socket: 'closed 1006', get: 403 });
  const local = await visit(`http://localhost:${apiPort}/page.html`, `ws://localhost:${apiPort}/graphql`, query);
  assert.deepEqual(local, { socket: 'connection_ack', get: 200 });
});
