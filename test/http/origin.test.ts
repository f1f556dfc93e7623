/**
 * Cross-site WebSocket hijacking (issue 13, finding 6): a page on another site, opened in a
 * browser on the machine, could open ws://127.0.0.1:4000/graphql (dev mode: no credentials),
 * read live transcripts and switch alert rules off. Browsers always send `Origin` on an
 * upgrade; these sockets send it the way a browser does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import WebSocket from 'ws';
import { isLoopbackHost, originRefusal, parseAllowedOrigins } from '../../src/http/origin.js';
import { loadConfig } from '../../src/app/config.js';
import { type Harness, withHarness } from '../graphql/harness.js';

interface Outcome { acked: boolean; status?: number; body?: string; messages: number }

/** Opens a graphql-transport-ws socket with these upgrade headers and sends connection_init. */
function attempt(url: string, headers: Record<string, string>): Promise<Outcome> {
  return new Promise((resolve) => {
    let messages = 0;
    const ws = new WebSocket(url, 'graphql-transport-ws', { headers });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ acked: false, status: res.statusCode, body, messages }));
    });
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init' })));
    ws.on('message', (m) => {
      messages++;
      if (JSON.parse(String(m)).type === 'connection_ack') {
        ws.close();
        resolve({ acked: true, messages });
      }
    });
    ws.on('error', () => {});
  });
}

const port = (h: Harness) => new URL(h.api.url).port;

test('dev mode: a foreign Origin is refused at the upgrade (403, no graphql-ws message); loopback origins and no Origin work', () =>
  withHarness({}, async (h) => {
    const foreign = await attempt(h.api.wsUrl, { origin: 'https://evil.example' });
    assert.equal(foreign.status, 403);
    assert.equal(foreign.messages, 0);
    assert.equal(JSON.parse(foreign.body!).errors[0].extensions.code, 'FORBIDDEN');
    // "null" is what sandboxed frames and file:// pages send: nothing to trust.
    assert.equal((await attempt(h.api.wsUrl, { origin: 'null' })).status, 403);
    for (const origin of [`http://127.0.0.1:${port(h)}`, `http://localhost:${port(h)}`, 'http://localhost:5173', 'http://[::1]:8080']) {
      assert.ok((await attempt(h.api.wsUrl, { origin })).acked, `${origin} is loopback`);
    }
    assert.ok((await attempt(h.api.wsUrl, {})).acked, 'non-browser clients send no Origin');
  }));

test('dev mode: a DNS-rebinding page (Host and Origin a domain resolving to loopback) is refused on the socket and on HTTP', () =>
  withHarness({}, async (h) => {
    const rebound = `evil.example:${port(h)}`;
    assert.equal((await attempt(h.api.wsUrl, { origin: `http://${rebound}`, host: rebound })).status, 403);
    // A same-origin GET from the rebound page carries no Origin: the Host check stops it.
    const get = (host: string) => new Promise<number>((resolve, reject) => {
      request(`${h.api.url}?query=${encodeURIComponent('{ health { ok } }')}`, { headers: { host, 'apollo-require-preflight': '1' } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      }).on('error', reject).end();
    });
    assert.equal(await get(rebound), 403);
    assert.equal(await get(`localhost:${port(h)}`), 200);
  }));

test('HTTP /graphql: a browser request from a foreign Origin is 403 FORBIDDEN and runs nothing', () =>
  withHarness({}, async (h) => {
    const foreign = await h.gql('{ health { ok } }', undefined, { origin: 'https://evil.example' });
    assert.equal(foreign.status, 403);
    assert.equal(foreign.body.errors![0].extensions!.code, 'FORBIDDEN');
    const local = await h.gql('{ health { ok } }', undefined, { origin: `http://127.0.0.1:${port(h)}` });
    assert.equal(local.status, 200);
    assert.equal((await h.gql('{ health { ok } }')).status, 200);
  }));

test('API_ALLOWED_ORIGINS admits listed origins; outside dev mode the server\'s own origin is admitted too', () =>
  withHarness(
    { context: () => ({ tenant: 'acme', principal: 'test' }), origins: { allowed: parseAllowedOrigins('https://dash.example.com'), devMode: false } },
    async (h) => {
      assert.ok((await attempt(h.api.wsUrl, { origin: 'https://dash.example.com' })).acked);
      assert.ok((await attempt(h.api.wsUrl, { origin: `http://127.0.0.1:${port(h)}` })).acked, 'same origin (Host header)');
      assert.equal((await attempt(h.api.wsUrl, { origin: 'https://evil.example' })).status, 403);
      assert.equal((await attempt(h.api.wsUrl, { origin: 'http://localhost:5173' })).status, 403, 'loopback is special in dev mode only');
    },
  ));

test('API_ALLOWED_ORIGINS: normalises origins, accepts *, refuses paths and other schemes with CONFIG_INVALID', () => {
  assert.deepEqual(loadConfig({ API_ALLOWED_ORIGINS: 'https://A.example.com:443, http://b.example:8080' }).origins.allowed, ['https://a.example.com', 'http://b.example:8080']);
  assert.deepEqual(loadConfig({ AUTH_MODE: 'apikey', API_KEYS: `acme:${'a'.repeat(64)}` }).origins, { allowed: [], devMode: false });
  const any = loadConfig({ API_ALLOWED_ORIGINS: '*' }).origins;
  assert.equal(originRefusal(any, { origin: 'https://evil.example', host: 'evil.example' }), null);
  for (const bad of ['https://a.example/path', 'ftp://a.example', 'not an origin']) {
    assert.throws(() => loadConfig({ API_ALLOWED_ORIGINS: bad }), (e: any) => e.code === 'CONFIG_INVALID' && e.message.includes('API_ALLOWED_ORIGINS'));
  }
  for (const h of ['localhost', 'app.localhost', '127.0.0.1', '127.1.2.3', '[::1]', '::1']) assert.ok(isLoopbackHost(h), h);
  for (const h of ['evil.example', '10.0.0.1', '128.0.0.1', 'localhost.evil.example']) assert.ok(!isLoopbackHost(h), h);
});
